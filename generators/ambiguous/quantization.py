"""Decoder outputs to corpus pixels: clip, then round, then cast.

The reference implementation stored ``floor(x * 256)`` cast to uint8, which sends a
saturated pixel (``x == 1``) to 256 and wraps it to 0: black specks inside the brightest
strokes. Clipping before the cast keeps every value in range; rounding ``x * 255`` is the
inverse of the suite's ``uint8 / 255`` input scaling, so a pixel survives a round trip.
"""

from __future__ import annotations

import torch

__all__ = ["to_uint8"]


def to_uint8(pixels: torch.Tensor) -> torch.Tensor:
    """Float pixels (nominally in ``[0, 1]``) as uint8, clipped first; NaN becomes 0.

    Example:
        >>> to_uint8(torch.tensor([-0.5, 0.0, 0.5, 1.0, 1.5])).tolist()
        [0, 0, 128, 255, 255]
    """
    clipped = torch.nan_to_num(pixels.to(torch.float32), nan=0.0).clamp(0.0, 1.0)
    return clipped.mul(255.0).round_().to(torch.uint8)
