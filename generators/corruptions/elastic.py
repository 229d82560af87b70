"""Elastic transform: a random affine jitter of three points, then a smooth random
displacement field (ImageNet-C's version, as CIFAR-10-C and MNIST-C use it)."""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.linear_operators import apply_separable, gaussian_matrix
from generators.corruptions.pixels import to_uint8, to_unit
from generators.corruptions.warping import affine_source_grid, sample_at

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
    shifts = ctx.random.uniform64((3, 2), -jitter, jitter).astype(np.float32)
    rows, cols = affine_source_grid(_affine_inverses(shifts, height, width), height, width)
    x = sample_at(x, rows, cols, border="zeros" if ctx.mnist_c else "mirror")

    field = ctx.random.uniform((2, height, width), -1.0, 1.0)
    smooth_rows = gaussian_matrix(height, sigma, mode="reflect", truncate=3.0)
    smooth_cols = gaussian_matrix(width, sigma, mode="reflect", truncate=3.0)
    field = apply_separable(field, smooth_rows, smooth_cols) * alpha
    grid_r, grid_c = torch.meshgrid(
        torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
        indexing="ij",
    )  # fmt: skip
    x = sample_at(
        x, grid_r + field[:, 1], grid_c + field[:, 0], border="zeros" if ctx.mnist_c else "reflect"
    )
    return to_uint8(x)
