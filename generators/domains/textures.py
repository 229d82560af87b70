"""Procedural surfaces the domains draw on: paper, boards, walls, fabric, wood, metal, sand.

Each texture is built from per-sample seeded noise at a scale given in digit pixels
(``unit``), so a surface looks the same at any image size. They return ``N x 3 x h x w``
RGB (or ``N x 1`` for scalar fields) in ``[0, 1]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generators.domains.randomness import DomainRandomness

__all__ = [
    "brick_wall",
    "brushed_metal",
    "colour",
    "paper",
    "rgb",
    "ruled_paper",
    "sand",
    "twill",
    "value_noise",
    "white_noise",
    "wood",
]


def rgb(values: tuple[float, float, float]) -> torch.Tensor:
    """A colour as ``1 x 3 x 1 x 1`` for broadcasting."""
    return torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1)


def colour(field: torch.Tensor, base: tuple[float, float, float], amount: float) -> torch.Tensor:
    """``base`` modulated by a ``N x 1`` field in ``[0, 1]`` (``amount``: the swing)."""
    return (rgb(base) * (1.0 + amount * (field - 0.5))).clamp(0.0, 1.0)


def value_noise(
    rng: DomainRandomness, size: tuple[int, int], cell: float, *, cell_x: float | None = None
) -> torch.Tensor:
    """Smooth noise ``N x 1 x h x w`` in about ``[0, 1]``: a random lattice every ``cell``
    pixels (``cell_x`` across, when given) interpolated bicubically."""
    h, w = size
    cell_x = cell if cell_x is None else cell_x
    rows = max(2, math.ceil(h / max(cell, 1.0)) + 3)
    cols = max(2, math.ceil(w / max(cell_x, 1.0)) + 3)
    lattice = rng.uniform((1, rows, cols))
    big = F.interpolate(
        lattice,
        size=(round(rows * max(cell, 1.0)), round(cols * max(cell_x, 1.0))),
        mode="bicubic",
        align_corners=False,
    )
    top = (big.shape[2] - h) // 2
    left = (big.shape[3] - w) // 2
    return big[:, :, top : top + h, left : left + w].clamp(0.0, 1.0)


def white_noise(rng: DomainRandomness, size: tuple[int, int]) -> torch.Tensor:
    """Independent uniform values per canvas pixel, ``N x 1 x h x w``."""
    return rng.uniform((1, *size))


def _grid(size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(size[0], dtype=torch.float32).view(1, 1, -1, 1)
    xs = torch.arange(size[1], dtype=torch.float32).view(1, 1, 1, -1)
    return ys, xs


def paper(
    rng: DomainRandomness,
    size: tuple[int, int],
    unit: float,
    base: tuple[float, float, float] = (0.94, 0.92, 0.86),
) -> torch.Tensor:
    """Off-white paper: soft blotches plus fine fibre grain."""
    blotches = value_noise(rng, size, 9.0 * unit)
    fibres = value_noise(rng, size, 0.8 * unit, cell_x=3.0 * unit)
    field = 0.6 * blotches + 0.4 * fibres
    return colour(field, base, 0.08)


def ruled_paper(
    rng: DomainRandomness, size: tuple[int, int], unit: float, base: tuple[float, float, float]
) -> torch.Tensor:
    """Paper with faint horizontal ruling every ~5 digit pixels at a random phase."""
    surface = paper(rng, size, unit, base)
    ys, _ = _grid(size)
    period = 5.0 * unit
    phase = rng.uniform((1, 1, 1), 0.0, period)
    distance = torch.remainder(ys + phase, period)
    line = (0.6 * unit + 0.5 - (distance - period / 2).abs()).clamp(0.0, 1.0)
    ink = rgb((0.45, 0.62, 0.85))
    return surface * (1 - 0.5 * line) + ink * 0.5 * line


def brick_wall(rng: DomainRandomness, size: tuple[int, int], unit: float) -> torch.Tensor:
    """Running-bond brickwork with mortar joints and per-brick colour."""
    h, w = size
    ys, xs = _grid(size)
    course = 6.0 * unit
    length = 13.0 * unit
    offset = rng.uniform((1, 1, 1), 0.0, length)
    row = torch.floor((ys + offset * 0.37) / course)
    shifted = xs + offset + (torch.remainder(row, 2.0)) * length / 2
    col = torch.floor(shifted / length)
    joint_y = torch.remainder(ys + offset * 0.37, course)
    joint_x = torch.remainder(shifted, length)
    mortar_width = 0.9 * unit
    mortar = torch.maximum(
        (mortar_width - joint_y).clamp(0.0, 1.0), (mortar_width - joint_x).clamp(0.0, 1.0)
    )
    # a brick's tone from a hash of its (row, column), drawn per sample through a table
    table = rng.uniform((64,))
    brick_id = torch.remainder(row * 7 + col * 13, 64).long().expand(len(rng), 1, h, w)
    tone = torch.gather(table.view(-1, 1, 1, 64).expand(-1, 1, h, 64), 3, brick_id)
    grain = value_noise(rng, size, 1.2 * unit)
    brick = rgb((0.55, 0.24, 0.17)) * (0.8 + 0.3 * tone) * (0.88 + 0.24 * grain)
    joint = rgb((0.42, 0.41, 0.39)) * (0.9 + 0.2 * grain)
    return (brick * (1 - mortar) + joint * mortar).clamp(0.0, 1.0)


def twill(rng: DomainRandomness, size: tuple[int, int], unit: float) -> torch.Tensor:
    """Denim: a diagonal twill weave in indigo with faded patches."""
    ys, xs = _grid(size)
    period = 1.6 * unit
    phase = rng.uniform((1, 1, 1), 0.0, period)
    weave = 0.5 + 0.5 * torch.sin(2 * math.pi * (xs + 0.5 * ys + phase) / period)
    fade = value_noise(rng, size, 8.0 * unit)
    slub = value_noise(rng, size, 0.7 * unit, cell_x=4.0 * unit)
    indigo = rgb((0.16, 0.26, 0.48))
    white = rgb((0.78, 0.82, 0.88))
    mix = (0.25 * weave + 0.35 * fade + 0.2 * slub).clamp(0.0, 1.0)
    return indigo * (1 - mix) + white * mix


def wood(
    rng: DomainRandomness,
    size: tuple[int, int],
    unit: float,
    base: tuple[float, float, float] = (0.72, 0.52, 0.32),
) -> torch.Tensor:
    """Plank-cut wood: growth rings from a centre off the canvas, warped by noise."""
    ys, xs = _grid(size)
    h, w = size
    angle = rng.uniform((1, 1, 1), 0.0, 2 * math.pi)
    reach = 3.0 * max(h, w)
    cy = h / 2 + reach * torch.sin(angle)
    cx = w / 2 + reach * torch.cos(angle)
    radius = torch.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
    warp = value_noise(rng, size, 10.0 * unit)
    period = 3.2 * unit
    rings = 0.5 + 0.5 * torch.sin(2 * math.pi * (radius + 6.0 * unit * warp) / period)
    streaks = value_noise(rng, size, 0.6 * unit, cell_x=6.0 * unit)
    field = (0.6 * rings**3 + 0.4 * streaks).clamp(0.0, 1.0)
    return colour(field, base, 0.35)


def brushed_metal(rng: DomainRandomness, size: tuple[int, int], unit: float) -> torch.Tensor:
    """Brushed steel: fine horizontal streaks over a soft sheen."""
    streaks = value_noise(rng, size, 0.5 * unit, cell_x=12.0 * unit)
    sheen = value_noise(rng, size, 14.0 * unit)
    field = 0.55 * streaks + 0.45 * sheen
    return colour(field, (0.66, 0.68, 0.71), 0.35)


def sand(rng: DomainRandomness, size: tuple[int, int], unit: float) -> torch.Tensor:
    """Beach sand: wind ripples under fine grain."""
    ys, xs = _grid(size)
    warp = value_noise(rng, size, 8.0 * unit)
    period = 4.5 * unit
    angle = rng.uniform((1, 1, 1), -0.5, 0.5)
    along = ys * torch.cos(angle) + xs * torch.sin(angle)
    ripples = 0.5 + 0.5 * torch.sin(2 * math.pi * (along + 4.0 * unit * warp) / period)
    grain = white_noise(rng, size)
    field = (0.45 * ripples + 0.55 * grain).clamp(0.0, 1.0)
    return colour(field, (0.84, 0.74, 0.55), 0.3)
