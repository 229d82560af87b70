"""Frost textures made in code.

ImageNet-C overlays photographs of frosted glass; those photos are not ours to ship, so
the textures here are drawn: a fractal haze under feather-like ice dendrites (a stem with
alternating side branches, recursively), drawn supersampled and softened. Each of the five
textures then gets the per-channel mean and standard deviation of one of the five
photographs the reference samples from (numbers measured from them, listed below), so the
frost corruption brightens and tints an image as the original does. Textures depend only
on fixed seeds; they are built on first use and cached per process, and their rescaled
versions per image size.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numpy as np
import torch

__all__ = ["FROST_TEXTURE_STATS", "frost_texture", "texture_count"]

#: (rows, cols, RGB mean, RGB std) of the five reference photographs the references draw
#: from (frost1..frost5 of imagecorruptions 1.1.2; frost2 and frost3 are the same photo).
FROST_TEXTURE_STATS = (
    (600, 900, (77.7, 149.1, 165.7), (26.9, 16.5, 15.3)),
    (315, 560, (200.8, 205.4, 214.5), (21.4, 22.1, 22.6)),
    (315, 560, (200.8, 205.4, 214.5), (21.4, 22.1, 22.6)),
    (350, 527, (137.6, 152.8, 165.2), (28.5, 28.5, 29.9)),
    (495, 660, (112.4, 123.4, 134.8), (44.4, 43.3, 41.7)),
)

_SEED = 20_190_327  # fixed: the textures are part of the corruption's definition
_SUPERSAMPLE = 2


def texture_count() -> int:
    return len(FROST_TEXTURE_STATS)


def _haze(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Sum of bilinearly upsampled random grids, coarse octaves weighted most."""
    from PIL import Image

    haze = np.zeros((rows, cols), dtype=np.float64)
    for octave in range(6):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, max(2, cells * cols // rows))).astype(np.float32)
        layer = Image.fromarray(grid).resize((cols, rows), Image.Resampling.BICUBIC)
        haze += np.asarray(layer, dtype=np.float64) * 0.6**octave
    haze -= haze.min()
    return haze / max(haze.max(), 1e-12)


def _dendrite(
    draw: object,
    rng: np.random.Generator,
    x: float,
    y: float,
    angle: float,
    length: float,
    depth: int,
    brightness: int,
) -> None:
    """A slightly wandering stem with alternating side branches, drawn as a polyline."""
    segments = max(2, int(length / 3))
    step = length / segments
    points = [(x, y)]
    for index in range(segments):
        angle += rng.normal(0.0, 0.06)
        x += step * math.cos(angle)
        y += step * math.sin(angle)
        points.append((x, y))
        if depth > 0 and index % 2 == 1 and index < segments - 1:
            side = 1.0 if (index // 2) % 2 == 0 else -1.0
            branch = length * (1.0 - index / segments) * rng.uniform(0.3, 0.55)
            if branch > 2 * _SUPERSAMPLE:
                spread = side * rng.uniform(0.8, 1.2)
                _dendrite(draw, rng, x, y, angle + spread, branch, depth - 1, brightness)
    draw.line(points, fill=brightness, width=1)  # type: ignore[attr-defined]


def _structure(index: int, rows: int, cols: int) -> np.ndarray:
    """Gray frost structure in [0, 1] for texture ``index``."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng([_SEED, index])
    big_rows, big_cols = rows * _SUPERSAMPLE, cols * _SUPERSAMPLE
    crystals = Image.new("L", (big_cols, big_rows), 0)
    draw = ImageDraw.Draw(crystals)
    count = int(rows * cols / 260)
    for _ in range(count):
        _dendrite(
            draw,
            rng,
            rng.uniform(0, big_cols),
            rng.uniform(0, big_rows),
            rng.uniform(0, 2 * math.pi),
            rng.uniform(10, 40) * _SUPERSAMPLE,
            depth=2,
            brightness=int(rng.integers(120, 256)),
        )
    crystals = crystals.filter(ImageFilter.GaussianBlur(0.6 * _SUPERSAMPLE))
    crystals = crystals.resize((cols, rows), Image.Resampling.BOX)
    lines = np.asarray(crystals, dtype=np.float64) / 255.0
    haze = _haze(rng, rows, cols)
    return 0.55 * haze + lines * (0.5 + 0.5 * haze)


@cache
def _base_texture(index: int) -> np.ndarray:
    rows, cols, mean, std = FROST_TEXTURE_STATS[index]
    structure = _structure(index, rows, cols)
    standard = (structure - structure.mean()) / structure.std()
    rgb = standard[..., None] * np.asarray(std) + np.asarray(mean)
    return np.clip(rgb, 0, 255).astype(np.float32)


@lru_cache(maxsize=64)
def frost_texture(index: int, scale: float) -> torch.Tensor:
    """Texture ``index`` resized by ``scale``: float32 ``3 x rows x cols`` in 0..255."""
    base = torch.from_numpy(_base_texture(index)).permute(2, 0, 1).unsqueeze(0)
    if scale == 1.0:
        return base[0].contiguous()
    size = (max(1, round(base.shape[-2] * scale)), max(1, round(base.shape[-1] * scale)))
    resized = torch.nn.functional.interpolate(
        base, size=size, mode="bilinear", align_corners=False, antialias=scale < 1.0
    )
    return resized[0].clamp(0, 255).contiguous()
