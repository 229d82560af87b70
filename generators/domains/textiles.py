"""Textile domains: the object stitched into cloth.

Cross-stitch renders the object on the cloth's own grid, one X of thread per cell that
the object covers, on an even-weave fabric with its holes. Pixelation averages the same
picture into blocks; here each block becomes a stitch of coloured thread with its own
sheen, on a woven ground, and uncovered cells show bare fabric.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import gaussian_blur
from generators.domains.textures import rgb, value_noise

__all__ = ["THREAD_COLOURS", "cross_stitch"]

#: Embroidery threads a sampler picks from, per sample.
THREAD_COLOURS = (
    (0.75, 0.08, 0.12),
    (0.1, 0.18, 0.5),
    (0.1, 0.4, 0.2),
    (0.12, 0.1, 0.1),
    (0.5, 0.15, 0.45),
)


def cross_stitch(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Counted cross-stitch on Aida cloth: an X of thread in every grid cell the object
    covers.

    Unlike pixelation, each covered cell becomes a stitch of thread on woven cloth.

    Strength sets the stitch size (one image pixel at 0 to three digit pixels at 1). Per
    sample: thread colour, the grid's phase, the fabric's slubs.
    """
    n = len(canvas)
    u = canvas.unit
    h, w = canvas.size
    cell = max(1.0, lerp(1.0, 3.0, strength) * u)
    phase = rng.uniform((2,), 0.0, cell)
    ys = torch.arange(h, dtype=torch.float32).view(1, -1, 1) + 0.5 + phase[:, 0].view(-1, 1, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, -1) + 0.5 + phase[:, 1].view(-1, 1, 1)
    fy, fx = ys / cell, xs / cell
    cy, cx = fy.floor(), fx.floor()
    # each cell's coverage: the blurred ink sampled at the cell centre
    centre_y = (cy + 0.5) * cell - phase[:, 0].view(-1, 1, 1)
    centre_x = (cx + 0.5) * cell - phase[:, 1].view(-1, 1, 1)
    grid = torch.stack(
        (centre_x.expand(n, h, w) / w * 2 - 1, centre_y.expand(n, h, w) / h * 2 - 1), dim=-1
    )
    cover = F.grid_sample(
        gaussian_blur(canvas.ink, cell / 3),
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
    stitched = (cover > 0.3).float()
    ly, lx = (fy - cy).unsqueeze(1), (fx - cx).unsqueeze(1)
    # each arm of the X is a band around one of the cell's diagonals: fully covered within
    # half a canvas pixel of it, fading out over the next fifth of a cell
    core = 0.5 / cell
    ramp = max(0.2, core)
    arm_a = ((core + 0.2 - (ly - lx).abs() / math.sqrt(2.0)) / ramp).clamp(0, 1)
    arm_b = ((core + 0.2 - (ly + lx - 1).abs() / math.sqrt(2.0)) / ramp).clamp(0, 1)
    cross = torch.maximum(arm_a, arm_b)
    # thread sheen: brighter at the middle of the X, where it lies on top
    sheen = 1.0 - 0.35 * (((ly - 0.5) ** 2 + (lx - 0.5) ** 2) * 2)
    palette = torch.tensor(THREAD_COLOURS, dtype=torch.float32)
    thread = palette[rng.choice(len(THREAD_COLOURS))].view(-1, 3, 1, 1)
    # the weave's holes at the grid's nodes (every cell corner)
    corner = torch.sqrt(torch.minimum(ly, 1 - ly) ** 2 + torch.minimum(lx, 1 - lx) ** 2)
    holes = ((0.18 - corner).clamp_min(0) / 0.18).clamp(0, 1)
    slubs = value_noise(rng, (h, w), 0.8 * u, cell_x=5 * u)
    fabric = rgb((0.93, 0.91, 0.84)) * (0.92 + 0.1 * slubs)
    fabric = over(fabric, rgb((0.6, 0.58, 0.52)), holes * min(1.0, cell / 4))
    out = over(fabric, thread * sheen, cross * stitched)
    return out
