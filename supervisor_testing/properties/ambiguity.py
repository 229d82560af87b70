"""Ambiguity ordering: ambiguous inputs score higher than the nominal inputs they blend.

An ambiguous image between classes ``a`` and ``b`` has no single source image, so its
nominal sources are the nominal images of ``a`` and ``b``: where the ambiguous inputs
name their pairs (an AmbiGuess corpus's ``pair`` column, or drawn samples), the nominal
side keeps only those classes. The statistic is the AUROC of ambiguous against nominal
(the Mann-Whitney U statistic over ``n_ambiguous x n_nominal``); the property is violated
when it lies significantly below ``min_auroc``: a one-sided z-test with DeLong's variance
at ``alpha``. Like the other graded properties it needs evidence to fail, so a handful of
drawn inputs passes and hypothesis shrinks a failure to the fewest inputs that still
show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy import stats

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.metrics import auroc, delong_variance
from supervisor_testing.properties.inputs import (
    PropertyInputs,
    check_alpha,
    check_inputs_fit,
    resolve_inputs,
    scores,
)
from supervisor_testing.properties.outcome import PropertyResult

if TYPE_CHECKING:
    from supervisor_testing.supervisors.base import Supervisor

__all__ = ["assert_ambiguity_ordering", "check_ambiguity_ordering"]


def _p_auroc_below(nominal: np.ndarray, ambiguous: np.ndarray, area: float, bound: float) -> float:
    """p-value of the one-sided test that the AUROC lies below ``bound``."""
    if min(len(nominal), len(ambiguous)) < 2:
        return 1.0  # one input on a side is no evidence either way
    variance = delong_variance(nominal, ambiguous)
    if variance == 0.0:  # complete separation: the estimate is all there is
        return 0.0 if area < bound else 1.0
    return float(stats.norm.cdf((area - bound) / np.sqrt(variance)))


def check_ambiguity_ordering(
    supervisor: Supervisor,
    ambiguous: PropertyInputs,
    nominal: PropertyInputs,
    *,
    samples: int | None = None,
    seed: int = 0,
    min_auroc: float = 0.5,
    alpha: float = 0.01,
) -> PropertyResult:
    """Whether ``supervisor`` scores ``ambiguous`` inputs above their nominal sources.

    Args:
        supervisor: a fitted supervisor.
        ambiguous: ambiguous inputs (a corpus, a drawn batch, a tensor).
        nominal: labelled nominal inputs of the same shape.
        samples: a seeded subsample of each side (``None``: all).
        seed: seeds the subsamples.
        min_auroc: the AUROC (ambiguous = positive) the scores must not fall below.
        alpha: significance level of the one-sided test.

    Raises:
        InvalidInputError: no inputs on a side, shapes that differ or that the model
            cannot read, no nominal image of the ambiguous inputs' classes.
    """
    alpha = check_alpha(alpha)
    if isinstance(min_auroc, bool) or not isinstance(min_auroc, (int, float)):
        raise InvalidInputError(f"min_auroc must be a number in [0, 1], got {min_auroc!r}")
    if not 0 <= min_auroc <= 1:
        raise InvalidInputError(f"min_auroc must lie in [0, 1], got {min_auroc!r}")
    amb = resolve_inputs(ambiguous, samples=samples, seed=seed, distinct=True)
    nom = resolve_inputs(nominal, seed=seed, distinct=True)
    if amb.images.shape[1:] != nom.images.shape[1:]:
        raise InvalidInputError(
            f"ambiguous images are {tuple(amb.images.shape[1:])} but nominal ones are "
            f"{tuple(nom.images.shape[1:])}; compare inputs of one data set"
        )
    check_inputs_fit(supervisor, amb)
    if amb.pairs is not None and bool((nom.labels >= 0).any()):
        classes = torch.unique(amb.pairs)
        keep = torch.isin(nom.labels, classes).nonzero().squeeze(1)
        if len(keep) == 0:
            raise InvalidInputError(
                f"{nom.name} has no image of the ambiguous inputs' classes "
                f"{classes.tolist()}; give the nominal split of the same data set"
            )
        nom = nom.take(keep)
    if samples is not None and samples < len(nom):
        rows = np.sort(np.random.default_rng(seed).choice(len(nom), size=samples, replace=False))
        nom = nom.take(torch.from_numpy(rows))
    amb_scores = scores(supervisor, amb.images)
    nom_scores = scores(supervisor, nom.images)
    area = auroc(nom_scores, amb_scores)
    p = _p_auroc_below(nom_scores, amb_scores, area, min_auroc)
    holds = p >= alpha
    verdict = "holds" if holds else "violated"
    message = (
        f"ambiguity ordering {verdict}: AUROC of ambiguous against nominal {area:.3f} "
        f"(minimum {min_auroc:g}), one-sided DeLong z-test p = {p:.3g} (alpha {alpha:g}), "
        f"{len(amb)} ambiguous and {len(nom)} nominal distinct inputs; mean scores "
        f"{amb_scores.mean():.4g} and {nom_scores.mean():.4g}"
    )
    return PropertyResult(
        name="ambiguity-ordering",
        supervisor=supervisor.name or type(supervisor).__name__,
        holds=holds,
        statistic=area,
        tolerance=float(min_auroc),
        p_value=p,
        alpha=alpha,
        samples=len(amb) + len(nom),
        message=message,
        details={
            "ambiguous": len(amb),
            "nominal": len(nom),
            "mean_ambiguous": float(amb_scores.mean()),
            "mean_nominal": float(nom_scores.mean()),
        },
    )


def assert_ambiguity_ordering(
    supervisor: Supervisor, ambiguous: PropertyInputs, nominal: PropertyInputs, **options: object
) -> PropertyResult:
    """:func:`check_ambiguity_ordering`, raising
    :class:`~supervisor_testing.properties.PropertyViolation` when it is violated."""
    return check_ambiguity_ordering(
        supervisor,
        ambiguous,
        nominal,
        **options,  # type: ignore[arg-type]
    ).raise_if_violated()
