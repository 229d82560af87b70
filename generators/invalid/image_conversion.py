"""Bring images from one data set into another's shape: channels first, then size."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from supervisor_testing.errors import InvalidInputError

__all__ = ["LUMA_WEIGHTS", "convert_images"]

#: ITU-R BT.601 luma, the weights PIL's ``convert("L")`` uses.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def convert_images(images: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Convert uint8 ``N x C x H x W`` images to ``shape`` = ``(C', H', W')``.

    RGB becomes gray by BT.601 luma and gray becomes RGB by repetition; the size changes
    by antialiased bilinear resampling (aspect ratio is not kept: the target model expects
    its own input size). Everything is computed in float32 and rounded once.

    Example:
        >>> convert_images(torch.full((1, 3, 4, 4), 255, dtype=torch.uint8), (1, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
    """
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise InvalidInputError(
            f"images must be uint8 N x C x H x W, got {images.dtype} {tuple(images.shape)}"
        )
    channels, height, width = (int(d) for d in shape)
    source_channels = int(images.shape[1])
    if {source_channels, channels} - {1, 3}:
        raise InvalidInputError(
            f"can only convert between 1 (gray) and 3 (RGB) channels, got "
            f"{source_channels} -> {channels}"
        )
    if images.shape[1:] == (channels, height, width):
        return images.clone()
    x = images.to(torch.float32)
    # Reduce channels before resampling (less work), expand them after.
    if channels < source_channels:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=torch.float32).view(1, 3, 1, 1)
        x = (x * weights).sum(dim=1, keepdim=True)
    if (height, width) != tuple(images.shape[2:]) and x.shape[0]:
        x = F.interpolate(
            x, size=(height, width), mode="bilinear", align_corners=False, antialias=True
        )
    if channels > source_channels:
        x = x.expand(-1, channels, -1, -1)
    return x.round().clamp_(0, 255).to(torch.uint8)
