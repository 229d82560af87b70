"""The settings of a supervision test session, independent of where they were written.

The pytest plugin fills them from command-line and ini options; the fixture objects only
ever see this frozen dataclass, so they run (and are tested) without pytest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from supervisor_testing.assertions import BOUNDS
from supervisor_testing.baselines import DEFAULT_BASELINE_DIR
from supervisor_testing.errors import InvalidInputError

__all__ = ["SupervisionSettings"]


@dataclass(frozen=True)
class SupervisionSettings:
    """What ``supervision.evaluate`` does when a test does not say otherwise.

    Attributes:
        fpr: the nominal FPR thresholds target (``supervisor_nominal_fpr``).
        ci_level: confidence level of every interval (``supervisor_ci_level``).
        bound: which number of an estimate requirements compare (``"low"``: the lower
            confidence bound).
        auroc_ci: ``"bootstrap"`` or ``"delong"``.
        resamples: bootstrap resamples per interval.
        seed: seed of the bootstrap and of the calibration split.
        nominal, calibration: the nominal test and calibration corpora (names or paths);
            without ``calibration`` the nominal corpus is split in half.
        stress: stress corpora a test is parametrised over when it asks for
            ``stress_corpus`` without naming any.
        corpus_dir: a directory searched first for corpus names (a corpus directory or a
            recipe ``NAME.toml`` inside it).
        root: the directory relative paths are resolved against.
        model, train_data: the default ``supervisor_model`` fixture's model spec and the
            data set it (and supervisors that need fitting) are trained on.
        device: where the default model fixture puts the model.
        baseline_dir: where baselines are read and written.
        baseline_update: write baselines instead of comparing.
        compare_fail: metric -> largest tolerated drop against the baseline; a larger drop
            fails the test, and so does a missing baseline.
        report_dir: write ``results.json``, ``report.md`` and ``report.html`` here.
        refit: fit supervisors afresh instead of loading the state an earlier fit on the
            same model, parameters and training data cached (``--supervisor-refit``).
    """

    fpr: float = 0.05
    ci_level: float = 0.95
    bound: str = "low"
    auroc_ci: str = "bootstrap"
    resamples: int = 1000
    seed: int = 0
    nominal: str | None = None
    calibration: str | None = None
    stress: tuple[str, ...] = ()
    corpus_dir: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    model: str | None = None
    train_data: str | None = None
    device: str = "cpu"
    baseline_dir: Path = Path(DEFAULT_BASELINE_DIR)
    baseline_update: bool = False
    compare_fail: Mapping[str, float] = field(default_factory=dict)
    report_dir: Path | None = None
    refit: bool = False

    def __post_init__(self) -> None:
        for name in ("fpr", "ci_level"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < 1) or math.isnan(value):
                raise InvalidInputError(f"{name} must lie strictly between 0 and 1, got {value!r}")
        if self.bound not in BOUNDS:
            raise InvalidInputError(f"bound must be one of {', '.join(BOUNDS)}, got {self.bound!r}")
        if self.auroc_ci not in ("bootstrap", "delong"):
            raise InvalidInputError(f"auroc_ci must be bootstrap or delong, got {self.auroc_ci!r}")
        if not isinstance(self.resamples, int) or self.resamples < 1:
            raise InvalidInputError(f"resamples must be a positive integer, got {self.resamples!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidInputError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "stress", tuple(self.stress))
        object.__setattr__(self, "compare_fail", MappingProxyType(dict(self.compare_fail)))

    def resolve_path(self, path: str | Path) -> Path:
        """``path`` made absolute against :attr:`root`."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else self.root / path
