"""Supervisor x corpus -> :class:`DetectionResult`.

The nominal scores play two roles: a *calibration* split fixes the alarm threshold at the
target false-positive rate, and a disjoint *test* split measures the FPR that threshold
really gives. Reusing one split for both would report the target FPR back by construction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from supervisor_testing import metrics
from supervisor_testing.assertions import DetectionAssertions
from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.supervisors import Supervisor

__all__ = ["DetectionResult", "Estimate", "evaluate", "evaluate_scores", "score_corpus"]

RESULT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float
    level: float
    method: str

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


@dataclass(frozen=True)
class DetectionResult(DetectionAssertions):
    """How well one supervisor separates one stress corpus from nominal data.

    Attributes:
        auroc: area under the ROC curve, ties counted one half.
        aupr: average precision with the stress inputs as the positive class.
        tpr: share of stress inputs above the threshold, i.e. :attr:`tpr_name`.
        threshold: alarm when ``score > threshold``; set on the calibration split.
        realised_fpr: share of nominal *test* inputs above the threshold.
    """

    supervisor: str
    stress: str
    nominal: str
    n_stress: int
    n_nominal: int
    n_calibration: int
    auroc: Estimate
    aupr: Estimate
    tpr: Estimate
    target_fpr: float
    threshold: float
    realised_fpr: float
    calibration_fpr: float
    stress_scores: np.ndarray | None = field(default=None, repr=False, compare=False)
    nominal_scores: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def tpr_name(self) -> str:
        """The TPR metric's exact name, e.g. ``"TPR@5%FPR(nominal)"``."""
        return metrics.metric_name_tpr(self.target_fpr)

    def to_dict(self, *, include_scores: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; ``include_scores`` adds the per-input scores (for reports)."""
        data = asdict(self)
        for key in ("stress_scores", "nominal_scores"):
            scores = data.pop(key)
            if include_scores and scores is not None:
                data[key] = [float(value) for value in scores]
        data["tpr_name"] = self.tpr_name
        data["format_version"] = RESULT_FORMAT_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectionResult:
        data = {k: v for k, v in data.items() if k not in ("tpr_name", "format_version")}
        for key in ("auroc", "aupr", "tpr"):
            data[key] = Estimate(**data[key])
        for key in ("stress_scores", "nominal_scores"):
            if data.get(key) is not None:
                data[key] = np.asarray(data[key], dtype=np.float64)
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def score_corpus(
    supervisor: Supervisor,
    corpus: Corpus,
    *,
    indices: np.ndarray | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> np.ndarray:
    """Score the inputs of ``corpus``, streaming it batch by batch.

    Args:
        indices: score only these sample indices (returned in ascending order); ``None``
            scores every input.
    """
    from tqdm.auto import tqdm

    chosen = None if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    what = f"supervisor {supervisor.name!r} output on {corpus.name!r}"
    chunks = []
    start = 0
    with tqdm(
        total=len(corpus) if chosen is None else len(chosen),
        desc=f"{supervisor.name} on {corpus.name}",
        unit="img",
        disable=not progress,
        leave=False,
    ) as bar:
        for batch in corpus.batches(batch_size, columns=["images"]):
            images = batch["images"]
            stop = start + len(images)
            if chosen is not None:
                local = chosen[(chosen >= start) & (chosen < stop)] - start
                images = images[torch.from_numpy(local)]
            start = stop
            if len(images):
                scores = supervisor.score(images)
                chunks.append(_checked_scores(scores, what=what, n=len(images)))
                bar.update(len(images))
    if not chunks:
        raise InvalidInputError(f"corpus {corpus.name!r} is empty; nothing to score")
    return np.concatenate(chunks)


def _checked_scores(scores: Any, *, what: str, n: int | None = None) -> np.ndarray:
    """Scores as a 1-d float64 array, or one clear error naming ``what`` is wrong."""
    if hasattr(scores, "detach"):
        scores = scores.detach().cpu().double().numpy()
    array = np.asarray(list(scores) if not hasattr(scores, "__array__") else scores, dtype=float)
    expected = (n,) if n is not None else (len(array),) if array.ndim == 1 else None
    if array.shape != expected:
        raise InvalidInputError(
            f"{what} has shape {array.shape}; expected one score per input"
            + (f" ({n} inputs)" if n is not None else "")
        )
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise InvalidInputError(
            f"{what} contains {bad} NaN or infinite scores; a supervisor must return finite scores"
        )
    return array


def _split_calibration(scores: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded half/half split of nominal scores into (calibration, test)."""
    if len(scores) < 4:
        raise InvalidInputError(
            f"need at least 4 nominal inputs to split off a calibration half, got {len(scores)}; "
            "pass a separate calibration corpus"
        )
    order = np.random.default_rng(seed).permutation(len(scores))
    half = len(scores) // 2
    return scores[order[:half]], scores[order[half:]]


def evaluate_scores(
    stress_scores: Iterable[float],
    nominal_scores: Iterable[float],
    calibration_scores: Iterable[float] | None = None,
    *,
    supervisor: str = "",
    stress: str = "stress",
    nominal: str = "nominal",
    fpr: float = 0.05,
    ci_level: float = 0.95,
    auroc_ci: Literal["bootstrap", "delong"] = "bootstrap",
    resamples: int = 1000,
    seed: int = 0,
    keep_scores: bool = True,
) -> DetectionResult:
    """Detection metrics with confidence intervals from precomputed scores.

    Without ``calibration_scores`` the nominal scores are split in half (seeded): one half
    sets the threshold, the other measures the realised FPR and the ranking metrics.
    """
    stress_arr = _checked_scores(stress_scores, what="stress scores")
    nominal_arr = _checked_scores(nominal_scores, what="nominal scores")
    if calibration_scores is None:
        calibration_arr, nominal_arr = _split_calibration(nominal_arr, seed)
    else:
        calibration_arr = _checked_scores(calibration_scores, what="calibration scores")
    if not 0.0 < ci_level < 1.0:
        raise InvalidInputError(f"ci_level must lie in (0, 1), got {ci_level}")

    if auroc_ci == "delong":
        auroc_interval = metrics.delong_interval(nominal_arr, stress_arr, level=ci_level)
    elif auroc_ci == "bootstrap":
        auroc_interval = metrics.auroc_bootstrap(
            nominal_arr, stress_arr, level=ci_level, resamples=resamples, seed=seed
        )
    else:
        raise InvalidInputError(f"auroc_ci must be 'bootstrap' or 'delong', got {auroc_ci!r}")
    aupr_interval = metrics.bootstrap_interval(
        lambda n, s: metrics.aupr(n, s),
        nominal_arr,
        stress_arr,
        level=ci_level,
        resamples=resamples,
        seed=seed,
    )
    operating = metrics.tpr_at_fpr(stress_arr, nominal_arr, calibration_arr, fpr=fpr)
    tpr_interval = metrics.bootstrap_interval(
        lambda s, c: metrics.tpr_at_fpr(s, c, c, fpr=fpr).tpr,
        stress_arr,
        calibration_arr,
        level=ci_level,
        resamples=resamples,
        seed=seed,
    )

    def estimate(value: float, interval: metrics.Interval) -> Estimate:
        return Estimate(
            value=float(value),
            low=float(interval.low),
            high=float(interval.high),
            level=float(interval.level),
            method=interval.method,
        )

    return DetectionResult(
        supervisor=supervisor,
        stress=stress,
        nominal=nominal,
        n_stress=len(stress_arr),
        n_nominal=len(nominal_arr),
        n_calibration=len(calibration_arr),
        auroc=estimate(metrics.auroc(nominal_arr, stress_arr), auroc_interval),
        aupr=estimate(metrics.aupr(nominal_arr, stress_arr), aupr_interval),
        tpr=estimate(operating.tpr, tpr_interval),
        target_fpr=float(fpr),
        threshold=float(operating.threshold) if math.isfinite(operating.threshold) else math.inf,
        realised_fpr=float(operating.realised_fpr),
        calibration_fpr=float(operating.calibration_fpr),
        stress_scores=stress_arr if keep_scores else None,
        nominal_scores=nominal_arr if keep_scores else None,
    )


def evaluate(
    supervisor: Supervisor,
    stress: Corpus,
    nominal: Corpus,
    *,
    calibration: Corpus | None = None,
    fpr: float = 0.05,
    ci_level: float = 0.95,
    auroc_ci: Literal["bootstrap", "delong"] = "bootstrap",
    resamples: int = 1000,
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> DetectionResult:
    """Score ``stress`` and ``nominal`` with ``supervisor`` and compare them.

    Args:
        supervisor: a fitted supervisor.
        stress: inputs the supervisor should flag (the positive class).
        nominal: in-distribution test inputs (the negative class).
        calibration: nominal inputs that set the threshold; without it, ``nominal`` is
            split in half with ``seed``.
        fpr: the nominal false-positive rate the threshold targets.
        auroc_ci: ``"bootstrap"`` (both corpora resampled) or ``"delong"``.

    Example::

        result = evaluate(create_supervisor("msp", model), far_ood, mnist_test)
        assert result.tpr.low >= 0.9  # gates compare the lower bound
    """
    kwargs = {"batch_size": batch_size, "progress": progress}
    return evaluate_scores(
        score_corpus(supervisor, stress, **kwargs),
        score_corpus(supervisor, nominal, **kwargs),
        None if calibration is None else score_corpus(supervisor, calibration, **kwargs),
        supervisor=supervisor.name,
        stress=stress.name,
        nominal=nominal.name,
        fpr=fpr,
        ci_level=ci_level,
        auroc_ci=auroc_ci,
        resamples=resamples,
        seed=seed,
    )
