"""Baselines: stored detection results that later runs are compared against.

A baseline is one JSON file per (model, supervisor, stress corpus, nominal corpus)::

    <baseline dir>/<model sha256[:16]>/<supervisor>--<stress>--<nominal>.json

holding the result (metrics with intervals, threshold, realised FPR), the hashes of the
model and of every corpus, the seed and the package version. Files are sorted, indented
JSON so that a change reads well in review, and each is written atomically.

A comparison is only meaningful between like and like, so a baseline recorded for another
model, another corpus content or another operating point is refused with
:class:`~supervisor_testing.errors.BaselineMismatchError` rather than compared, and a
missing baseline is reported as missing, never recorded on the fly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_testing._version import __version__
from supervisor_testing.errors import BaselineMismatchError, InvalidInputError
from supervisor_testing.published_file import write_published

if TYPE_CHECKING:
    from supervisor_testing.evaluate import DetectionResult

__all__ = [
    "BASELINE_FORMAT",
    "BASELINE_FORMAT_VERSION",
    "COMPARED_METRICS",
    "DEFAULT_BASELINE_DIR",
    "Baseline",
    "BaselineStore",
    "Comparison",
    "Provenance",
    "find_regressions",
    "parse_tolerances",
]

BASELINE_FORMAT = "supervisor-testing-baseline"
BASELINE_FORMAT_VERSION = 1
#: Where baselines live unless configured, relative to the project (or gate file).
DEFAULT_BASELINE_DIR = ".supervisor-baselines"
#: Metrics a regression check can watch; for each, higher is better.
COMPARED_METRICS = ("auroc", "aupr", "tpr")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Provenance:
    """What a result was computed from: enough to tell whether two results are comparable.

    Attributes:
        model_sha256: :func:`~supervisor_testing.models.model_sha256` of the classifier.
        stress_sha256, nominal_sha256, calibration_sha256: ``Corpus.sha256()`` of each
            corpus (``None`` when the nominal corpus was split for calibration).
        seed: the seed of the bootstrap and of any calibration split.
    """

    model_sha256: str
    stress_sha256: str
    nominal_sha256: str
    calibration_sha256: str | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(**data)


@dataclass(frozen=True)
class Baseline:
    """A stored result with its provenance, the package version and the file it came from."""

    result: DetectionResult
    provenance: Provenance
    version: str
    path: Path


@dataclass(frozen=True)
class Comparison:
    """A result against its baseline: ``changes[m]`` is current minus baseline, per metric."""

    baseline: Baseline
    changes: Mapping[str, float] = field(default_factory=dict)


def find_regressions(
    result: DetectionResult, changes: Mapping[str, float], tolerances: Mapping[str, float]
) -> list[str]:
    """One line per metric of ``result`` that dropped by more than its tolerance.

    Args:
        changes: metric -> current minus baseline (:attr:`Comparison.changes`).
        tolerances: metric -> largest tolerated drop (:func:`parse_tolerances`).
    """
    lines = []
    for metric, tolerance in tolerances.items():
        change = changes[metric]
        # The slack keeps a drop of exactly the tolerance (up to float noise) a pass.
        if -change > tolerance + 1e-12:
            now = getattr(result, metric).value
            lines.append(
                f"{metric} dropped by {-change:.4f} (baseline {now - change:.4f}, now "
                f"{now:.4f}), more than the tolerated {tolerance:g}"
            )
    return lines


def parse_tolerances(spec: str | Iterable[str]) -> dict[str, float]:
    """Parse ``"auroc:0.02,tpr:0.05"`` (or several such strings) into metric -> max drop.

    Drops are absolute differences of the point estimates (AUROC 0.95 -> 0.93 is 0.02).

    Raises:
        InvalidInputError: an entry is not ``metric:number`` with a known metric and a
            non-negative number.
    """
    parts = [spec] if isinstance(spec, str) else list(spec)
    tolerances: dict[str, float] = {}
    for entry in (item.strip() for part in parts for item in part.split(",")):
        if not entry:
            continue
        metric, sep, amount = entry.partition(":")
        metric = metric.strip().lower()
        try:
            value = float(amount)
        except ValueError:
            value = math.nan
        if not sep or metric not in COMPARED_METRICS or not value >= 0 or math.isinf(value):
            raise InvalidInputError(
                f"bad tolerance {entry!r}: write metric:max_drop with metric one of "
                f"{', '.join(COMPARED_METRICS)} and a non-negative number, e.g. auroc:0.02"
            )
        tolerances[metric] = value
    if not tolerances:
        raise InvalidInputError("no tolerance given: write e.g. auroc:0.02 or auroc:0.02,tpr:0.05")
    return tolerances


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "_"


class BaselineStore:
    """Baselines under one directory (see the module docstring for the layout)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"BaselineStore({str(self.directory)!r})"

    def _file_name(self, result: DetectionResult) -> str:
        return f"{_safe(result.supervisor)}--{_safe(result.stress)}--{_safe(result.nominal)}.json"

    def path(self, result: DetectionResult, provenance: Provenance) -> Path:
        """The file that holds (or would hold) the baseline for ``result``."""
        return self.directory / provenance.model_sha256[:16] / self._file_name(result)

    def save(self, result: DetectionResult, provenance: Provenance) -> Path:
        """Record ``result`` as the baseline for its model and corpora; returns the file."""
        payload = {
            "format": BASELINE_FORMAT,
            "format_version": BASELINE_FORMAT_VERSION,
            "created_by": f"supervisor-testing {__version__}",
            "provenance": provenance.to_dict(),
            "result": result.to_dict(),
        }
        path = self.path(result, provenance)
        text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
        return write_published(path, text)

    def _read(self, path: Path) -> Baseline:
        # Imported here: the pytest plugin parses tolerances with this module at start-up,
        # and the evaluation stack (scipy) is only needed once a baseline is read.
        from supervisor_testing.evaluate import DetectionResult

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{path}:{exc.lineno}: baseline is not valid JSON ({exc.msg}); delete it and "
                "record it again with --supervisor-baseline-update"
            ) from None
        if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
            raise InvalidInputError(f"{path} is not a supervisor-testing baseline file")
        if data.get("format_version") != BASELINE_FORMAT_VERSION:
            raise InvalidInputError(
                f"{path} has baseline format version {data.get('format_version')!r}; this "
                f"version reads {BASELINE_FORMAT_VERSION}: record it again"
            )
        try:
            return Baseline(
                result=DetectionResult.from_dict(data["result"]),
                provenance=Provenance.from_dict(data["provenance"]),
                version=str(data.get("created_by", "")),
                path=path,
            )
        except (KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{path}: malformed baseline ({exc}); record it again"
            ) from None

    def load(self, result: DetectionResult, provenance: Provenance) -> Baseline | None:
        """The baseline to compare ``result`` with, or ``None`` when none was recorded.

        Raises:
            BaselineMismatchError: the only baselines for this supervisor and corpus were
                recorded for another model, or the one for this model on another corpus
                content, FPR or seed.
        """
        path = self.path(result, provenance)
        if not path.is_file():
            others = sorted(self.directory.glob(f"*/{self._file_name(result)}"))
            if others:
                recorded = ", ".join(p.parent.name for p in others)
                raise BaselineMismatchError(
                    f"the baseline for {result.supervisor} on {result.stress!r} in "
                    f"{self.directory} was recorded for model {recorded}, but this model is "
                    f"{provenance.model_sha256[:16]}: results of different weights are not "
                    "comparable. Record a baseline for this model with "
                    "--supervisor-baseline-update (suptest gate --update-baseline)"
                )
            return None
        baseline = self._read(path)
        problems = []
        recorded = baseline.provenance
        for label, then, now in (
            ("stress corpus", recorded.stress_sha256, provenance.stress_sha256),
            ("nominal corpus", recorded.nominal_sha256, provenance.nominal_sha256),
            ("calibration corpus", recorded.calibration_sha256, provenance.calibration_sha256),
        ):
            if then != now:
                problems.append(f"{label} sha256 {str(then)[:12]} then, {str(now)[:12]} now")
        if recorded.seed != provenance.seed:
            problems.append(f"seed {recorded.seed} then, {provenance.seed} now")
        if not math.isclose(baseline.result.target_fpr, result.target_fpr):
            problems.append(
                f"nominal FPR {baseline.result.target_fpr:g} then, {result.target_fpr:g} now"
            )
        if problems:
            raise BaselineMismatchError(
                f"baseline {path} does not describe this run ({'; '.join(problems)}); "
                "compare like with like, or record it again with --supervisor-baseline-update"
            )
        return baseline

    def compare(self, result: DetectionResult, provenance: Provenance) -> Comparison | None:
        """``result`` against its baseline, or ``None`` when none was recorded."""
        baseline = self.load(result, provenance)
        if baseline is None:
            return None
        changes = {
            metric: getattr(result, metric).value - getattr(baseline.result, metric).value
            for metric in COMPARED_METRICS
        }
        return Comparison(baseline=baseline, changes=changes)
