"""Paint domains: the object lettered with a tool that shapes the stroke itself.

A stencil cuts the shape with bridges that hold its islands, then spray paint fogs past
its edges onto a wall; a broad calligraphy nib turns one centre line into thick and thin
strokes by its angle. These change the letterform, which no corruption does: blur and
elastic warps move the same ink around, they never cut bridges or re-stroke a line.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import (
    bounding_boxes,
    gaussian_blur,
    line_band,
    skeleton,
    soft_mask,
)
from generators.domains.textures import brick_wall, paper, rgb, white_noise

__all__ = ["SPRAY_COLOURS", "calligraphy", "graffiti_stencil"]

#: Spray-can colours a stencil picks from, per sample; all far in luminance from brick, so
#: the shape survives conversion to grey.
SPRAY_COLOURS = (
    (0.06, 0.06, 0.07),
    (0.96, 0.96, 0.94),
    (1.0, 0.82, 0.1),
    (0.4, 0.75, 1.0),
    (1.0, 0.6, 0.1),
)


def _shift(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Translate without wrapping (zeros come in)."""
    h, w = x.shape[2:]
    padded = F.pad(x, (abs(cols), abs(cols), abs(rows), abs(rows)))
    top, left = abs(rows) - rows, abs(cols) - cols
    return padded[:, :, top : top + h, left : left + w]


def graffiti_stencil(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Stencil graffiti: the shape cut with bridges across its strokes, spray-painted on
    brickwork with a soft overspray and speckles.

    Unlike spatter, the letterform is cut with bridges and painted onto a wall.

    Strength sets the bridges' width and the overspray. Per sample: paint colour, the
    wall, the speckles.
    """
    u = canvas.unit
    h, w = canvas.size
    mask = soft_mask(canvas.ink, 0.4)
    reach = max(1, round(1.8 * u))
    box = bounding_boxes(canvas.ink).view(-1, 4, 1, 1)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1) + 0.5
    bridge = lerp(0.0, 2.2, strength) * u
    # a bridge only where a stroke runs across its line, never along it
    crosses_row = _shift(mask, reach, 0) * _shift(mask, -reach, 0)
    crosses_col = _shift(mask, 0, reach) * _shift(mask, 0, -reach)
    cut = torch.zeros_like(mask)
    for share in (1 / 3, 2 / 3):
        row = box[:, 0:1] + share * (box[:, 1:2] - box[:, 0:1])
        cut = torch.maximum(cut, line_band(ys, row, bridge) * crosses_row)
    column = (box[:, 2:3] + box[:, 3:4]) / 2
    cut = torch.maximum(cut, line_band(xs, column, bridge) * crosses_col)
    sprayed = mask * (1 - cut)
    overspray = gaussian_blur(sprayed, lerp(0.3, 1.1, strength) * u)
    speckle = (white_noise(rng, (h, w)) > 0.93).float() * gaussian_blur(sprayed, 2.2 * u)
    coverage = torch.maximum(sprayed, 0.6 * overspray + lerp(0.0, 0.8, strength) * speckle).clamp(
        0, 1
    )
    palette = torch.tensor(SPRAY_COLOURS, dtype=torch.float32)
    colour = palette[rng.choice(len(SPRAY_COLOURS))].view(-1, 3, 1, 1)
    wall = brick_wall(rng, (h, w), u)
    # paint takes on the wall's relief: darker in the mortar and the pits
    relief = 0.75 + 0.25 * wall.mean(dim=1, keepdim=True) / 0.35
    return over(wall, (colour * relief).clamp(0, 1), coverage)


def _nib(length: float, width: float, angle: float) -> torch.Tensor:
    """The footprint of a broad nib: an anti-aliased bar ``length`` long at ``angle``."""
    radius = math.ceil(length / 2 + width)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    ys, xs = taps.view(-1, 1), taps.view(1, -1)
    along = (xs * math.cos(angle) - ys * math.sin(angle)).abs()
    across = (xs * math.sin(angle) + ys * math.cos(angle)).abs()
    return (length / 2 + 0.5 - along).clamp(0, 1) * (width / 2 + 0.5 - across).clamp(0, 1)


#: Nib angles (degrees) a calligrapher holds, per sample.
_NIB_ANGLES = (30.0, 38.0, 45.0, 52.0)


def calligraphy(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Broad-nib calligraphy in black ink on rice paper: one centre line traced by a flat
    nib, thick where it moves across the nib and hairline where it moves along it.

    Unlike blur or elastic warps, the centre line is re-stroked with a new weight profile.

    Strength sets the nib's breadth (a round pen at 0). Per sample: the nib angle, the
    paper.
    """
    u = canvas.unit
    centre = skeleton(canvas.ink, threshold=0.4)
    length = lerp(0.8, 4.4, strength) * u
    width = max(1.0, 0.7 * u)
    angles = rng.choice(len(_NIB_ANGLES))
    coverage = torch.zeros_like(centre)
    for code, degrees in enumerate(_NIB_ANGLES):
        chosen = angles == code
        if not chosen.any():
            continue
        kernel = _nib(length, width, math.radians(degrees))
        pad = kernel.shape[0] // 2
        coverage[chosen] = F.conv2d(
            centre[chosen], kernel.view(1, 1, *kernel.shape), padding=pad
        ).clamp(0, 1)
    coverage = gaussian_blur(coverage, 0.3 * u).clamp(0, 1)
    sheet = paper(rng, canvas.size, u, (0.95, 0.92, 0.84))
    ink = rgb((0.04, 0.04, 0.07))
    return over(sheet, ink, coverage)
