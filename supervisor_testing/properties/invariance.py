"""Invariance: scores stay put under changes that should not matter.

* **Translation** by one pixel, within the data's natural variation (the reference
  classifiers train with the same shifts). Single scores do move (a shifted digit is a
  slightly different input), so the property is about the distribution: the mean
  per-image change, in score standard deviations, must stay within ``±tolerance``; a
  violation needs a one-sided t-test beyond either bound at ``alpha / 2``.
* **dtype round trips**: uint8 images, the same as float32, float64 and float16 in
  [0, 1] must score alike (catches a supervisor that reads uint8 as 0..255 floats).
* **Batch composition**: a sample's score must not depend on the other samples in its
  batch (catches batch-norm left in train mode). The inputs are scored together, next to
  very different companions (their inverted images), and split over two batches.

The last two are exact up to float rounding (see :mod:`.agreement`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.properties.agreement import relative_disagreement
from supervisor_testing.properties.inputs import (
    PropertyInputs,
    check_alpha,
    check_inputs_fit,
    check_tolerance,
    resolve_inputs,
    score_scale,
    scores,
)
from supervisor_testing.properties.mean_tests import p_mean_above, p_mean_below
from supervisor_testing.properties.outcome import PropertyResult

if TYPE_CHECKING:
    from supervisor_testing.supervisors.base import Supervisor

__all__ = [
    "assert_batch_invariant",
    "assert_dtype_invariant",
    "assert_translation_invariant",
    "check_batch_invariant",
    "check_dtype_invariant",
    "check_translation_invariant",
    "shift_one_pixel",
]

# (row, column) offsets into a one-pixel zero pad: down, up, right, left.
_MOVES = ((0, 1), (2, 1), (1, 0), (1, 2))
_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16}


def _name(supervisor: Supervisor) -> str:
    return supervisor.name or type(supervisor).__name__


def shift_one_pixel(images: torch.Tensor, *, seed: int, indices: torch.Tensor) -> torch.Tensor:
    """Move each image one pixel up, down, left or right, filling with zeros.

    The direction of image ``i`` comes from ``(seed, indices[i])`` alone, so it does not
    depend on the batch. Zeros, not ``torch.roll``: a digit's background is black, and
    wrapping its edge around would add strokes the data never shows.
    """
    directions = [
        int(np.random.default_rng([seed, int(k)]).integers(len(_MOVES))) for k in indices.tolist()
    ]
    padded = F.pad(images, (1, 1, 1, 1))
    height, width = images.shape[2:]
    out = torch.empty_like(images)
    for i, direction in enumerate(directions):
        row, col = _MOVES[direction]
        out[i] = padded[i, :, row : row + height, col : col + width]
    return out


def check_translation_invariant(
    supervisor: Supervisor,
    inputs: PropertyInputs,
    *,
    samples: int | None = 64,
    seed: int = 0,
    tolerance: float = 0.5,
    alpha: float = 0.01,
) -> PropertyResult:
    """Whether a one-pixel translation leaves the mean score within ``±tolerance`` score
    standard deviations (see the module docs).

    Raises:
        InvalidInputError: bad tolerance or alpha, no inputs, images the model cannot read.
    """
    tolerance = check_tolerance(tolerance)
    alpha = check_alpha(alpha)
    found = resolve_inputs(inputs, samples=samples, seed=seed, distinct=True)
    check_inputs_fit(supervisor, found)
    before = scores(supervisor, found.images)
    after = scores(supervisor, shift_one_pixel(found.images, seed=seed, indices=found.indices))
    change = (after - before) / score_scale(before)
    mean = float(change.mean())
    p = min(p_mean_above(change, tolerance), p_mean_below(change, -tolerance))
    holds = p >= alpha / 2
    verdict = "holds" if holds else "violated"
    message = (
        f"translation invariance {verdict}: a one-pixel shift moves the mean score "
        f"{mean:+.3f} score SDs (tolerance ±{tolerance:g}), one-sided t-test p = {p:.3g} "
        f"against alpha {alpha:g} / 2, over {len(found)} distinct images"
    )
    return PropertyResult(
        name="translation-invariant",
        supervisor=_name(supervisor),
        holds=holds,
        statistic=mean,
        tolerance=tolerance,
        p_value=min(1.0, 2 * p),
        alpha=alpha,
        samples=len(found),
        message=message,
        details={"mean_abs_change_sd": float(np.abs(change).mean())},
    )


def check_dtype_invariant(
    supervisor: Supervisor,
    inputs: PropertyInputs,
    *,
    dtypes: Sequence[str] = ("float32", "float64", "float16"),
    samples: int | None = 64,
    seed: int = 0,
    tolerance: float = 1e-2,
) -> PropertyResult:
    """Whether the images as uint8 and as each float ``dtype`` in [0, 1] score alike:
    the RMS disagreement must stay within ``tolerance`` score spreads (float16 rounds
    pixels by up to 2e-4, hence the default).

    Raises:
        InvalidInputError: an unknown dtype, a bad tolerance, no inputs, images the model
            cannot read.
    """
    tolerance = check_tolerance(tolerance)
    unknown = [d for d in dtypes if d not in _DTYPES]
    if unknown or not dtypes:
        raise InvalidInputError(
            f"dtypes must name some of {', '.join(_DTYPES)}, got {list(dtypes)!r}"
        )
    found = resolve_inputs(inputs, samples=samples, seed=seed)
    check_inputs_fit(supervisor, found)
    reference = scores(supervisor, found.images)
    per_dtype = {}
    for name in dtypes:
        converted = found.images.to(_DTYPES[name]).div_(255)
        per_dtype[name] = relative_disagreement(reference, scores(supervisor, converted))
    return _worst_within_tolerance(
        per_dtype,
        name="dtype-invariant",
        title="dtype invariance",
        describe=lambda worst: f"scores of the {worst} images differ from the uint8 ones by",
        supervisor=supervisor,
        tolerance=tolerance,
        samples=len(found),
    )


def check_batch_invariant(
    supervisor: Supervisor,
    inputs: PropertyInputs,
    *,
    samples: int | None = 64,
    seed: int = 0,
    tolerance: float = 1e-4,
) -> PropertyResult:
    """Whether a sample's score is the same whatever else is in its batch: next to other
    companions, and split over two batches (seeded order). The RMS disagreement
    must stay within ``tolerance`` score spreads.

    Raises:
        InvalidInputError: a bad tolerance, no inputs, images the model cannot read.
    """
    tolerance = check_tolerance(tolerance)
    found = resolve_inputs(inputs, samples=samples, seed=seed)
    check_inputs_fit(supervisor, found)
    images = found.images
    n = len(found)
    reference = scores(supervisor, images)
    # Inverted images have other pixel statistics than any natural batch, so statistics
    # computed over the batch move as far as they can.
    companions = 255 - images
    mixed = scores(supervisor, torch.cat([images, companions]))[:n]
    order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    half = max(1, n // 2)
    split = np.empty(n)
    split[order[:half].numpy()] = scores(supervisor, images[order[:half]])
    if n > half:
        split[order[half:].numpy()] = scores(supervisor, images[order[half:]])
    checks = {
        "with other companions": relative_disagreement(reference, mixed),
        "split in two batches": relative_disagreement(reference, split),
    }
    return _worst_within_tolerance(
        checks,
        name="batch-invariant",
        title="batch invariance",
        describe=lambda worst: f"scored {worst}, scores move",
        supervisor=supervisor,
        tolerance=tolerance,
        samples=n,
    )


def _worst_within_tolerance(
    checks: dict[str, tuple[float, float]],
    *,
    name: str,
    title: str,
    describe: Callable[[str], str],
    supervisor: Supervisor,
    tolerance: float,
    samples: int,
) -> PropertyResult:
    """The verdict of several (RMS, largest) disagreements: the worst one must stay within
    ``tolerance`` score spreads; every one is kept in the details."""
    worst = max(checks, key=lambda c: checks[c][0])
    rms, largest = checks[worst]
    holds = rms <= tolerance
    verdict = "holds" if holds else "violated"
    message = (
        f"{title} {verdict}: {describe(worst)} {rms:.3g} score SDs RMS "
        f"(largest {largest:.3g}; tolerance {tolerance:g}), over {samples} images"
    )
    return PropertyResult(
        name=name,
        supervisor=_name(supervisor),
        holds=holds,
        statistic=rms,
        tolerance=tolerance,
        p_value=None,
        alpha=None,
        samples=samples,
        message=message,
        details={check: {"rms": r, "largest": m} for check, (r, m) in checks.items()},
    )


def assert_translation_invariant(
    supervisor: Supervisor, inputs: PropertyInputs, **options: object
) -> PropertyResult:
    """:func:`check_translation_invariant`, raising on a violation."""
    return check_translation_invariant(supervisor, inputs, **options).raise_if_violated()  # type: ignore[arg-type]


def assert_dtype_invariant(
    supervisor: Supervisor, inputs: PropertyInputs, **options: object
) -> PropertyResult:
    """:func:`check_dtype_invariant`, raising on a violation."""
    return check_dtype_invariant(supervisor, inputs, **options).raise_if_violated()  # type: ignore[arg-type]


def assert_batch_invariant(
    supervisor: Supervisor, inputs: PropertyInputs, **options: object
) -> PropertyResult:
    """:func:`check_batch_invariant`, raising on a violation."""
    return check_batch_invariant(supervisor, inputs, **options).raise_if_violated()  # type: ignore[arg-type]
