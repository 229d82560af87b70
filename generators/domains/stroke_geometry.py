"""Shapes derived from an ink map: masks, distances, skeletons, blurs and boxes.

Renderers describe their look in terms of the object's geometry (an outline at a given
distance from the stroke, a tube along its centre line, a relief from its blurred mask),
so these are the building blocks. Distances and skeletons come from scipy and
scikit-image one image at a time (both are exact and fast on canvases of this size);
everything else is batched torch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "bounding_boxes",
    "gaussian_blur",
    "line_band",
    "signed_distance",
    "skeleton",
    "soft_mask",
]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``N x C x H x W`` with reflected borders."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3.0 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = int(x.shape[1])
    # reflect padding needs the pad narrower than the image; replicate beyond that
    mode_y = "reflect" if radius < x.shape[2] else "replicate"
    mode_x = "reflect" if radius < x.shape[3] else "replicate"
    y = F.pad(x, (0, 0, radius, radius), mode=mode_y)
    y = F.conv2d(y, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
    y = F.pad(y, (radius, radius, 0, 0), mode=mode_x)
    return F.conv2d(y, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)


def soft_mask(ink: torch.Tensor, threshold: float = 0.5, softness: float = 0.15) -> torch.Tensor:
    """The stroke as an anti-aliased 0..1 mask: a ramp of width ``softness`` around
    ``threshold``."""
    return ((ink - threshold) / softness + 0.5).clamp(0.0, 1.0)


def signed_distance(ink: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Euclidean distance (canvas pixels) to the stroke's edge: negative inside the stroke,
    positive outside; an image without ink is far from everything."""
    from scipy.ndimage import distance_transform_edt

    inside = (ink[:, 0] > threshold).numpy()
    out = np.empty(inside.shape, dtype=np.float32)
    far = float(sum(inside.shape[1:]))
    for i, mask in enumerate(inside):
        if not mask.any():
            out[i] = far
        elif mask.all():
            out[i] = -far
        else:
            # distance to the nearest pixel of the other side, less half a pixel so the
            # zero crossing lies on the boundary between the two
            out[i] = distance_transform_edt(~mask) - distance_transform_edt(mask)
            out[i] -= np.where(mask, -0.5, 0.5)
    return torch.from_numpy(out).unsqueeze(1)


def skeleton(ink: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """The stroke's one-pixel centre line as a 0/1 float ``N x 1 x H x W`` map."""
    from skimage.morphology import skeletonize

    inside = (ink[:, 0] > threshold).numpy()
    out = np.zeros(inside.shape, dtype=np.float32)
    for i, mask in enumerate(inside):
        if mask.any():
            out[i] = skeletonize(mask)
    return torch.from_numpy(out).unsqueeze(1)


def line_band(distance: torch.Tensor, centre: float, width: float) -> torch.Tensor:
    """An anti-aliased band ``width`` pixels wide where ``distance`` equals ``centre``."""
    return (width / 2.0 + 0.5 - (distance - centre).abs()).clamp(0.0, 1.0)


def bounding_boxes(ink: torch.Tensor, threshold: float = 0.3) -> torch.Tensor:
    """float32 ``N x 4`` boxes ``(top, bottom, left, right)`` around the ink (pixel
    edges); an image without ink gets the whole canvas."""
    n, _, h, w = ink.shape
    inside = ink[:, 0] > threshold
    rows = inside.any(dim=2)
    cols = inside.any(dim=1)
    out = torch.empty(n, 4, dtype=torch.float32)
    positions_r = torch.arange(h, dtype=torch.float32)
    positions_c = torch.arange(w, dtype=torch.float32)
    big = float(max(h, w) + 1)
    out[:, 0] = torch.where(rows, positions_r, big).amin(dim=1)
    out[:, 1] = torch.where(rows, positions_r, -1.0).amax(dim=1) + 1
    out[:, 2] = torch.where(cols, positions_c, big).amin(dim=1)
    out[:, 3] = torch.where(cols, positions_c, -1.0).amax(dim=1) + 1
    empty = ~rows.any(dim=1)
    out[empty] = torch.tensor([0.0, float(h), 0.0, float(w)])
    return out
