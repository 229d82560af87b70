"""Dry-media domains: the object drawn in chalk, graphite or wax on a textured surface.

A dry medium catches only the peaks of its surface, so its stroke is broken by the
surface's grain, its edges are ragged and it sheds dust around itself. Noise corruptions
add sensor noise everywhere in the frame; here the grain belongs to the material: it lives
inside the strokes, follows the surface's tooth and comes with a new surface and colour.
"""

from __future__ import annotations

import torch

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import gaussian_blur, soft_mask
from generators.domains.textures import paper, rgb, value_noise, white_noise

__all__ = ["CRAYON_COLOURS", "chalkboard", "crayon", "pencil"]

#: Wax colours a crayon drawing picks from, per sample.
CRAYON_COLOURS = (
    (0.85, 0.18, 0.15),
    (0.15, 0.35, 0.8),
    (0.18, 0.6, 0.25),
    (0.55, 0.25, 0.65),
    (0.95, 0.5, 0.1),
)


def _grainy_stroke(
    canvas: Canvas, rng: DomainRandomness, *, grain: float, gaps: float, ragged: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Coverage of a dry stroke and the surface's tooth field.

    ``grain``: tooth size in digit pixels; ``gaps``: 0..1, how much of the stroke the
    tooth's valleys leave bare; ``ragged``: edge roughness in ink levels.
    """
    u = canvas.unit
    size = canvas.size
    edge_noise = value_noise(rng, size, 1.2 * u)
    mask = soft_mask((canvas.ink + ragged * (edge_noise - 0.5)).clamp(0.0, 1.0), 0.42, 0.2)
    tooth = gaussian_blur(white_noise(rng, size), grain * u * 0.5)
    tooth = (tooth - tooth.mean(dim=(2, 3), keepdim=True)) / tooth.std(
        dim=(2, 3), keepdim=True
    ).clamp_min(1e-6)
    tooth = torch.sigmoid(tooth * 1.5)
    coverage = mask * ((tooth - gaps) / 0.25 + 0.5).clamp(0.0, 1.0)
    return coverage, tooth


def chalkboard(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """White chalk on a slate-green blackboard with the haze of earlier erasing.

    Unlike noise corruptions, the grain lives inside the stroke and the ground is a board.

    Strength sets how much of the stroke the board's grain leaves bare, the ragged edge
    and the dust. Per sample: the board's haze, the grain and the edge.
    """
    u = canvas.unit
    size = canvas.size
    haze = value_noise(rng, size, 7 * u)
    board = rgb((0.16, 0.23, 0.19)) * (0.85 + 0.3 * haze)
    board = over(board, rgb((0.7, 0.72, 0.7)), (haze - 0.45).clamp_min(0.0) * 0.35 * strength)
    coverage, _ = _grainy_stroke(
        canvas, rng, grain=0.5, gaps=lerp(0.05, 0.5, strength), ragged=lerp(0.0, 0.5, strength)
    )
    dust = gaussian_blur(coverage, 1.4 * u) * lerp(0.0, 0.25, strength)
    chalk = rgb((0.93, 0.94, 0.9))
    out = over(board, chalk, dust)
    return over(out, chalk, coverage * 0.95)


def pencil(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Soft graphite on cartridge paper: a grey, slightly shiny stroke that skips the
    paper's tooth, with a faint smudge beside it.

    Unlike inversion, the dark stroke is a medium with grain on a paper surface.

    Strength sets the tooth's bite and the smudge. Per sample: paper, tooth, pressure.
    """
    u = canvas.unit
    size = canvas.size
    coverage, _ = _grainy_stroke(
        canvas, rng, grain=0.4, gaps=lerp(0.0, 0.35, strength), ragged=lerp(0.0, 0.3, strength)
    )
    pressure = 0.65 + 0.35 * value_noise(rng, size, 5 * u)
    sheet = paper(rng, size, u, (0.96, 0.95, 0.92))
    graphite = rgb((0.27, 0.27, 0.3))
    smudge = gaussian_blur(coverage, 1.8 * u) * lerp(0.0, 0.2, strength)
    out = over(sheet, graphite, smudge)
    return over(out, graphite, coverage * pressure)


def crayon(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Wax crayon on rough paper: a bold coloured stroke full of white flecks.

    Unlike saturation or noise corruptions, a new colour and waxy broken stroke on paper.

    Strength sets the flecking and the ragged edge. Per sample: the crayon's colour, the
    paper and its tooth.
    """
    u = canvas.unit
    size = canvas.size
    palette = torch.tensor(CRAYON_COLOURS, dtype=torch.float32)
    wax = palette[rng.choice(len(CRAYON_COLOURS))].view(-1, 3, 1, 1)
    thick = gaussian_blur(canvas.ink, 0.6 * u) * 1.4
    wide = Canvas(ink=thick.clamp(0.0, 1.0), colour=canvas.colour, factor=canvas.factor)
    coverage, tooth = _grainy_stroke(
        wide, rng, grain=0.7, gaps=lerp(0.05, 0.42, strength), ragged=lerp(0.0, 0.45, strength)
    )
    sheet = paper(rng, size, u, (0.97, 0.96, 0.93))
    return over(sheet, wax * (0.85 + 0.2 * tooth), coverage)
