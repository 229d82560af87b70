"""RGB <-> HSV on batches, with scikit-image's conventions (the references use its
``rgb2hsv`` / ``hsv2rgb``): hue in [0, 1), ties between maxima resolved blue, then green,
then red, and zero hue and saturation for grays."""

from __future__ import annotations

import torch

__all__ = ["hsv_to_rgb", "rgb_to_hsv"]


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """``N x 3 x H x W`` RGB in [0, 1] -> HSV in [0, 1]."""
    r, g, b = rgb.unbind(dim=1)
    value = torch.maximum(torch.maximum(r, g), b)
    delta = value - torch.minimum(torch.minimum(r, g), b)
    gray = delta == 0
    safe_delta = torch.where(gray, torch.ones_like(delta), delta)
    safe_value = torch.where(value == 0, torch.ones_like(value), value)
    saturation = torch.where(gray, torch.zeros_like(delta), delta / safe_value)
    hue = (g - b) / safe_delta
    hue = torch.where(g == value, 2.0 + (b - r) / safe_delta, hue)
    hue = torch.where(b == value, 4.0 + (r - g) / safe_delta, hue)
    hue = torch.remainder(hue / 6.0, 1.0)
    hue = torch.where(gray, torch.zeros_like(hue), hue)
    return torch.stack((hue, saturation, value), dim=1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """``N x 3 x H x W`` HSV in [0, 1] -> RGB in [0, 1]."""
    h, s, v = hsv.unbind(dim=1)
    sector_float = torch.floor(h * 6.0)
    f = h * 6.0 - sector_float
    sector = torch.remainder(sector_float, 6.0)
    p = v * (1.0 - s)
    q = v * (1.0 - f * s)
    t = v * (1.0 - (1.0 - f) * s)
    # One (r, g, b) choice per hue sector, as in the standard construction.
    choices = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
    r, g, b = p.clone(), p.clone(), p.clone()
    for index, (cr, cg, cb) in enumerate(choices):
        mask = sector == index
        r = torch.where(mask, cr, r)
        g = torch.where(mask, cg, g)
        b = torch.where(mask, cb, b)
    return torch.stack((r, g, b), dim=1)
