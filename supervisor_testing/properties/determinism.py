"""Determinism: the same input scores the same every time it is scored.

Catches a sampling supervisor (MC dropout, a stochastic head) that draws from an
unseeded generator: its scores wobble from call to call, so a test that passes once
fails on the rerun and no result can be reproduced. The inputs are scored ``repeats``
times; the statistic is the largest RMS disagreement with the first scoring, in units
of the scores' spread (see :mod:`.agreement`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.properties.agreement import relative_disagreement
from supervisor_testing.properties.inputs import (
    PropertyInputs,
    check_inputs_fit,
    check_tolerance,
    resolve_inputs,
    scores,
)
from supervisor_testing.properties.outcome import PropertyResult

if TYPE_CHECKING:
    from supervisor_testing.supervisors.base import Supervisor

__all__ = ["assert_deterministic", "check_deterministic"]


def check_deterministic(
    supervisor: Supervisor,
    inputs: PropertyInputs,
    *,
    repeats: int = 2,
    samples: int | None = 64,
    seed: int = 0,
    tolerance: float = 1e-6,
) -> PropertyResult:
    """Whether scoring the same inputs ``repeats`` times gives the same scores (RMS
    disagreement within ``tolerance`` score spreads).

    The inputs are cloned before every scoring, so a cache keyed on the tensor object
    cannot hide a difference.

    Raises:
        InvalidInputError: fewer than two repeats, a bad tolerance, no inputs, images the
            model cannot read.
    """
    tolerance = check_tolerance(tolerance)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise InvalidInputError(f"repeats must be an int >= 2, got {repeats!r}")
    found = resolve_inputs(inputs, samples=samples, seed=seed)
    check_inputs_fit(supervisor, found)
    first = scores(supervisor, found.images.clone())
    runs = [
        relative_disagreement(first, scores(supervisor, found.images.clone()))
        for _ in range(repeats - 1)
    ]
    rms, largest = max(runs)
    holds = rms <= tolerance
    verdict = "holds" if holds else "violated"
    message = (
        f"determinism {verdict}: scoring the same {len(found)} images again moves the "
        f"scores {rms:.3g} score SDs RMS (largest {largest:.3g}; tolerance {tolerance:g}) "
        f"over {repeats} scorings"
    )
    return PropertyResult(
        name="deterministic",
        supervisor=supervisor.name or type(supervisor).__name__,
        holds=holds,
        statistic=rms,
        tolerance=tolerance,
        p_value=None,
        alpha=None,
        samples=len(found),
        message=message,
        details={"largest_sd": largest, "repeats": repeats},
    )


def assert_deterministic(
    supervisor: Supervisor, inputs: PropertyInputs, **options: object
) -> PropertyResult:
    """:func:`check_deterministic`, raising on a violation."""
    return check_deterministic(supervisor, inputs, **options).raise_if_violated()  # type: ignore[arg-type]
