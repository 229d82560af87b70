"""Spatter: water drops (turquoise, with embossed rims) or mud (brown blotches).

The liquid layer is batched; the water rims need an edge map, a distance transform and a
histogram equalisation per image, done with OpenCV exactly as the references do, because
re-deriving Canny and OpenCV's chamfer distance would only approximate them.
"""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.blur import gaussian_filter
from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import to_uint8, to_unit

__all__ = ["spatter"]

_WATER = (175 / 255, 238 / 255, 238 / 255)
_MUD = (63 / 255, 42 / 255, 20 / 255)
# imagecorruptions' gray conversion of the spatter colour on 1-channel images.
_GRAY = (0.2989, 0.5870, 0.1140)
_EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])


def _rims(liquid: np.ndarray) -> np.ndarray:
    """The references' embossed distance-to-edge texture of one liquid layer."""
    import cv2

    layer = np.clip(liquid * 255, 0, 255).astype(np.uint8)
    distance = 255 - cv2.Canny(layer, 50, 150)
    distance = cv2.distanceTransform(distance, cv2.DIST_L2, 5)
    _, distance = cv2.threshold(distance, 20, 20, cv2.THRESH_TRUNC)
    distance = cv2.blur(distance, (3, 3)).astype(np.uint8)
    distance = cv2.equalizeHist(distance)
    distance = cv2.filter2D(distance, cv2.CV_8U, _EMBOSS)
    return cv2.blur(distance, (3, 3)).astype(np.float32)


def _water(x: torch.Tensor, liquid: torch.Tensor, intensity: float) -> torch.Tensor:
    layers = liquid.numpy()
    marks = np.empty_like(layers)
    for sample, layer in enumerate(layers):
        mark = layer * _rims(layer)
        peak = mark.max()
        marks[sample] = mark / peak * intensity if peak > 0 else 0.0
    m = torch.from_numpy(marks).unsqueeze(1)
    colour = torch.tensor(_WATER, dtype=torch.float32).view(1, 3, 1, 1)
    if x.shape[1] == 1:
        added = (m * colour).clamp(0.0, 1.0)
        weights = torch.tensor(_GRAY, dtype=torch.float32).view(1, 3, 1, 1)
        return x + (added * weights).sum(dim=1, keepdim=True)
    return x + m * colour


def _mud(
    x: torch.Tensor, liquid: torch.Tensor, threshold: float, sigma: float, gray: float | None
) -> torch.Tensor:
    m = gaussian_filter((liquid > threshold).to(torch.float32), sigma)
    m = torch.where(m < 0.8, torch.zeros_like(m), m).unsqueeze(1)
    if x.shape[1] == 1:
        level = gray if gray is not None else sum(c * w for c, w in zip(_MUD, _GRAY, strict=True))
        return x * (1 - m) + level * m
    colour = torch.tensor(_MUD, dtype=torch.float32).view(1, 3, 1, 1)
    return x * (1 - m) + colour * m


def spatter(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Blur Gaussian noise into a liquid layer, keep what exceeds a threshold and paint it
    as water (severities 1-3) or mud (4-5). MNIST-C paints mud of gray level 63 at every
    severity."""
    mean, std, sigma, threshold, intensity, mud = ctx.params
    height, width = images.shape[-2:]
    liquid = gaussian_filter(ctx.random.normal((height, width), loc=mean, scale=std), sigma)
    liquid = torch.where(liquid < threshold, torch.zeros_like(liquid), liquid)
    x = to_unit(images)
    if ctx.mnist_c:
        return to_uint8(_mud(x, liquid, threshold, intensity, gray=63 / 255))
    if mud:
        return to_uint8(_mud(x, liquid, threshold, intensity, gray=None))
    return to_uint8(_water(x, liquid, intensity))
