"""MNIST-C's overlays: a line, a dotted line, a zigzag and inverted side stripes.

MNIST-C draws on the 28 x 28 grid; other sizes are mapped onto that grid (pixel centres at
``j * 27 / (W - 1)``), so a 28 px image gets exactly MNIST-C's pattern and larger ones the
same pattern at their resolution. A line's brightness falls off with the vertical distance
``d`` from it as ``log(1 - d / 2.3) + 1``.
"""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import to_uint8, to_unit

__all__ = ["dotted_line", "line", "line_mask", "stripe", "zigzag"]

_GRID = 27.0  # MNIST-C's last pixel coordinate
_WIDTH = 2.3


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(height) * (_GRID / max(height - 1, 1))
    cols = np.arange(width) * (_GRID / max(width - 1, 1))
    return rows[:, None], cols[None, :]


def line_mask(c0: float, r0: float, c1: float, r1: float, height: int, width: int) -> np.ndarray:
    """MNIST-C's ``line_from_points`` on an ``height x width`` image (float64 in [0, 1])."""
    if c1 == c0:
        return np.zeros((height, width))
    rows, cols = _grid(height, width)
    slope = (r1 - r0) / (c1 - c0)
    distance = np.clip(np.abs(rows - (slope * (cols - c0) + r0)), 0, _WIDTH - 1e-10)
    mask = np.clip(np.log(1 - distance / _WIDTH) + 1, 0, 1)
    mask = np.where((cols < np.floor(c0)) | (cols >= np.ceil(c1)), 0.0, mask)
    return np.broadcast_to(mask, (height, width)).copy()


def _add(images: torch.Tensor, masks: np.ndarray) -> torch.Tensor:
    layer = torch.from_numpy(masks.astype(np.float32)).unsqueeze(1)
    return to_uint8(to_unit(images) + layer)


def line(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """A line from the left edge region (column 0-4) to the right (22-26)."""
    height, width = images.shape[-2:]
    masks = []
    for generator in ctx.random:
        c0 = int(generator.integers(0, 5))
        c1 = int(generator.integers(22, 27))
        r0, r1 = generator.integers(0, 27, size=2)
        masks.append(line_mask(c0, float(r0), c1, float(r1), height, width))
    return _add(images, np.stack(masks))


def dotted_line(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """A full-width line with every other pair of columns removed."""
    height, width = images.shape[-2:]
    _, cols = _grid(height, width)
    gaps = (np.floor(cols / 2) % 2 == 0).astype(np.float64)
    masks = []
    for generator in ctx.random:
        r0, r1 = generator.integers(0, 27, size=2)
        masks.append(line_mask(0, float(r0), _GRID, float(r1), height, width) * (1 - gaps))
    return _add(images, np.stack(masks))


def _zigzag_points(r0: float, r1: float) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-C's zigzag vertices (teeth 2 long and 2 high) along a line from column 2 to
    25, rows ``r0`` to ``r1``."""
    a = b = 2.0
    c0, c1 = 2, 25
    theta = np.arctan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / np.cos(theta)
    points = [(0.0, 0.0)]
    tooth = 0.0
    for index in range(int((length - a) // (2 * a)) + 1):
        tooth = (-1) ** index * b
        points.append(((2 * index + 1) * a, tooth))
    whole = (2 * a) * (length // (2 * a))
    if length != whole:
        points.append((length, tooth / (2 * (length - whole))))
    along, across = np.array(points).T
    cols = np.cos(theta) * along - np.sin(theta) * across + c0
    rows = np.sin(theta) * along + np.cos(theta) * across + r0
    return cols, rows


def zigzag(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    height, width = images.shape[-2:]
    x = to_unit(images).numpy().astype(np.float64)
    for sample, generator in enumerate(ctx.random):
        r0 = int(generator.integers(0, 27))
        r1 = r0 + int(generator.integers(-5, 5))
        cols, rows = _zigzag_points(float(r0), float(r1))
        picture = x[sample]
        for index in range(1, len(cols)):
            mask = line_mask(cols[index - 1], rows[index - 1], cols[index], rows[index],
                             height, width)  # fmt: skip
            picture = np.clip(picture + mask, 0, 1)
        x[sample] = picture
    return to_uint8(torch.from_numpy(x.astype(np.float32)))


def stripe(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Invert the left and right quarters (MNIST-C: columns 0-6 and 21-27)."""
    width = images.shape[-1]
    cols = torch.arange(width)
    outer = (cols * 28 < 7 * width) | (cols * 28 >= 21 * width)
    return torch.where(outer, 255 - images, images)
