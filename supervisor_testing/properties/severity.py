"""Severity monotonicity: a supervisor's mean score does not fall as a corruption worsens.

The same images are corrupted at every severity (paired, as in ImageNet-C), and every
pair of levels ``low < high`` is compared: the per-image score change, in units of the
scores' pooled standard deviation, must not fall below ``-tolerance`` on average. A
violation needs evidence: a one-sided t-test of that mean against ``-tolerance``, at
``alpha`` split over the comparisons (Bonferroni). Comparing every pair, not only
neighbours, also catches a slow slide where each step alone stays within tolerance.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.properties.inputs import (
    PropertyInputs,
    check_alpha,
    check_inputs_fit,
    check_tolerance,
    resolve_inputs,
    scores,
)
from supervisor_testing.properties.mean_tests import p_mean_below
from supervisor_testing.properties.outcome import PropertyResult

if TYPE_CHECKING:
    from supervisor_testing.supervisors.base import Supervisor

__all__ = ["assert_severity_monotone", "check_severity_monotone"]


def _levels(severities: Sequence[int]) -> tuple[int, ...]:
    values = tuple(severities) if not isinstance(severities, int) else (severities,)
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5]
    if bad:
        raise InvalidInputError(f"severity {bad[0]!r} is outside 1..5; choose severities in 1..5")
    levels = tuple(sorted(set(values)))
    if len(levels) < 2:
        raise InvalidInputError(
            f"severity monotonicity compares at least two severities, got {list(levels)}"
        )
    return levels


def check_severity_monotone(
    supervisor: Supervisor,
    inputs: PropertyInputs,
    *,
    corruption: str,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    suite: str = "imagenet-c",
    table: str = "auto",
    samples: int | None = 64,
    seed: int = 0,
    tolerance: float = 0.1,
    alpha: float = 0.01,
) -> PropertyResult:
    """Whether ``supervisor``'s mean score does not fall as ``corruption`` worsens.

    Args:
        supervisor: a fitted supervisor.
        inputs: clean images: a corpus, a data set, a drawn batch or a uint8 tensor.
        corruption: a corruption of ``suite``.
        severities: the levels compared (at least two, in 1..5).
        suite, table: as in :func:`generators.corruptions.corrupt`.
        samples: a seeded subsample of the inputs (``None``: all of them).
        seed: seeds the subsample and the corruptions.
        tolerance: the mean drop allowed, in score standard deviations.
        alpha: significance level of the one-sided test, over all comparisons.

    Raises:
        InvalidInputError: bad severities, tolerance or alpha, no inputs, images the
            model or the corruption cannot take.
    """
    from generators.corruptions import corrupt
    from generators.corruptions.suites import check_image_shape, resolve_suite, resolve_table

    levels = _levels(severities)
    tolerance = check_tolerance(tolerance)
    alpha = check_alpha(alpha)
    found = resolve_inputs(inputs, samples=samples, seed=seed, distinct=True)
    check_inputs_fit(supervisor, found)
    suite = resolve_suite(suite)
    resolved = resolve_table(suite, table, tuple(found.images.shape[1:]))
    for level in levels:
        check_image_shape(tuple(found.images.shape[1:]), resolved, corruption, level)
    by_level = {
        level: scores(
            supervisor,
            corrupt(
                found.images,
                corruption,
                severity=level,
                seed=seed,
                indices=found.indices.clamp(min=0),
                suite=suite,
                table=table,
            ),
        )
        for level in levels
    }
    pooled = float(
        np.sqrt(np.mean([np.var(v, ddof=1) if len(v) > 1 else 0.0 for v in by_level.values()]))
    )
    scale = pooled if pooled > 0 else 1.0
    comparisons = list(itertools.combinations(levels, 2))
    each = alpha / len(comparisons)
    rows = []
    for low, high in comparisons:
        change = (by_level[high] - by_level[low]) / scale
        rows.append((low, high, float(change.mean()), p_mean_below(change, -tolerance)))
    worst = min(rows, key=lambda r: (r[3], r[2]))
    low, high, drop, p = worst
    holds = all(r[3] >= each for r in rows)
    stacked = np.concatenate([by_level[level] for level in levels])
    rho = stats.spearmanr(np.repeat(levels, len(found)), stacked).statistic if scale else 0.0
    means = {level: float(v.mean()) for level, v in by_level.items()}
    verdict = "holds" if holds else "violated"
    message = (
        f"severity monotonicity {verdict} for {corruption}: from severity {low} to {high} "
        f"the mean score moves {drop:+.3f} score SDs ({means[low]:.4g} -> {means[high]:.4g}; "
        f"tolerance -{tolerance:g}), one-sided t-test p = {p:.3g} against alpha "
        f"{alpha:g} / {len(comparisons)} comparisons, over {len(found)} distinct images"
    )
    return PropertyResult(
        name="severity-monotone",
        supervisor=supervisor.name or type(supervisor).__name__,
        holds=holds,
        statistic=drop,
        tolerance=tolerance,
        p_value=min(1.0, p * len(comparisons)),
        alpha=alpha,
        samples=len(found),
        message=message,
        details={
            "corruption": corruption,
            "mean_scores": means,
            "spearman_rho": float(rho),
            "comparisons": [
                {"low": a, "high": b, "mean_change_sd": m, "p_value": q} for a, b, m, q in rows
            ],
        },
    )


def assert_severity_monotone(
    supervisor: Supervisor, inputs: PropertyInputs, **options: object
) -> PropertyResult:
    """:func:`check_severity_monotone`, raising
    :class:`~supervisor_testing.properties.PropertyViolation` when it is violated.

    Example:
        >>> assert_severity_monotone(supervisor, "digits-test", corruption="fog")  # doctest: +SKIP
    """
    return check_severity_monotone(supervisor, inputs, **options).raise_if_violated()  # type: ignore[arg-type]
