"""MNIST-C's affine corruptions: shear, rotate, scale and translate.

MNIST-C builds scikit-image ``AffineTransform`` maps (with the library's 2018 convention,
``[[sx cos r, -sy sin(r + shear)], [sx sin r, sy cos(r + shear)]]``), uses them as the
inverse map of ``warp`` (output pixel -> source pixel, bilinear, zeros outside) and, for
all but translation, adds the shift that keeps the image centre in place.
"""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import to_uint8, to_unit
from generators.corruptions.warping import affine_source_grid, sample_at

__all__ = ["rotate", "scale", "shear", "translate"]


def _random_signs(ctx: CorruptionContext, count: int) -> np.ndarray:
    """``N x count`` of -1 / +1 (MNIST-C's ``np.random.choice([-1, 1])``)."""
    return ctx.random.integers(0, 2, (count,)).numpy() * 2 - 1


def _centred(linear: np.ndarray, height: int, width: int) -> np.ndarray:
    """``N x 2 x 3`` maps whose linear parts keep the image centre fixed."""
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    shift = centre - np.einsum("nij,j->ni", linear, centre)
    return np.concatenate([linear, shift[..., None]], axis=2)


def _warp(images: torch.Tensor, maps: np.ndarray) -> torch.Tensor:
    height, width = images.shape[-2:]
    rows, cols = affine_source_grid(torch.from_numpy(maps), height, width)
    return to_uint8(sample_at(to_unit(images), rows, cols, border="zeros"))


def shear(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    angle = ctx.params * _random_signs(ctx, 1)[:, 0]
    linear = np.zeros((len(angle), 2, 2))
    linear[:, 0, 0] = 1.0
    linear[:, 0, 1] = -np.sin(angle)
    linear[:, 1, 1] = np.cos(angle)
    return _warp(images, _centred(linear, *images.shape[-2:]))


def rotate(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    angle = ctx.params * _random_signs(ctx, 1)[:, 0]
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], axis=1)
    return _warp(images, _centred(linear, *images.shape[-2:]))


def scale(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """The map reads the source ``c`` times further from the centre: content shrinks."""
    linear = np.broadcast_to(np.eye(2) * ctx.params, (images.shape[0], 2, 2))
    return _warp(images, _centred(np.array(linear), *images.shape[-2:]))


def translate(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Shift by ``c`` pixels at 28 px (scaled with the image) in a random diagonal."""
    height, width = images.shape[-2:]
    signs = _random_signs(ctx, 2)
    step = (ctx.params * width / ctx.reference_size, ctx.params * height / ctx.reference_size)
    maps = np.zeros((images.shape[0], 2, 3))
    maps[:, 0, 0] = maps[:, 1, 1] = 1.0
    maps[:, 0, 2] = step[0] * signs[:, 0]
    maps[:, 1, 2] = step[1] * signs[:, 1]
    return _warp(images, maps)
