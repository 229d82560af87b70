"""Emissive domains: the object made of light (a neon tube, a heat signature, stars).

The object is not ink reflecting light but a source of it: a thin bright core with a
coloured halo that lights its surroundings, a diffuse temperature field in a false-colour
palette, or scattered points joined into a figure. Brightness and contrast corruptions
rescale the same pixels; these redraw the object with a new physics of appearance.
"""

from __future__ import annotations

import numpy as np
import torch

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import (
    gaussian_blur,
    line_band,
    signed_distance,
    skeleton,
    soft_mask,
)
from generators.domains.textures import brick_wall, rgb, value_noise, white_noise

__all__ = ["IRONBOW", "NEON_COLOURS", "constellation", "neon_sign", "thermal_camera"]

#: Gas colours a neon sign picks from, per sample.
NEON_COLOURS = (
    (1.0, 0.22, 0.6),
    (0.25, 0.9, 1.0),
    (1.0, 0.5, 0.12),
    (0.55, 1.0, 0.25),
    (0.75, 0.35, 1.0),
)

#: The "ironbow" false-colour scale of thermal cameras, cold to hot.
IRONBOW = (
    (0.0, 0.0, 0.05),
    (0.2, 0.0, 0.45),
    (0.6, 0.0, 0.55),
    (0.9, 0.25, 0.15),
    (1.0, 0.6, 0.0),
    (1.0, 0.9, 0.3),
    (1.0, 1.0, 0.9),
)


def neon_sign(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """A bent-glass neon tube along the stroke's centre line, glowing on a dark brick wall.

    Unlike brightness corruptions, the object is a light source lighting its surroundings.

    Strength sets the halo's reach and how dark the wall is. Per sample: the gas colour
    and the wall.
    """
    u = canvas.unit
    size = canvas.size
    centre = skeleton(canvas.ink, threshold=0.4)
    tube = line_band(signed_distance(centre), -0.5, 1.3 * u)
    palette = torch.tensor(NEON_COLOURS, dtype=torch.float32)
    gas = palette[rng.choice(len(NEON_COLOURS))].view(-1, 3, 1, 1)
    halo = (
        gaussian_blur(tube, 1.2 * u) * 0.9 + gaussian_blur(tube, lerp(1.5, 4.5, strength) * u) * 1.2
    )
    wall = brick_wall(rng, size, u) * lerp(0.6, 0.16, strength)
    lit_wall = wall * (1.0 + 3.0 * halo) + gas * halo
    core = over(gas, rgb((1.0, 1.0, 1.0)), torch.tensor(0.65))
    return over(lit_wall, core, tube).clamp(0.0, 1.0)


def _palette(values: torch.Tensor, stops: tuple[tuple[float, float, float], ...]) -> torch.Tensor:
    """``N x 1 x H x W`` values in [0, 1] through a piecewise-linear colour scale."""
    table = torch.tensor(stops, dtype=torch.float32)
    position = values.clamp(0.0, 1.0) * (len(stops) - 1)
    low = position.floor().long().clamp(max=len(stops) - 2)
    frac = position - low
    below = table[low.squeeze(1)].permute(0, 3, 1, 2)
    above = table[(low + 1).squeeze(1)].permute(0, 3, 1, 2)
    return below * (1 - frac) + above * frac


def thermal_camera(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """A thermal camera's view: the object as a warm body whose heat spreads into the
    air, in the ironbow palette, with the camera's temperature scale at the right edge.

    Unlike blur or saturation, the object is shown by emitted heat in false colour.

    Strength sets how far the heat spreads and the scale bar. Per sample: the background's
    warm and cold patches and the detector's fixed pattern.
    """
    u = canvas.unit
    h, w = canvas.size
    body = soft_mask(canvas.ink, 0.3)
    spread = lerp(0.3, 1.6, strength) * u
    heat = 0.72 * gaussian_blur(body, spread) + 0.28 * gaussian_blur(body, 3 * spread)
    ambient = 0.18 * value_noise(rng, (h, w), 9 * u) + 0.03 * white_noise(rng, (h, w))
    temperature = (0.08 + ambient + 0.85 * heat).clamp(0.0, 1.0)
    image = _palette(temperature, IRONBOW)
    bar_w = max(1.0, lerp(0.0, 1.6, strength) * u)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1)
    margin = 1.2 * u
    inside_bar = (
        (xs >= w - margin - bar_w) & (xs < w - margin) & (ys >= margin) & (ys < h - margin)
    ).float()
    scale = _palette((1 - (ys - margin) / max(1.0, h - 2 * margin)).expand(1, 1, h, w), IRONBOW)
    image = over(image, scale, inside_bar * min(1.0, strength * 2))
    return image


def _stars_along(centre: torch.Tensor, spacing: float, rng: DomainRandomness) -> torch.Tensor:
    """Points along each centre line at least ``spacing`` apart, in a random order."""
    lines = centre[:, 0].numpy() > 0
    out = np.zeros(lines.shape, dtype=np.float32)
    for i, (line, generator) in enumerate(zip(lines, rng, strict=True)):
        points = np.argwhere(line)
        order = generator.permutation(len(points))
        chosen: list[np.ndarray] = []
        for point in points[order]:
            if all(((point - c) ** 2).sum() >= spacing**2 for c in chosen):
                chosen.append(point)
        for r, c in chosen:
            out[i, r, c] = 1.0
    return torch.from_numpy(out).unsqueeze(1)


def constellation(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """A constellation chart: stars placed along the object's centre line, joined by faint
    lines, in a night sky with its own field stars.

    Unlike any corruption, the stroke becomes point lights joined into a figure.

    Strength sets the star spacing (dense, almost a line, at low strength) and fades the
    joining lines. Per sample: which centre-line points become stars, the field stars and
    the sky's glow.
    """
    u = canvas.unit
    h, w = canvas.size
    centre = skeleton(canvas.ink, threshold=0.4)
    stars = _stars_along(centre, lerp(1.5, 4.5, strength) * u, rng)
    radius = 0.9 * u
    star_disc = gaussian_blur(stars, radius / 2)
    star_disc = (star_disc / star_disc.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)).clamp(0, 1)
    star_glow = gaussian_blur(stars, 1.8 * u) * (u * u) * 4.0
    joins = line_band(signed_distance(centre), -0.5, 0.5 * u) * lerp(0.9, 0.35, strength)
    field = (white_noise(rng, (h, w)) > 1.0 - 0.004 / max(1.0, u)).float()
    field = gaussian_blur(field, 0.35 * u) * rng.uniform((1, 1, 1), 0.5, 1.0) * 2.0
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1) / h
    sky = rgb((0.01, 0.02, 0.08)) * (1 - ys) + rgb((0.05, 0.08, 0.2)) * ys
    sky = sky * (0.8 + 0.4 * value_noise(rng, (h, w), 10 * u))
    starlight = rgb((0.95, 0.95, 1.0))
    out = over(sky, rgb((0.55, 0.65, 0.9)), joins) + starlight * field.clamp(0, 1)
    out = over(out, starlight, star_disc) + rgb((0.6, 0.7, 1.0)) * star_glow
    return out.clamp(0.0, 1.0)
