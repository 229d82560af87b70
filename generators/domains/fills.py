"""Fill domains: the object's body filled with a pattern or a material instead of ink.

The stroke is swollen into a shape with a clean outline and its inside is filled with
stripes, checks, dots or inlaid wood, as in decorated lettering and marquetry. Noise and
texture corruptions lay a pattern over the whole frame; here the pattern is the object's
own material, bounded by its outline, and the surround is a plain new ground.
"""

from __future__ import annotations

import math

import torch

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import line_band, signed_distance
from generators.domains.textures import paper, rgb, wood

__all__ = ["FILL_PAIRS", "PATTERNS", "patterned_fill", "wood_inlay"]

#: Pattern colour pairs (ink, ground inside the shape), per sample; the first of each is
#: dark enough to carry the outline's weight in grey.
FILL_PAIRS = (
    ((0.8, 0.1, 0.12), (0.98, 0.96, 0.94)),
    ((0.1, 0.2, 0.55), (1.0, 0.85, 0.2)),
    ((0.08, 0.08, 0.08), (1.0, 0.82, 0.0)),
    ((0.1, 0.45, 0.25), (0.92, 0.96, 0.9)),
    ((0.45, 0.15, 0.55), (0.98, 0.8, 0.9)),
)

PATTERNS = ("stripes", "checks", "dots")


def _pattern(name: str, canvas: Canvas, rng: DomainRandomness, period: float) -> torch.Tensor:
    h, w = canvas.size
    angle = rng.uniform((1, 1, 1), 0.0, math.pi)
    phase = rng.uniform((2, 1, 1), 0.0, period)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1) + phase[:, :1]
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1) + phase[:, 1:]
    a = xs * torch.cos(angle) + ys * torch.sin(angle)
    b = -xs * torch.sin(angle) + ys * torch.cos(angle)
    if name == "stripes":
        return line_band(torch.remainder(a, period), period / 2, period / 2)
    if name == "checks":
        parity = torch.remainder(torch.floor(a / period) + torch.floor(b / period), 2.0)
        return parity
    # dots on a square lattice, radius a third of the pitch
    da = torch.remainder(a, period) - period / 2
    db = torch.remainder(b, period) - period / 2
    return (period / 3 + 0.5 - torch.sqrt(da * da + db * db)).clamp(0.0, 1.0)


def patterned_fill(
    canvas: Canvas, strength: float, rng: DomainRandomness, *, pattern: str = "stripes"
) -> torch.Tensor:
    """Decorated lettering: the swollen stroke filled with ``pattern`` (stripes, checks or
    dots) inside a dark outline, on plain paper.

    Unlike texture corruptions, the pattern is the object's own fill, ending at its outline.

    Strength sets how much the stroke swells (0 to 1.6 digit pixels) and the pattern's
    scale. Per sample: colour pair, pattern angle and phase, the paper.
    """
    u = canvas.unit
    distance = signed_distance(canvas.ink)
    swell = lerp(0.0, 1.6, strength) * u
    body = (swell - distance + 0.5).clamp(0.0, 1.0)
    outline = line_band(distance, swell, 0.8 * u)
    pairs = torch.tensor(FILL_PAIRS, dtype=torch.float32)
    chosen = pairs[rng.choice(len(FILL_PAIRS))]
    ink, ground = chosen[:, 0].view(-1, 3, 1, 1), chosen[:, 1].view(-1, 3, 1, 1)
    motif = _pattern(pattern, canvas, rng, lerp(1.2, 2.6, strength) * u)
    sheet = paper(rng, canvas.size, u, (0.9, 0.9, 0.88))
    inside = over(ground, ink, motif)
    out = over(sheet, inside, body)
    return over(out, ink * 0.6, outline)


def wood_inlay(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Marquetry: the shape cut from dark walnut and set into a pale maple panel, each with
    its own grain, with a fine dark seam.

    Unlike any corruption, the object is a piece of another material set into a panel.

    Strength sets how much the stroke swells and the grain's contrast. Per sample: both
    woods' grain.
    """
    u = canvas.unit
    distance = signed_distance(canvas.ink)
    swell = lerp(0.0, 0.8, strength) * u
    body = (swell - distance + 0.5).clamp(0.0, 1.0)
    seam = line_band(distance, swell, 0.45 * u)
    maple = wood(rng, canvas.size, u, (0.85, 0.7, 0.5))
    walnut = wood(rng, canvas.size, u, (0.35, 0.2, 0.12))
    out = over(maple, walnut, body)
    return over(out, rgb((0.15, 0.08, 0.04)), seam * 0.7)
