"""Relief domains: the object as a shape in a surface, seen only by how it catches light.

The stroke becomes a height field (raised paper, a groove cut in metal, a finger's trail
in sand) lit from one side, so the object shows as highlights and shadows on a new
material rather than as ink. No corruption changes what the object is made of; blur and
contrast corruptions leave it as ink of the same polarity.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generators.domains.canvas import Canvas, lerp
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import gaussian_blur, soft_mask
from generators.domains.textures import brushed_metal, paper, sand

__all__ = ["embossed", "engraved", "sand_drawing", "shading"]


def shading(
    height: torch.Tensor, azimuth: torch.Tensor, *, elevation: float = 0.75
) -> torch.Tensor:
    """Lambertian shading of a height field (pixels), relative to flat ground (= 1).

    ``azimuth``: ``N`` light directions in radians, 0 = from the right, pi/2 = from the top.
    """
    padded = F.pad(height, (1, 1, 1, 1), mode="replicate")
    gx = (padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]) / 2
    gy = (padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]) / 2
    lz = math.sin(elevation)
    lx = (torch.cos(azimuth) * math.cos(elevation)).view(-1, 1, 1, 1)
    ly = (-torch.sin(azimuth) * math.cos(elevation)).view(-1, 1, 1, 1)  # rows grow downwards
    norm = torch.sqrt(gx * gx + gy * gy + 1.0)
    return ((-gx * lx - gy * ly + lz) / norm / lz).clamp_min(0.0)


def _light(rng: DomainRandomness) -> torch.Tensor:
    # from the upper left, as in most photographs of reliefs, give or take 25 degrees
    return rng.uniform((), math.radians(110), math.radians(160))


def embossed(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Blind embossing: the stroke pressed up out of thick white paper, no ink.

    Unlike any corruption, the ink is gone and the shape exists only as relief in the light.

    Strength sets the relief's height. Per sample: light direction, paper.
    """
    u = canvas.unit
    height = gaussian_blur(soft_mask(canvas.ink, 0.4), 0.9 * u) * lerp(0.0, 3.2, strength) * u
    light = shading(height, _light(rng))
    sheet = paper(rng, canvas.size, u, (0.93, 0.92, 0.89))
    return (sheet * light).clamp(0.0, 1.0)


def engraved(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Engraving: a V-groove cut into brushed steel, dark at its floor, bright on the lit
    wall.

    Unlike any corruption, the object is a cut in a metal surface, lit from one side.

    Strength sets the groove's depth and darkness. Per sample: light, the steel's grain.
    """
    u = canvas.unit
    groove = gaussian_blur(soft_mask(canvas.ink, 0.4), 0.6 * u)
    height = -groove * lerp(0.0, 3.0, strength) * u
    light = shading(height, _light(rng))
    steel = brushed_metal(rng, canvas.size, u)
    floor = 1.0 - lerp(0.0, 0.45, strength) * groove
    glint = (light - 1.08).clamp_min(0.0) * 1.5
    return (steel * light * floor + glint).clamp(0.0, 1.0)


def sand_drawing(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """A finger's trail in damp sand: a groove with the pushed-aside sand piled along its
    banks, darker where the wet layer shows.

    Unlike any corruption, the object is a groove in a rippled surface seen by its shading.

    Strength sets the groove's depth and the banks. Per sample: light, ripples and grain.
    """
    u = canvas.unit
    trail = soft_mask(gaussian_blur(canvas.ink, 0.6 * u), 0.35)
    depth = lerp(0.0, 2.6, strength) * u
    banks = gaussian_blur(trail, 1.6 * u)
    height = (-gaussian_blur(trail, 0.7 * u) + 0.6 * banks) * depth
    light = shading(height, _light(rng))
    surface = sand(rng, canvas.size, u)
    wet = 1.0 - lerp(0.0, 0.3, strength) * trail
    return (surface * light * wet).clamp(0.0, 1.0)
