"""One-sided tests of a mean against a tolerance, shared by the graded properties."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["p_mean_above", "p_mean_below"]


def _one_sided(values: np.ndarray, bound: float, alternative: str) -> float:
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    beyond = mean < bound if alternative == "less" else mean > bound
    # Too few values, or none that vary, give the t-test nothing to estimate the noise
    # from: the data alone decide (every value is the mean when they do not vary).
    if len(values) < 2 or float(values.std()) == 0.0:
        if len(values) >= 2 and beyond:
            return 0.0
        return 1.0
    return float(stats.ttest_1samp(values, bound, alternative=alternative).pvalue)


def p_mean_below(values: np.ndarray, bound: float) -> float:
    """p-value of a one-sided t-test that the mean of ``values`` lies below ``bound``."""
    return _one_sided(values, bound, "less")


def p_mean_above(values: np.ndarray, bound: float) -> float:
    """p-value of a one-sided t-test that the mean of ``values`` lies above ``bound``."""
    return _one_sided(values, bound, "greater")
