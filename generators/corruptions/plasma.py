"""Plasma fractal (diamond-square) height maps for fog, a batch at a time.

The same construction as the references (which adapt FLHerne's mapgen): a periodic map of
side ``mapsize`` (a power of two) refined by alternating square and diamond steps, each new
point the mean of its four neighbours plus uniform noise of amplitude ``wibble**2``, the
wibble divided by ``wibble_decay`` per level; finally scaled to [0, 1]. Every sample draws
its noise from its own stream, and the map is cropped to the image before it is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from generators.corruptions.seeding import SampleRandomness

__all__ = ["plasma_fractal"]

# Map values per refinement pass: bounds memory for large maps (MNIST-C draws 256 x 256
# maps for 28 px images) while small maps go through in one pass.
_VALUES_PER_PASS = 1 << 22


def _refine(noise: np.ndarray, mapsize: int, wibble_decay: float) -> np.ndarray:
    """Run diamond-square on ``n`` maps at once, consuming ``noise`` (``n x mapsize^2``)."""
    n = noise.shape[0]
    maps = np.zeros((n, mapsize, mapsize), dtype=np.float64)
    step, wibble, used = mapsize, 100.0, 0

    def jitter(shape: tuple[int, ...]) -> np.ndarray:
        nonlocal used
        count = int(np.prod(shape[1:]))
        values = noise[:, used : used + count].reshape(shape)
        used += count
        return values * (wibble * wibble)

    while step >= 2:
        half = step // 2
        corners = maps[:, 0:mapsize:step, 0:mapsize:step]
        squares = corners + np.roll(corners, -1, axis=1)
        squares = squares + np.roll(squares, -1, axis=2)
        maps[:, half:mapsize:step, half:mapsize:step] = squares / 4 + jitter(squares.shape)
        centres = maps[:, half:mapsize:step, half:mapsize:step]
        corners = maps[:, 0:mapsize:step, 0:mapsize:step]
        left = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        maps[:, 0:mapsize:step, half:mapsize:step] = left / 4 + jitter(left.shape)
        top = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        maps[:, half:mapsize:step, 0:mapsize:step] = top / 4 + jitter(top.shape)
        step //= 2
        wibble /= wibble_decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def plasma_fractal(
    random: SampleRandomness,
    *,
    mapsize: int,
    wibble_decay: float,
    height: int,
    width: int,
) -> np.ndarray:
    """One ``height x width`` crop (top-left, as the references take it) of a fresh plasma
    map per sample; float64 ``N x height x width`` in [0, 1]."""
    if mapsize & (mapsize - 1) or mapsize < max(height, width):
        raise ValueError(f"mapsize must be a power of two >= the image side, got {mapsize}")
    out = np.empty((len(random), height, width), dtype=np.float64)
    start = 0
    for part in random.split(max(1, _VALUES_PER_PASS // (mapsize * mapsize))):
        noise = part.uniform64((mapsize * mapsize - 1,), -1.0, 1.0)
        out[start : start + len(part)] = _refine(noise, mapsize, wibble_decay)[:, :height, :width]
        start += len(part)
    return out
