"""Elastic transform: a random affine jitter of three points, then a smooth random
displacement field (ImageNet-C's version, as CIFAR-10-C and MNIST-C use it)."""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import to_unit, truncate_levels_
from generators.corruptions.separable_filter import gaussian_separable
from generators.corruptions.warping import displaced, warp_affine

__all__ = ["elastic_transform"]


def _affine_inverses(jitter: np.ndarray, height: int, width: int) -> torch.Tensor:
    """Inverse maps of the affines taking three fixed points to their jittered copies."""
    centre_x, centre_y = float(width // 2), float(height // 2)
    half = float(min(height, width) // 3)
    fixed = np.array(
        [[centre_x + half, centre_y + half], [centre_x + half, centre_y - half],
         [centre_x - half, centre_y - half]],
        dtype=np.float64,
    )  # fmt: skip
    moved = fixed[None] + jitter
    homogeneous = np.concatenate([moved, np.ones((len(jitter), 3, 1))], axis=2)
    # The inverse map takes each moved point back to its fixed point.
    solved = np.linalg.solve(homogeneous, np.broadcast_to(fixed, moved.shape))
    return torch.from_numpy(np.ascontiguousarray(solved.transpose(0, 2, 1)))


def elastic_transform(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Parameters (alpha, sigma, jitter) are pixels at the table's reference size and scale
    with the image; MNIST-C reads zeros past the border, the others reflect."""
    _n, _, height, width = images.shape
    factor = min(height, width) / ctx.reference_size
    alpha, sigma, jitter = (float(v) * factor for v in ctx.params)
    x = to_unit(images)
    # One draw per sample serves the displacement field and the jitter (each draw costs a
    # stream set-up per sample, which on small images is as much as the draw itself).
    values = ctx.random.uniform((2 * height * width + 6,), -1.0, 1.0)
    field = values[:, : 2 * height * width].reshape(-1, 2, height, width)
    shifts = values[:, 2 * height * width :].numpy().astype(np.float64).reshape(-1, 3, 2)
    inverses = _affine_inverses(shifts * jitter, height, width)
    x = warp_affine(x, inverses, border="zeros" if ctx.mnist_c else "mirror")
    field = gaussian_separable(field, sigma, mode="reflect", truncate=3.0) * alpha
    moved = displaced(x, field, border="zeros" if ctx.mnist_c else "reflect")
    return truncate_levels_(moved.mul_(255.0))
