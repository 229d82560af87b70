"""Digital corruptions: contrast, brightness, saturation, JPEG, pixelation, quantisation
and inversion."""

from __future__ import annotations

import io

import numpy as np
import torch

from generators.corruptions.color_space import hsv_to_rgb, rgb_to_hsv
from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import (
    BT601,
    SKIMAGE_GRAY,
    luma,
    to_uint8,
    to_unit,
    truncate_levels_,
)

__all__ = [
    "brightness",
    "contrast",
    "inverse",
    "jpeg_compression",
    "pixelate",
    "quantize",
    "saturate",
]


def contrast(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Pull every channel towards its mean: ``(x - mean) * c + mean``, in grey levels as
    ``x c + mean (1 - c)`` (two passes over the pixels instead of four)."""
    c = float(ctx.params)
    # Integer sums make the mean independent of how the chunk is reduced.
    total = images.to(torch.int64).sum(dim=(2, 3), keepdim=True)
    shift = (total.to(torch.float64) * ((1.0 - c) / (images.shape[2] * images.shape[3]))).float()
    return truncate_levels_(images.to(torch.float32).mul_(c).add_(shift))


def brightness(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Raise the HSV value by ``c`` (on gray images, the level itself)."""
    x = to_unit(images)
    if images.shape[1] == 1:
        return to_uint8(x + ctx.params)
    # At fixed hue and saturation every channel is proportional to the value, so the HSV
    # round trip reduces to a rescaling (and black becomes the gray of the new value).
    value = x.amax(dim=1, keepdim=True)
    raised = (value + ctx.params).clamp(0.0, 1.0)
    ratio = raised / torch.where(value > 0, value, torch.ones_like(value))
    return to_uint8(torch.where(value > 0, x * ratio, raised))


def saturate(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Scale and shift the HSV saturation (MNIST-C: hue, saturation and value alike).

    A gray image is treated as the RGB image it shows and the result brought back by its
    luma, so severities that only rescale saturation leave it unchanged and those that
    shift it darken it, as they darken the reference's RGB output.
    """
    scale, shift = ctx.params
    x = to_unit(images)
    if ctx.mnist_c:
        rgb = x.expand(-1, 3, -1, -1) if images.shape[1] == 1 else x
        out = hsv_to_rgb((rgb_to_hsv(rgb) * scale + shift).clamp(0.0, 1.0))
        return to_uint8(luma(out, SKIMAGE_GRAY) if images.shape[1] == 1 else out)
    new_saturation = min(max(shift, 0.0), 1.0)
    if images.shape[1] == 1:
        # A gray pixel has hue 0: it becomes (v, v (1 - s'), v (1 - s')) in RGB.
        weight = BT601[0] + (BT601[1] + BT601[2]) * (1.0 - new_saturation)
        return to_uint8(x * weight)
    # At fixed hue and value, each channel's distance below the value is proportional to
    # the saturation, so rescaling that distance is the HSV round trip.
    value = x.amax(dim=1, keepdim=True)
    spread = value - x.amin(dim=1, keepdim=True)
    saturation = spread / torch.where(value > 0, value, torch.ones_like(value))
    target = (saturation * scale + shift).clamp(0.0, 1.0)
    ratio = target / torch.where(saturation > 0, saturation, torch.ones_like(saturation))
    coloured = value - (value - x) * ratio
    gray_rgb = torch.cat((value, value * (1.0 - new_saturation), value * (1.0 - new_saturation)), 1)
    return to_uint8(torch.where(saturation > 0, coloured, gray_rgb))


def jpeg_compression(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Encode and decode with Pillow at the table's quality.

    JPEG is per image by nature and Pillow's libjpeg is the reference's own codec, so this
    one stays a per-image loop (gray images are encoded as gray JPEGs).
    """
    from PIL import Image

    quality = int(ctx.params)

    def round_trip(picture: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        return Image.open(buffer)

    return _per_image(images, round_trip)


def _per_image(images: torch.Tensor, transform: object) -> torch.Tensor:
    """Apply a Pillow ``Image -> Image`` function to each image (gray stays gray)."""
    from PIL import Image

    # numpy moves uint8 channels to the end several times faster than torch does.
    pixels = np.ascontiguousarray(images.numpy().transpose(0, 2, 3, 1))
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    out = np.empty_like(pixels)
    for sample, picture in enumerate(pixels):
        out[sample] = np.asarray(transform(Image.fromarray(picture)))  # type: ignore[operator]
    out = out[..., None] if out.ndim == 3 else out
    return torch.from_numpy(np.ascontiguousarray(out.transpose(0, 3, 1, 2)))


def pixelate(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Shrink by ``c`` and enlarge back with Pillow's box filter.

    Pillow's 8-bit resampling is fast, exact to the reference and per image anyway, so it
    is used directly (a batched matrix version was slower).
    """
    from PIL import Image

    height, width = images.shape[-2:]
    small = (int(width * ctx.params), int(height * ctx.params))

    def shrink_and_grow(picture: Image.Image) -> Image.Image:
        return picture.resize(small, Image.BOX).resize((width, height), Image.BOX)

    return _per_image(images, shrink_and_grow)


def quantize(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Keep ``bits`` bits per level (MNIST-C)."""
    steps = 2 ** int(ctx.params) - 1
    levels = torch.round(images.to(torch.float32) * (steps / 255.0))
    return to_uint8(levels * (255.0 / steps), scale=1.0)


def inverse(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Negative image (MNIST-C)."""
    return 255 - images
