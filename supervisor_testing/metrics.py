"""Detection metrics for supervisors: AUROC, AUPR, TPR at a nominal FPR, confidence intervals.

These functions are the functional truth: ``DetectionResult``, the gates and the pytest
plugin call them and never re-derive a metric. The convention throughout is two 1-d score
samples, ``nominal`` (negatives) and ``stress`` (positives), where a higher score is more
suspicious. Scores may be numpy arrays, torch tensors or sequences; they are converted to
float64 and validated once, and a supervisor that returns NaN or infinite scores is an error,
not something to silently rank.

Only numpy and scipy are used at runtime. AUROC, AUPR and the ROC curve equal scikit-learn's
``roc_auc_score``, ``average_precision_score`` and ``roc_curve(drop_intermediate=False)``,
ties included.

Example:
    >>> auroc([0.1, 0.2, 0.3], [0.3, 0.4, 0.5])
    0.9444444444444444
    >>> metric_name_tpr(0.05)
    'TPR@5%FPR(nominal)'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from scipy.stats import norm

from supervisor_testing.errors import InvalidInputError

__all__ = [
    "Interval",
    "TprAtFpr",
    "aupr",
    "auroc",
    "auroc_bootstrap",
    "bootstrap_interval",
    "delong_interval",
    "delong_variance",
    "metric_name_tpr",
    "roc_curve",
    "threshold_at_fpr",
    "tpr_at_fpr",
]

# Upper bound on the int64 cells the vectorised bootstrap holds per chunk of resamples
# (about 16 MB per array), so memory stays flat however many resamples are asked for.
_BOOTSTRAP_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class TprAtFpr:
    """True-positive rate at a threshold chosen on a nominal calibration split.

    Attributes:
        tpr: fraction of stress scores above the threshold.
        threshold: the alarm rule is ``score > threshold``.
        target_fpr: the false-positive rate the threshold was chosen for.
        realised_fpr: fraction of the nominal *test* scores above the threshold; reported
            because a threshold from a finite calibration split only estimates the FPR.
        calibration_fpr: fraction of the calibration scores above the threshold
            (at most ``target_fpr``; lower when ties sit at the threshold).
    """

    tpr: float
    threshold: float
    target_fpr: float
    realised_fpr: float
    calibration_fpr: float


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval; gates compare ``low``, not the point estimate."""

    low: float
    high: float
    level: float
    method: Literal["bootstrap", "delong"]


def _as_scores(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a finite, non-empty, 1-d float64 array or raise naming ``name``."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        # A torch tensor, recognised without importing torch; .double() also covers
        # bfloat16, which numpy cannot represent.
        x = x.detach().cpu().double().numpy()
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"{name} scores could not be read as an array ({error}); pass a 1-d array, "
            "tensor or list of numbers"
        ) from error
    if raw.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"{name} scores must be real numbers, got dtype {raw.dtype}; pass a 1-d array, "
            "tensor or list of numbers"
        )
    if raw.ndim != 1:
        raise InvalidInputError(
            f"{name} scores must be 1-d (one score per input), got shape {raw.shape}; "
            "flatten them or score one input per entry"
        )
    if raw.size == 0:
        raise InvalidInputError(f"{name} scores are empty; at least one score is needed")
    scores = raw.astype(np.float64, copy=False)
    finite = np.isfinite(scores)
    if not finite.all():
        n_nan = int(np.isnan(scores).sum())
        n_inf = int(scores.size - finite.sum()) - n_nan
        problems = [f"{n_nan} NaN values"] if n_nan else []
        if n_inf:
            problems.append(f"{n_inf} infinite values")
        raise InvalidInputError(
            f"{name} scores contain {' and '.join(problems)}; "
            "a supervisor must return finite scores"
        )
    return scores


def _check_fpr(fpr: Any) -> float:
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"fpr must be a number in (0, 1), got {fpr!r}")
    value = float(fpr)
    if not 0.0 < value < 1.0:
        raise InvalidInputError(
            f"fpr must be in (0, 1), got {fpr!r}; pass a fraction such as 0.05 for 5%"
        )
    return value


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"level must be a number in (0, 1), got {level!r}")
    value = float(level)
    if not 0.0 < value < 1.0:
        raise InvalidInputError(
            f"level must be in (0, 1), got {level!r}; pass e.g. 0.95 for a 95% interval"
        )
    return value


def _check_resamples(resamples: Any) -> int:
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)):
        raise InvalidInputError(f"resamples must be a positive integer, got {resamples!r}")
    if resamples < 1:
        raise InvalidInputError(f"resamples must be at least 1, got {resamples}")
    return int(resamples)


def _placements(sorted_reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Twice the number of reference scores below each query, ties counting one half.

    Doubling keeps the count an exact integer; it is the midrank of the query in the
    pooled sample minus its midrank in its own sample (the DeLong placement value).
    """
    below = np.searchsorted(sorted_reference, queries, side="left")
    below_or_equal = np.searchsorted(sorted_reference, queries, side="right")
    return below + below_or_equal


def _auroc(nominal: np.ndarray, stress: np.ndarray) -> float:
    # Mann-Whitney U from integer placements: exact up to 2**53, so the only rounding is
    # the final division, and the vectorised bootstrap reproduces it bit for bit. Sorting
    # the queries as well costs one sort but makes the binary searches cache-friendly,
    # several times faster than searching in random order.
    twice_u = int(_placements(np.sort(nominal), np.sort(stress)).sum())
    return twice_u / (2 * nominal.size * stress.size)


def auroc(nominal: Any, stress: Any) -> float:
    """Area under the ROC curve with stress as the positive class.

    The probability that a random stress score exceeds a random nominal one, ties counting
    one half (the Mann-Whitney statistic). Equals ``sklearn.metrics.roc_auc_score``.

    Raises:
        InvalidInputError: a sample is empty, not 1-d or has non-finite scores.
    """
    return _auroc(_as_scores(nominal, "nominal"), _as_scores(stress, "stress"))


def _descending_counts(
    nominal: np.ndarray, stress: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores in decreasing order with the stress / nominal counts at or above each."""
    pooled = np.concatenate([nominal, stress])
    is_stress = np.concatenate([np.zeros(nominal.size, np.int64), np.ones(stress.size, np.int64)])
    order = np.argsort(-pooled, kind="stable")
    sorted_scores = pooled[order]
    # A tie group contributes one point: everything scored at or above its value.
    group_ends = np.append(np.flatnonzero(np.diff(sorted_scores)), pooled.size - 1)
    true_positives = np.cumsum(is_stress[order])[group_ends]
    false_positives = group_ends + 1 - true_positives
    return sorted_scores[group_ends], true_positives, false_positives


def aupr(nominal: Any, stress: Any) -> float:
    """Average precision with stress as the positive class.

    The step-wise sum of precision weighted by the recall gained at each distinct score
    (tied scores form one step), as ``sklearn.metrics.average_precision_score`` defines it;
    no trapezoidal interpolation, which would be optimistic.

    Raises:
        InvalidInputError: a sample is empty, not 1-d or has non-finite scores.
    """
    nominal_scores = _as_scores(nominal, "nominal")
    stress_scores = _as_scores(stress, "stress")
    _, true_positives, false_positives = _descending_counts(nominal_scores, stress_scores)
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / stress_scores.size
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def roc_curve(nominal: Any, stress: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve points for plotting, one per distinct score.

    Returns ``(fpr, tpr, thresholds)`` exactly as ``sklearn.metrics.roc_curve`` with
    ``drop_intermediate=False``: thresholds decrease, the first is ``inf`` so the curve
    starts at (0, 0), and point ``i`` counts the scores ``>= thresholds[i]``.

    Raises:
        InvalidInputError: a sample is empty, not 1-d or has non-finite scores.
    """
    nominal_scores = _as_scores(nominal, "nominal")
    stress_scores = _as_scores(stress, "stress")
    thresholds, true_positives, false_positives = _descending_counts(nominal_scores, stress_scores)
    fpr = np.concatenate([[0.0], false_positives / nominal_scores.size])
    tpr = np.concatenate([[0.0], true_positives / stress_scores.size])
    return fpr, tpr, np.concatenate([[np.inf], thresholds])


def _threshold_at_fpr(calibration: np.ndarray, fpr: float) -> float:
    ordered = np.sort(calibration)
    n_above = ordered.size - np.searchsorted(ordered, ordered, side="right")
    # Compare the fraction exactly as the definition states it, not via floor(fpr * n),
    # which float noise can push one count too low (0.29 * 100 == 28.999...).
    allowed = n_above / ordered.size <= fpr
    # n_above falls as the threshold rises, and the maximum always has none above it.
    return float(ordered[int(np.argmax(allowed))])


def threshold_at_fpr(calibration: Any, *, fpr: float) -> float:
    """The alarm threshold that keeps the false-positive rate on nominal calibration <= fpr.

    The alarm rule is ``score > threshold``. Among the calibration scores, this returns the
    smallest one such that the fraction of calibration scores strictly above it is at most
    ``fpr``; the largest calibration score always qualifies, so when ``fpr < 1 / n`` the
    threshold is the maximum and no calibration score raises an alarm.

    Ties: scores equal to the threshold never raise the alarm, and the threshold never sits
    below a tie group that would push the fraction over ``fpr``. With many tied scores the
    calibration FPR can therefore be well under ``fpr``; :class:`TprAtFpr` reports it.

    Raises:
        InvalidInputError: ``fpr`` is not in (0, 1), or the calibration scores are invalid.

    Example:
        >>> threshold_at_fpr([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], fpr=0.2)
        8.0
    """
    fpr = _check_fpr(fpr)
    return _threshold_at_fpr(_as_scores(calibration, "calibration"), fpr)


def tpr_at_fpr(stress: Any, nominal: Any, calibration: Any, *, fpr: float = 0.05) -> TprAtFpr:
    """TPR on stress at the threshold that gives ``fpr`` on a nominal calibration split.

    The threshold comes from ``calibration`` (see :func:`threshold_at_fpr`) and must be
    disjoint from the nominal *test* scores ``nominal``, on which the realised FPR is
    measured: choosing and checking the threshold on one split would hide how far a finite
    calibration set misses the target.

    Raises:
        InvalidInputError: ``fpr`` is not in (0, 1), or any sample is invalid.
    """
    fpr = _check_fpr(fpr)
    stress_scores = _as_scores(stress, "stress")
    nominal_scores = _as_scores(nominal, "nominal")
    calibration_scores = _as_scores(calibration, "calibration")
    threshold = _threshold_at_fpr(calibration_scores, fpr)
    return TprAtFpr(
        tpr=float(np.mean(stress_scores > threshold)),
        threshold=threshold,
        target_fpr=fpr,
        realised_fpr=float(np.mean(nominal_scores > threshold)),
        calibration_fpr=float(np.mean(calibration_scores > threshold)),
    )


def metric_name_tpr(fpr: float) -> str:
    """The exact metric name for TPR at a nominal FPR, e.g. ``"TPR@5%FPR(nominal)"``.

    The percentage is computed in decimal from the shortest repr of ``fpr``, so 0.005 reads
    ``0.5%`` and never ``0.5000000000000001%``.

    Example:
        >>> metric_name_tpr(0.005)
        'TPR@0.5%FPR(nominal)'
    """
    fpr = _check_fpr(fpr)
    percent = (Decimal(repr(fpr)) * 100).normalize()
    return f"TPR@{percent:f}%FPR(nominal)"


def _percentile_interval(statistics: np.ndarray, level: float) -> Interval:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(statistics, [tail, 1.0 - tail])
    return Interval(low=float(low), high=float(high), level=level, method="bootstrap")


def bootstrap_interval(
    statistic: Callable[..., float],
    *samples: Any,
    level: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``statistic(*samples)``.

    Each sample is resampled with replacement on its own (stratified: nominal, stress and,
    for TPR@FPR, the calibration split keep their sizes), so the interval reflects the
    uncertainty of every finite sample. The draws come from
    ``numpy.random.default_rng(seed)`` in a fixed order (per resample, sample by sample),
    so the same seed gives the same interval. ``statistic`` receives the resampled float64
    arrays in the order given.

    When ``statistic`` is :func:`auroc` itself, the vectorised :func:`auroc_bootstrap`
    computes the identical interval much faster.

    Example:
        >>> interval = bootstrap_interval(
        ...     lambda s, n, c: tpr_at_fpr(s, n, c, fpr=0.05).tpr,
        ...     [3.0, 4.0, 5.0], [0.0, 1.0, 2.0], [0.5, 1.5, 2.5], resamples=200)
        >>> interval.method
        'bootstrap'

    Raises:
        InvalidInputError: no sample given, a sample is invalid, or ``level`` / ``resamples``
            are out of range.
    """
    if not samples:
        raise InvalidInputError("bootstrap_interval needs at least one sample to resample")
    if statistic is auroc and len(samples) == 2:
        return auroc_bootstrap(samples[0], samples[1], level=level, resamples=resamples, seed=seed)
    level = _check_level(level)
    resamples = _check_resamples(resamples)
    arrays = [_as_scores(sample, f"samples[{index}]") for index, sample in enumerate(samples)]
    rng = np.random.default_rng(seed)
    statistics = np.empty(resamples)
    for resample in range(resamples):
        drawn = [array[rng.integers(0, array.size, size=array.size)] for array in arrays]
        statistics[resample] = statistic(*drawn)
    return _percentile_interval(statistics, level)


def _auroc_resamples(
    nominal: np.ndarray, stress: np.ndarray, resamples: int, seed: int
) -> np.ndarray:
    """AUROC of every bootstrap resample, drawn exactly as :func:`bootstrap_interval` does.

    A resample with replacement only changes how often each original score occurs, so the
    pooled sample is ranked once: each score becomes the index of its distinct value, a
    resample becomes a row of counts per distinct value, and the Mann-Whitney sum is a
    cumulative sum over that row. No resample is re-sorted.
    """
    distinct, codes = np.unique(np.concatenate([nominal, stress]), return_inverse=True)
    n_distinct = distinct.size
    nominal_codes, stress_codes = codes[: nominal.size], codes[nominal.size :]
    rng = np.random.default_rng(seed)
    statistics = np.empty(resamples)
    chunk = max(1, _BOOTSTRAP_CHUNK_CELLS // max(n_distinct, nominal.size, stress.size))
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        drawn_nominal = np.empty((rows, nominal.size), np.int64)
        drawn_stress = np.empty((rows, stress.size), np.int64)
        # The draws stay one call per resample and sample, in bootstrap_interval's order,
        # because that is what makes both paths give the same interval for one seed.
        for row in range(rows):
            drawn_nominal[row] = rng.integers(0, nominal.size, size=nominal.size)
            drawn_stress[row] = rng.integers(0, stress.size, size=stress.size)
        offsets = (np.arange(rows) * n_distinct)[:, None]
        cells = rows * n_distinct
        nominal_counts = np.bincount(
            (nominal_codes[drawn_nominal] + offsets).ravel(), minlength=cells
        ).reshape(rows, n_distinct)
        stress_counts = np.bincount(
            (stress_codes[drawn_stress] + offsets).ravel(), minlength=cells
        ).reshape(rows, n_distinct)
        # Twice the nominal count below each distinct value, plus the ties: the same
        # integer placements as _auroc, so the division rounds identically.
        twice_below = 2 * np.cumsum(nominal_counts, axis=1) - nominal_counts
        twice_u = np.sum(stress_counts * twice_below, axis=1)
        statistics[start : start + rows] = twice_u / (2 * nominal.size * stress.size)
    return statistics


def auroc_bootstrap(
    nominal: Any,
    stress: Any,
    *,
    level: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of the AUROC, all resamples computed at once.

    Gives exactly ``bootstrap_interval(auroc, nominal, stress, ...)`` for the same
    ``level``, ``resamples`` and ``seed`` (same draws, same integer Mann-Whitney sums), at a
    fraction of the cost because the pooled sample is ranked once, not once per resample.

    Raises:
        InvalidInputError: a sample is invalid, or ``level`` / ``resamples`` are out of range.
    """
    level = _check_level(level)
    resamples = _check_resamples(resamples)
    # Same names as the generic path, so one mistake reads the same either way.
    nominal_scores = _as_scores(nominal, "samples[0]")
    stress_scores = _as_scores(stress, "samples[1]")
    statistics = _auroc_resamples(nominal_scores, stress_scores, resamples, seed)
    return _percentile_interval(statistics, level)


def _delong_variance(nominal: np.ndarray, stress: np.ndarray) -> float:
    if nominal.size < 2 or stress.size < 2:
        raise InvalidInputError(
            f"the DeLong variance needs at least 2 nominal and 2 stress scores, got "
            f"{nominal.size} and {stress.size}; use bootstrap_interval or more scores"
        )
    # Structural components (DeLong et al. 1988) from placement values, i.e. midrank
    # differences as in Sun & Xu (2014): O(n log n) instead of the O(n * m) pair table.
    # The variances ignore order, so both samples are used sorted.
    nominal_sorted, stress_sorted = np.sort(nominal), np.sort(stress)
    stress_components = _placements(nominal_sorted, stress_sorted) / (2.0 * nominal.size)
    nominal_components = 1.0 - _placements(stress_sorted, nominal_sorted) / (2.0 * stress.size)
    return float(
        np.var(stress_components, ddof=1) / stress.size
        + np.var(nominal_components, ddof=1) / nominal.size
    )


def delong_variance(nominal: Any, stress: Any) -> float:
    """DeLong et al. (1988) estimate of the variance of the AUROC.

    Raises:
        InvalidInputError: a sample is invalid or has fewer than 2 scores.
    """
    return _delong_variance(_as_scores(nominal, "nominal"), _as_scores(stress, "stress"))


def delong_interval(nominal: Any, stress: Any, *, level: float = 0.95) -> Interval:
    """Normal-approximation interval for the AUROC with the DeLong variance, clipped to [0, 1].

    Much cheaper than a bootstrap and accurate for moderate samples; near perfect
    separation the variance estimate shrinks to zero and the interval collapses to the
    point estimate, where :func:`auroc_bootstrap` is the safer choice.

    Raises:
        InvalidInputError: a sample is invalid or has fewer than 2 scores, or ``level`` is
            not in (0, 1).
    """
    level = _check_level(level)
    nominal_scores = _as_scores(nominal, "nominal")
    stress_scores = _as_scores(stress, "stress")
    estimate = _auroc(nominal_scores, stress_scores)
    half_width = float(norm.ppf(0.5 + level / 2.0)) * math.sqrt(
        _delong_variance(nominal_scores, stress_scores)
    )
    return Interval(
        low=max(0.0, estimate - half_width),
        high=min(1.0, estimate + half_width),
        level=level,
        method="delong",
    )
