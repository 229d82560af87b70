"""Line-art domains: the object drawn with lines instead of filled strokes.

Each draws the object's *contour* (an outline at some distance from the stroke), or
covers its area with hatching, in pen or pencil on a drawing surface. Edge-detection
corruptions (Canny edges) keep the pixel edges of the same photograph; here a draughtsman's
line of constant width is laid at a chosen offset, on a new surface and in a new palette.
"""

from __future__ import annotations

import math

import torch

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import bounding_boxes, line_band, signed_distance, soft_mask
from generators.domains.textures import paper, rgb, value_noise

__all__ = ["blueprint", "bubble_outline", "hatched_sketch"]


def bubble_outline(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Bubble lettering: a marker outline drawn around the swollen stroke, hollow inside,
    with a cartoon drop shadow.

    Unlike edge corruptions, the outline is a pen line at an offset from the stroke.

    Strength sets how far the outline stands off the stroke (0 to 2.2 digit pixels) and
    the shadow's offset. Per sample: the paper, the shadow direction.
    """
    u = canvas.unit
    size = canvas.size
    distance = signed_distance(canvas.ink)
    offset = lerp(0.0, 2.2, strength) * u
    line = line_band(distance, offset, 1.1 * u)
    body = ((offset - distance) + 0.5).clamp(0.0, 1.0)
    angle = rng.uniform((), 0.0, 2 * math.pi)
    shift = lerp(0.0, 1.6, strength) * u
    dy = (torch.sin(angle) * shift).round().long()
    dx = (torch.cos(angle) * shift).round().long()
    shadow = torch.stack(
        [torch.roll(body[i], (int(dy[i]), int(dx[i])), dims=(1, 2)) for i in range(len(canvas))]
    )
    sheet = paper(rng, size, u)
    out = over(sheet, rgb((0.62, 0.62, 0.66)), shadow * (1 - body) * 0.8)
    out = over(out, rgb((0.99, 0.99, 0.97)), body)
    out = over(out, rgb((0.08, 0.08, 0.1)), line)
    return out


def hatched_sketch(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """A pencil sketch: a loose, doubled contour and parallel hatching inside the stroke.

    Unlike any corruption, the filled stroke becomes hatching inside a hand-drawn contour.

    Strength sets the hatch contrast and how loosely the contour wanders. Per sample: the
    hatch angle, the pencil pressure and the paper.
    """
    u = canvas.unit
    h, w = canvas.size
    distance = signed_distance(canvas.ink)
    wobble = lerp(0.0, 0.9, strength) * u
    first = line_band(distance + wobble * (value_noise(rng, (h, w), 3 * u) - 0.5) * 2, 0.0, 0.7 * u)
    second = line_band(
        distance + wobble * (value_noise(rng, (h, w), 3 * u) - 0.5) * 2, 0.4 * u, 0.5 * u
    )
    angle = rng.uniform((1, 1, 1), math.radians(30), math.radians(60))
    angle = angle * torch.where(rng.uniform((1, 1, 1)) < 0.5, -1.0, 1.0)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1)
    across = xs * torch.cos(angle) + ys * torch.sin(angle)
    period = 1.6 * u
    hatch = line_band(torch.remainder(across, period), period / 2, 0.55 * u)
    inside = soft_mask(canvas.ink, 0.35)
    pressure = 0.55 + 0.45 * value_noise(rng, (h, w), 6 * u)
    graphite = rgb((0.2, 0.2, 0.23))
    sheet = paper(rng, (h, w), u, (0.95, 0.94, 0.9))
    out = over(sheet, graphite, hatch * inside * pressure * lerp(0.4, 0.85, strength))
    out = over(out, graphite, first * pressure)
    out = over(out, graphite, second * pressure * 0.6)
    return out


def blueprint(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """A drafting blueprint: the object's contour as a fine white line on blue, with a
    ruled grid and construction lines through its extremes.

    Unlike edge corruptions, the contour is redrawn in white on blue with drafting furniture.

    Strength sets the grid and construction-line contrast. Per sample: the grid phase and
    the paper's mottling.
    """
    u = canvas.unit
    h, w = canvas.size
    distance = signed_distance(canvas.ink)
    contour = line_band(distance, 0.0, 0.8 * u)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1) + 0.5
    pitch = 3.5 * u
    phase = rng.uniform((2, 1, 1), 0.0, pitch)
    fine = torch.maximum(
        line_band(torch.remainder(ys + phase[:, :1], pitch), pitch / 2, 0.35 * u),
        line_band(torch.remainder(xs + phase[:, 1:], pitch), pitch / 2, 0.35 * u),
    )
    box = bounding_boxes(canvas.ink).view(-1, 4, 1, 1)
    construction = torch.zeros(len(canvas), 1, h, w)
    for edge, coordinate in ((0, ys), (1, ys), (2, xs), (3, xs)):
        construction = torch.maximum(
            construction, line_band(coordinate, box[:, edge : edge + 1], 0.4 * u)
        )
    mottle = value_noise(rng, (h, w), 8 * u)
    base = rgb((0.1, 0.27, 0.56)) * (0.85 + 0.3 * mottle)
    white = rgb((0.93, 0.96, 1.0))
    out = over(base, white, fine * lerp(0.1, 0.3, strength))
    out = over(out, white, construction * lerp(0.15, 0.45, strength))
    out = over(out, white, contour)
    return out
