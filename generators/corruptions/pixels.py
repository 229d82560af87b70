"""Moving between stored ``uint8`` images and the float range the corruptions work in."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["BT601", "SKIMAGE_GRAY", "luma", "to_uint8", "to_unit", "truncate_levels_"]

#: OpenCV's (and Pillow's) RGB -> gray weights.
BT601 = (0.299, 0.587, 0.114)
#: scikit-image's ``rgb2gray`` weights (ITU-R BT.709), which MNIST-C's colour steps use.
SKIMAGE_GRAY = (0.2125, 0.7154, 0.0721)

# Float error of a few ulp must not drop an exact grey level (127.99999 -> 127); the
# references compute in float64, where such values land on the level they mean.
_LEVEL_SLACK = 1e-4


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 -> float32 in [0, 1]."""
    return images.to(torch.float32) / 255.0


def to_uint8(values: torch.Tensor, *, scale: float = 255.0) -> torch.Tensor:
    """Clip ``values * scale`` to [0, 255] and truncate to uint8.

    The reference suites end with ``np.uint8(...)`` on float images, which truncates; so
    does this, so that mean levels match theirs rather than sitting half a level higher.
    """
    return truncate_levels_(values * scale)


def truncate_levels_(levels: torch.Tensor) -> torch.Tensor:
    """:func:`to_uint8` of float levels in 0..255, overwriting ``levels`` (for a tensor
    the caller made and no longer needs: one allocation fewer on every pixel)."""
    return levels.add_(_LEVEL_SLACK).clamp_(0.0, 255.0).floor_().to(torch.uint8)


def luma(images: torch.Tensor, weights: Sequence[float] = BT601) -> torch.Tensor:
    """Weighted sum over the channel axis of ``N x 3 x H x W``, keeping it (``N x 1 x H x W``)."""
    r, g, b = images.unbind(dim=1)
    return (r * weights[0] + g * weights[1] + b * weights[2]).unsqueeze(1)
