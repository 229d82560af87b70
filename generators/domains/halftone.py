"""Print domains: the object reproduced by a halftone screen on newsprint.

A halftone printer cannot lay grey; it prints dots on a rotated screen whose size follows
the darkness of the picture. The picture is rebuilt from round dots of one ink on cheap
paper; pixelation and JPEG corruptions coarsen the same picture in its own palette and
grid, while this changes the reproduction process, the polarity (ink on paper) and the
screen's angle.
"""

from __future__ import annotations

import math

import torch

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import gaussian_blur
from generators.domains.textures import paper, rgb

__all__ = ["halftone"]


def halftone(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Newspaper halftone: round black dots on a 45-degree screen, their area following the
    object's ink, on greyish newsprint.

    Unlike JPEG or pixelation, the object is re-printed with a dot screen in ink on paper.

    Strength sets the screen's pitch (one image pixel at 0 to three digit pixels at 1).
    Per sample: the screen's phase, a few degrees of screen angle, the paper.
    """
    u = canvas.unit
    h, w = canvas.size
    pitch = max(1.0, lerp(1.0, 3.0, strength) * u)
    angle = math.radians(45.0) + rng.uniform((1, 1, 1), -0.1, 0.1)
    phase = rng.uniform((2, 1, 1), 0.0, pitch)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1) + 0.5
    a = xs * torch.cos(angle) + ys * torch.sin(angle) + phase[:, :1]
    b = -xs * torch.sin(angle) + ys * torch.cos(angle) + phase[:, 1:]
    da = torch.remainder(a, pitch) - pitch / 2
    db = torch.remainder(b, pitch) - pitch / 2
    distance = torch.sqrt(da * da + db * db)
    tone = gaussian_blur(canvas.ink, pitch / 3).clamp(0.0, 1.0)
    # a dot of area tone * cell area; past half coverage the dots merge, as on press
    radius = pitch * torch.sqrt(tone / math.pi) * 1.1
    dots = (radius + 0.5 - distance).clamp(0.0, 1.0)
    newsprint = paper(rng, (h, w), u, (0.88, 0.86, 0.8))
    return over(newsprint, rgb((0.1, 0.1, 0.12)), dots)
