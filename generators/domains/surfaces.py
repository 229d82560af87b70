"""Surface domains: the object written or painted onto an everyday object in a scene.

The object keeps its strokes but is placed on a new support, a sticky note in ballpoint
or a denim jacket in fabric paint, with the support's colour, ruling and weave around and
through it. Corruptions (fog, frost, spatter) lay something over the same picture; here
the picture's ground itself is replaced and the stroke takes the support's medium.
"""

from __future__ import annotations

import torch

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import gaussian_blur, soft_mask
from generators.domains.textures import rgb, ruled_paper, twill, value_noise

__all__ = ["denim_patch", "sticky_note"]


def sticky_note(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """Blue ballpoint on a ruled yellow sticky note, with the note's curled corner casting
    a soft shadow.

    Unlike overlays (fog, frost), the ground itself is replaced and the stroke is pen ink.

    Strength sets the ruling's contrast, the pen's skipping and the curl. Per sample: the
    ruling's phase, the pen pressure, the paper.
    """
    u = canvas.unit
    h, w = canvas.size
    note = ruled_paper(rng, (h, w), u, (1.0, 0.92, 0.45))
    note = over(rgb((1.0, 0.92, 0.45)), note, torch.tensor(lerp(0.3, 1.0, strength)))
    line = soft_mask(canvas.ink, 0.5, 0.2)
    pressure = 0.7 + 0.3 * value_noise(rng, (h, w), 1.5 * u)
    skip = (value_noise(rng, (h, w), 0.7 * u) > lerp(1.0, 0.8, strength)).float()
    pen = line * pressure * (1 - 0.6 * skip)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1) / h
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, -1) / w
    curl = ((ys + xs - 2 + lerp(0.0, 0.45, strength)) / 0.25).clamp(0.0, 1.0)
    note = note * (1 - 0.35 * curl)
    return over(note, rgb((0.1, 0.18, 0.62)), pen)


def denim_patch(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """White fabric paint on denim: the twill shows through the paint, which has soaked a
    little into the weave around the stroke.

    Unlike texture overlays, the paint sits on cloth whose weave runs through it.

    Strength sets how much weave shows through and the soak. Per sample: the denim's fade
    and slubs.
    """
    u = canvas.unit
    cloth = twill(rng, canvas.size, u)
    paint = soft_mask(canvas.ink, 0.45, 0.2)
    soak = gaussian_blur(paint, 0.6 * u) * lerp(0.0, 0.35, strength)
    weave = cloth.mean(dim=1, keepdim=True)
    white = rgb((0.96, 0.95, 0.92)) * (1 - lerp(0.0, 0.35, strength) * (0.6 - weave).clamp_min(0))
    out = over(cloth, white, soak)
    return over(out, white, paint)
