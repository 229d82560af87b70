"""Blurs: Gaussian, defocus (disk), motion (a streak at a random angle) and zoom."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.fft_filter import correlate2d
from generators.corruptions.kernels import disk_kernel, streak
from generators.corruptions.linear_operators import apply_dense, clipped_zoom, zoom_matrix
from generators.corruptions.pixels import to_uint8, to_unit, truncate_levels_
from generators.corruptions.separable_filter import gaussian_separable

__all__ = ["defocus_blur", "gaussian_blur", "gaussian_filter", "motion_blur", "zoom_blur"]


def gaussian_filter(x: torch.Tensor, sigma: float, *, rows_only: bool = False) -> torch.Tensor:
    """scikit-image's ``gaussian`` (edge-repeating borders) over the last two axes.

    ``rows_only`` reproduces MNIST-C: its 2-D digits went through ``gaussian(...,
    multichannel=True)``, which took the last axis for colour and blurred only vertically.
    """
    return gaussian_separable(x, sigma, rows_only=rows_only)


def gaussian_blur(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    rows_only = ctx.mnist_c and images.shape[1] == 1
    blurred = gaussian_filter(to_unit(images), ctx.params, rows_only=rows_only)
    return truncate_levels_(blurred.mul_(255.0))


def defocus_blur(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Correlate with the anti-aliased disk, mirroring borders (OpenCV's ``filter2D``).

    Up to 28 x 28 px the blur is one dense (H W) x (H W) matrix product (MNIST digits: 15
    against 24 us per image by FFT); from 32 x 32 px the FFT is faster (58 against 107 us
    per RGB image), and its cost grows far slower with the side.
    """
    radius, alias_blur = ctx.params
    height, width = images.shape[-2:]
    x = to_unit(images)
    if height * width <= _DENSE_DEFOCUS_PIXELS:
        operator = _defocus_operator(height, width, float(radius), float(alias_blur))
        blurred = apply_dense(x.reshape(*x.shape[:2], height * width), operator).reshape(x.shape)
    else:
        blurred = correlate2d(x, disk_kernel(radius, alias_blur), mode="mirror")
    return truncate_levels_(blurred.mul_(255.0))


_DENSE_DEFOCUS_PIXELS = 28 * 28


@lru_cache(maxsize=16)
def _defocus_operator(height: int, width: int, radius: float, alias_blur: float) -> torch.Tensor:
    """The defocus blur of small images as one matrix: row j is the blur of pixel j."""
    basis = torch.eye(height * width).reshape(-1, 1, height, width)
    blurred = correlate2d(basis, disk_kernel(radius, alias_blur), mode="mirror")
    return blurred.reshape(height * width, height * width).contiguous()


_MOTION_SPAN = (-45.0, 45.0)


def motion_blur(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """imagecorruptions' motion blur (its replacement for ImageMagick's), angle in +-45
    degrees per sample, edges repeated."""
    radius, sigma = ctx.params
    angles = ctx.random.uniform64((), *_MOTION_SPAN)
    blurred = streak(images.to(torch.float32), angles, radius, sigma, span=_MOTION_SPAN)
    return truncate_levels_(blurred)


def zoom_blur(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Average the image with centre zooms by ``numpy.arange(1, stop, step)``."""
    stop, step = ctx.params
    height, width = images.shape[-2:]
    x = to_unit(images)
    if height * width <= _DENSE_PIXELS:
        operator = _zoom_blur_operator(height, width, float(stop), float(step))
        flat = apply_dense(x.reshape(*x.shape[:2], height * width), operator.T)
        return to_uint8(flat.reshape(x.shape))
    factors = np.arange(1, stop, step)
    total = x.clone()
    for factor in factors:
        total += clipped_zoom(x, float(factor))
    return to_uint8(total / (len(factors) + 1))


# Up to 32 x 32 px the whole zoom blur, a fixed linear map, is one (H W) x (H W) matrix:
# one matrix product replaces a dozen resizes and their per-call overhead.
_DENSE_PIXELS = 32 * 32


@lru_cache(maxsize=16)
def _zoom_blur_operator(height: int, width: int, stop: float, step: float) -> torch.Tensor:
    factors = np.arange(1, stop, step)
    total = np.eye(height * width)
    for factor in factors:
        rows = zoom_matrix(height, float(factor)).double().numpy()
        cols = zoom_matrix(width, float(factor)).double().numpy()
        total += np.kron(rows, cols)
    return torch.from_numpy((total / (len(factors) + 1)).astype(np.float32))
