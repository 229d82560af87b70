"""The canvas a renderer draws on: the object's ink map and colours, supersampled.

Renderers redraw the *object* of an image, so they start from an ink map: luminance
turned so that the object is bright and the surround dark (the polarity is read from the
image border, so dark-on-light sketches and light-on-dark digits give the same map), then
stretched to ``[0, 1]``. For photographs the map is the bright structure of the scene.

Drawing dots, bars and hatch lines at 8 or 28 pixels aliases badly, so the canvas is the
image enlarged by an integer factor (to about 56 px or more); :func:`finish_canvas`
averages each factor x factor block back to one pixel, which anti-aliases every shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "Canvas",
    "finish_canvas",
    "lerp",
    "luma",
    "make_canvas",
    "over",
    "supersampling",
]

# ITU-R BT.601 weights, the ones Pillow's "L" conversion uses.
_LUMA = (0.299, 0.587, 0.114)

# Canvas side the supersampling aims for, and the largest factor (time and memory grow
# with its square): 2 for 28 px digits, 4 for 8 px ones.
_TARGET_SIDE = 56
_MAX_FACTOR = 4


@dataclass(frozen=True)
class Canvas:
    """One batch prepared for drawing.

    Attributes:
        ink: float32 ``N x 1 x h x w`` in ``[0, 1]``, the object bright.
        colour: float32 ``N x 3 x h x w`` in ``[0, 1]``, the input as RGB.
        factor: supersampling factor (canvas pixels per image pixel).
    """

    ink: torch.Tensor
    colour: torch.Tensor
    factor: int

    @property
    def size(self) -> tuple[int, int]:
        return int(self.ink.shape[2]), int(self.ink.shape[3])

    @property
    def unit(self) -> float:
        """Canvas pixels per pixel of a 28 x 28 digit: renderers size strokes, cells and
        textures in this unit, so an 8 px or a 96 px image gets the same look."""
        return min(self.size) / 28.0

    def __len__(self) -> int:
        return int(self.ink.shape[0])


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """``N x 1 x H x W`` luminance of ``N x 3 x H x W`` RGB."""
    weights = torch.tensor(_LUMA, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def supersampling(height: int, width: int) -> int:
    """The factor that brings the shorter side to about 56 px (1 to 4)."""
    return max(1, min(_MAX_FACTOR, math.ceil(_TARGET_SIDE / min(height, width))))


def _ink_map(rgb: torch.Tensor) -> torch.Tensor:
    lum = luma(rgb)
    border = torch.cat(
        (
            lum[:, :, 0, :],
            lum[:, :, -1, :],
            lum[:, :, :, 0],
            lum[:, :, :, -1],
        ),
        dim=2,
    ).mean(dim=(1, 2))
    # The surround is what touches the border: where it is brighter than the image as a
    # whole, the object is dark on light, so turn it over.
    flip = (border > lum.mean(dim=(1, 2, 3))).view(-1, 1, 1, 1)
    ink = torch.where(flip, 1.0 - lum, lum)
    low = ink.amin(dim=(1, 2, 3), keepdim=True)
    high = ink.amax(dim=(1, 2, 3), keepdim=True)
    span = high - low
    return torch.where(span > 1e-3, (ink - low) / span.clamp_min(1e-3), torch.zeros_like(ink))


def make_canvas(images: torch.Tensor) -> Canvas:
    """The canvas of uint8 ``N x C x H x W`` images (C = 1 or 3)."""
    x = images.to(torch.float32) / 255.0
    rgb = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    factor = supersampling(int(x.shape[2]), int(x.shape[3]))
    ink = _ink_map(rgb)
    if factor > 1:
        size = (int(x.shape[2]) * factor, int(x.shape[3]) * factor)
        ink = F.interpolate(ink, size=size, mode="bilinear", align_corners=False)
        rgb = F.interpolate(rgb, size=size, mode="bilinear", align_corners=False)
    return Canvas(ink=ink.clamp(0.0, 1.0), colour=rgb.clamp(0.0, 1.0).contiguous(), factor=factor)


def finish_canvas(rgb: torch.Tensor, *, factor: int, channels: int) -> torch.Tensor:
    """Average the canvas back to image size: float ``N x channels x H x W`` in [0, 1]
    (grey images get the rendering's luminance)."""
    if factor > 1:
        rgb = F.avg_pool2d(rgb, kernel_size=factor)
    rgb = rgb.clamp(0.0, 1.0)
    return luma(rgb) if channels == 1 else rgb


def over(background: torch.Tensor, paint: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``paint`` laid over ``background`` with coverage ``alpha`` (all broadcastable)."""
    return background * (1.0 - alpha) + paint * alpha


def lerp(low: float, high: float, strength: float) -> float:
    """``low`` at strength 0, ``high`` at strength 1."""
    return low + (high - low) * strength
