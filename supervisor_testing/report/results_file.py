"""The results file: detection results as JSON, the input of every report.

``suptest evaluate --json``, the demo, ``suptest gate --json`` and the pytest plugin's
``--supervisor-report`` all write a JSON object with a ``results`` list, so
``suptest report`` reads any of them. Files written here also carry, per result, how it
compared with its baseline, the gate's verdicts and where each corpus lives (for the
image grids), and, on request, the per-input scores that ROC curves and histograms need.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_testing._version import __version__
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.published_file import write_published

if TYPE_CHECKING:
    from supervisor_testing.evaluate import DetectionResult
    from supervisor_testing.testing.result_log import ResultRecord

__all__ = ["RESULTS_FORMAT", "RESULTS_FORMAT_VERSION", "ReportData", "load_results", "save_results"]

RESULTS_FORMAT = "supervisor-testing-results"
RESULTS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows.

    Attributes:
        results: one detection result per supervisor x stress corpus.
        baselines: per result, its change against the baseline in words ("AUROC -0.012,
            TPR +0.004", "no baseline", ...); empty when baselines were not used.
        verdicts: gate verdicts as dicts (``requirement``, ``supervisor``, ``stress``,
            ``passed``, ``message``); empty outside a gate.
        corpus_paths: corpus name -> directory, for grids of missed inputs.
        title: the report's heading.
        meta: anything else the writer recorded (the plan, the model hash, ...).
    """

    results: tuple[DetectionResult, ...]
    baselines: tuple[str, ...] = ()
    verdicts: tuple[Mapping[str, Any], ...] = ()
    corpus_paths: Mapping[str, str] = field(default_factory=dict)
    title: str = "Supervisor test report"
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(
        cls, records: Sequence[ResultRecord], *, title: str = "Supervisor test report", **kwargs
    ) -> ReportData:
        """Report data from a session's result records (see ``ResultLog.latest``)."""
        from supervisor_testing.testing.result_log import describe_baseline

        paths: dict[str, str] = {}
        for record in records:
            paths.setdefault(record.result.stress, record.corpus_paths.get("stress", ""))
            paths.setdefault(record.result.nominal, record.corpus_paths.get("nominal", ""))
        baselines = tuple(describe_baseline(r) for r in records)
        if all(b == "-" for b in baselines):
            baselines = ()
        return cls(
            results=tuple(r.result for r in records),
            baselines=baselines,
            corpus_paths={k: v for k, v in paths.items() if v},
            title=title,
            **kwargs,
        )


def _jsonable(value: Any) -> Any:
    # JSON has no infinity; a threshold can be +inf when every calibration score ties.
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def save_results(path: str | Path, data: ReportData, *, include_scores: bool = True) -> Path:
    """Write ``data`` as a results file; ``include_scores`` keeps per-input scores."""
    payload = {
        "format": RESULTS_FORMAT,
        "format_version": RESULTS_FORMAT_VERSION,
        "created_by": f"supervisor-testing {__version__}",
        "title": data.title,
        "results": [r.to_dict(include_scores=include_scores) for r in data.results],
        "baselines": list(data.baselines),
        "verdicts": [dict(v) for v in data.verdicts],
        "corpora": dict(data.corpus_paths),
        "meta": dict(data.meta),
    }
    path = Path(path)
    text = json.dumps(_jsonable(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return write_published(path, text)


def _result_from(item: Any, where: str) -> DetectionResult:
    from supervisor_testing.evaluate import DetectionResult

    if not isinstance(item, dict):
        raise InvalidInputError(f"{where} is not a JSON object")
    item = dict(item)
    if isinstance(item.get("threshold"), str):
        item["threshold"] = float(item["threshold"])
    try:
        return DetectionResult.from_dict(item)
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidInputError(f"{where} is not a detection result ({exc})") from None


def load_results(path: str | Path) -> ReportData:
    """Read a results file (or ``suptest evaluate --json`` / demo output).

    Raises:
        InvalidInputError: the file is missing, not JSON (the message gives the line), or
            has no ``results`` list of detection results.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"results file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not a UTF-8 text file") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise InvalidInputError(
            f"{path} holds no 'results' list; pass a file written by suptest evaluate --json, "
            "suptest gate --json or pytest --supervisor-report"
        )
    version = data.get("format_version", RESULTS_FORMAT_VERSION)
    if data.get("format", RESULTS_FORMAT) == RESULTS_FORMAT and version != RESULTS_FORMAT_VERSION:
        raise InvalidInputError(
            f"{path} has results format version {version!r}; this version reads "
            f"{RESULTS_FORMAT_VERSION}"
        )
    results = tuple(
        _result_from(item, f"{path}: results[{index}]")
        for index, item in enumerate(data["results"])
    )
    baselines = tuple(str(b) for b in data.get("baselines", ()))
    if baselines and len(baselines) != len(results):
        raise InvalidInputError(f"{path}: 'baselines' must have one entry per result")
    meta = dict(data.get("meta", {}))
    for key in ("plan", "model_test_accuracy"):
        if key in data:
            meta[key] = data[key]
    return ReportData(
        results=results,
        baselines=baselines,
        verdicts=tuple(data.get("verdicts", ())),
        corpus_paths=dict(data.get("corpora", {})),
        title=str(data.get("title", "Supervisor test report")),
        meta=meta,
    )
