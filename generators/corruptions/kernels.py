"""Blur kernels: the anti-aliased defocus disk and per-sample motion-blur streaks."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

__all__ = ["disk_kernel", "motion_kernels"]


@lru_cache(maxsize=64)
def disk_kernel(radius: float, alias_blur: float) -> torch.Tensor:
    """The references' defocus disk: a normalised disk on a 17 x 17 grid (wider for radii
    over 8), softened by OpenCV's Gaussian blur of size 3 (5 for wide disks)."""
    import cv2

    if radius <= 8:
        support, ksize = np.arange(-8, 8 + 1), 3
    else:
        support, ksize = np.arange(-radius, radius + 1), 5
    xx, yy = np.meshgrid(support, support)
    disk = np.array(xx**2 + yy**2 <= radius**2, dtype=np.float32)
    disk /= disk.sum()
    kernel = cv2.GaussianBlur(disk, ksize=(ksize, ksize), sigmaX=alias_blur)
    # Small disks sit in a mostly empty 17 x 17 grid; dropping the all-zero border rings
    # (symmetrically, so the kernel stays centred) shrinks the FFT without changing a value.
    ring = 0
    while ring < kernel.shape[0] // 2 and not (
        kernel[ring].any()
        or kernel[-ring - 1].any()
        or kernel[:, ring].any()
        or kernel[:, -ring - 1].any()
    ):
        ring += 1
    trimmed = kernel[ring : kernel.shape[0] - ring, ring : kernel.shape[1] - ring]
    return torch.from_numpy(np.ascontiguousarray(trimmed))


def motion_taps(
    angles: np.ndarray, radius: int, sigma: float, height: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The taps of a one-sided Gaussian streak per angle (degrees).

    The streak has ``2 * radius + 1`` taps weighted ``exp(-i^2 / (2 sigma^2))``
    (normalised); tap ``i`` reads the image ``i`` pixels back along the angle, rounded as
    imagecorruptions rounds it, and the streak stops at the first tap that would leave the
    image (later taps get weight 0). Returns the row and column offset each tap reads
    (``N x taps`` ints) and its weight (``N x taps``).
    """
    taps = 2 * radius + 1
    steps = np.arange(taps, dtype=np.float64)
    weights = np.exp(-(steps**2) / (2.0 * sigma**2))
    weights /= weights.sum()
    radians = np.deg2rad(np.asarray(angles, dtype=np.float64))
    point_y, point_x = taps * np.sin(radians), taps * np.cos(radians)
    hypot = np.hypot(point_y, point_x)
    dy = -np.ceil((steps[None, :] * point_y[:, None]) / hypot[:, None] - 0.5).astype(np.int64)
    dx = -np.ceil((steps[None, :] * point_x[:, None]) / hypot[:, None] - 0.5).astype(np.int64)
    inside = np.logical_and.accumulate((np.abs(dy) < height) & (np.abs(dx) < width), axis=1)
    # Tap i reads (r - dy, c - dx); taps past the stop read in place with weight 0.
    return np.where(inside, -dy, 0), np.where(inside, -dx, 0), np.where(inside, weights, 0.0)


def motion_kernels(
    angles: np.ndarray, radius: int, sigma: float, height: int, width: int
) -> tuple[torch.Tensor, int, int]:
    """:func:`motion_taps` as ``N x kh x kw`` float32 correlation kernels, with the (row,
    column) offset of their first element (see
    :func:`~generators.corruptions.fft_filter.correlate_at`), tight around the streaks."""
    read_r, read_c, weights = motion_taps(angles, radius, sigma, height, width)
    top, left = int(read_r.min()), int(read_c.min())
    shape = (len(read_r), int(read_r.max()) - top + 1, int(read_c.max()) - left + 1)
    kernels = np.zeros(shape, dtype=np.float64)
    sample = np.repeat(np.arange(len(read_r)), read_r.shape[1])
    np.add.at(kernels, (sample, (read_r - top).ravel(), (read_c - left).ravel()), weights.ravel())
    return torch.from_numpy(kernels.astype(np.float32)), top, left


def streak(
    x: torch.Tensor, angles: np.ndarray, radius: int, sigma: float, *, span: tuple[float, float]
) -> torch.Tensor:
    """Motion-blur ``N x C x H x W`` (edges repeated) with one streak per sample, by FFT.

    ``span`` is the (low, high) range the angles (degrees) are drawn from. The transform
    size and kernel placement depend only on that range and on the quadrant a sample's
    streak points into, never on the other samples of the chunk: batched FFTs of one size
    give every sample the same bits, but a box fitted to the whole chunk would change the
    rounding of a sample with the chunk it lands in. (Gathering the taps directly was
    measured slower even for 28 px gray images: the FFT's cost does not grow with the
    streak's 20 to 40 taps.)
    """
    from generators.corruptions.fft_filter import correlate_at

    height, width = x.shape[-2:]
    read_r, read_c, weights = motion_taps(angles, radius, sigma, height, width)
    # A tap lies within half a pixel of the ray, so the reads stay inside these extents.
    reach = 2 * radius
    extent_r = min(height - 1, int(np.ceil(reach * _max_abs(np.sin, span) + 0.5)))
    extent_c = min(width - 1, int(np.ceil(reach * _max_abs(np.cos, span) + 0.5)))
    # Quadrant of each streak: bit 1 set when it reads upwards, bit 0 when leftwards.
    quadrant = (read_r.sum(axis=1) < 0) * 2 + (read_c.sum(axis=1) < 0)
    out = torch.empty_like(x)
    for key in np.unique(quadrant):
        members = np.flatnonzero(quadrant == key)
        top = -extent_r if key >= 2 else 0
        left = -extent_c if key % 2 else 0
        shape = (len(members), extent_r + 1, extent_c + 1)
        # Taps that round onto the same pixel add up (bincount sums repeated indices).
        flat = np.ravel_multi_index(
            (
                np.repeat(np.arange(len(members)), read_r.shape[1]),
                (read_r[members] - top).ravel(),
                (read_c[members] - left).ravel(),
            ),
            shape,
        )
        kernels = np.bincount(flat, weights[members].ravel(), minlength=int(np.prod(shape)))
        kernels = kernels.reshape(shape)
        chosen = torch.from_numpy(members)
        out[chosen] = correlate_at(
            x[chosen], torch.from_numpy(kernels.astype(np.float32)), top, left, mode="nearest"
        )
    return out


def _max_abs(function: np.ufunc, span: tuple[float, float]) -> float:
    """The largest ``|function|`` (sin or cos) over an angle range in degrees: reached at
    an end or at a multiple of 90 degrees inside."""
    low, high = span
    inside = np.arange(np.ceil(low / 90.0), np.floor(high / 90.0) + 1) * 90.0
    candidates = np.deg2rad(np.concatenate(([low, high], inside)))
    return float(np.abs(function(candidates)).max())
