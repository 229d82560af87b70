"""Between stored uint8 images and a diffusion model's padded [-1, 1] input space."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from supervisor_testing.errors import InvalidInputError

__all__ = ["from_model_space", "to_model_space"]


def _margins(size: int, target: int) -> tuple[int, int]:
    if target < size:
        raise InvalidInputError(
            f"images of side {size} do not fit a diffusion model of side {target}; use a "
            "model trained at this resolution or larger"
        )
    before = (target - size) // 2
    return before, target - size - before


def to_model_space(images: torch.Tensor, *, image_size: int) -> torch.Tensor:
    """uint8 ``N x C x H x W`` -> float32 in [-1, 1], centre-padded with black to ``image_size``.

    Black (-1) padding matches the digits' background, so the model sees a frame of the
    same kind as the image border rather than a seam.
    """
    x = images.float().div(127.5).sub(1.0)
    top, bottom = _margins(images.shape[-2], image_size)
    left, right = _margins(images.shape[-1], image_size)
    return F.pad(x, (left, right, top, bottom), value=-1.0)


def from_model_space(x: torch.Tensor, *, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`to_model_space`: crop the centre, clamp, round to uint8."""
    top, _ = _margins(height, x.shape[-2])
    left, _ = _margins(width, x.shape[-1])
    crop = x[..., top : top + height, left : left + width]
    return crop.clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
