"""Weather: fog (a plasma fractal haze), frost (a texture overlay) and snow (streaked
flakes over a brightened image)."""

from __future__ import annotations

import math

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.frost_texture import FROST_TEXTURE_STATS, frost_texture
from generators.corruptions.kernels import streak
from generators.corruptions.linear_operators import clipped_zoom
from generators.corruptions.pixels import BT601, luma, to_uint8, to_unit, truncate_levels_
from generators.corruptions.plasma import plasma_fractal
from generators.corruptions.tables import FOG_MAP_RATIO, FROST_TEXTURE_SCALE

__all__ = ["fog", "frost", "snow"]

#: Snow streaks fall at -135 to -45 degrees.
_SNOW_SPAN = (-135.0, -45.0)
#: The references pick one of their first five frost photographs.
_FROST_CHOICES = 5


def fog(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Add ``amount`` times a plasma fractal, then rescale so the brightest clean pixel
    keeps its level relative to the fog."""
    amount, wibble_decay = ctx.params
    height, width = images.shape[-2:]
    # ImageNet-C draws a 256 map for 224 px images, CIFAR-10-C 32 for 32, MNIST-C 256 for
    # 28: the next power of two above the image side times the table's ratio.
    side = math.ceil(max(height, width) * FOG_MAP_RATIO[ctx.table] - 1e-9)
    mapsize = 1 << max(0, (side - 1).bit_length())
    haze = plasma_fractal(
        ctx.random, mapsize=mapsize, wibble_decay=wibble_decay, height=height, width=width
    )
    x = to_unit(images)
    brightest = x.amax(dim=(1, 2, 3), keepdim=True)
    foggy = x + amount * torch.from_numpy(haze.astype(np.float32)).unsqueeze(1)
    return truncate_levels_((foggy * brightest / (brightest + amount)).mul_(255.0))


def _frost_scale(ctx: CorruptionContext, height: int, width: int, index: int) -> float:
    """Texture scale that keeps frost structure the same size relative to the image as in
    the reference data, but never smaller than the image."""
    scale = FROST_TEXTURE_SCALE[ctx.table] * min(height, width) / ctx.reference_size
    rows, cols = FROST_TEXTURE_STATS[index][:2]
    return round(max(scale, (height + 1) / rows, (width + 1) / cols), 6)


def frost(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """``image_weight * x + frost_weight * texture`` on a random crop of one of five
    frost textures (its gray value on 1-channel images)."""
    image_weight, frost_weight = ctx.params
    n, channels, height, width = images.shape
    crops = torch.empty(n, 3, height, width, dtype=torch.float32)
    for sample, generator in enumerate(ctx.random):
        index = int(generator.integers(_FROST_CHOICES))
        texture = frost_texture(index, _frost_scale(ctx, height, width, index))
        top = int(generator.integers(0, texture.shape[1] - height))
        left = int(generator.integers(0, texture.shape[2] - width))
        crops[sample] = texture[:, top : top + height, left : left + width]
    if channels == 1:
        crops = luma(crops, BT601)
    blended = image_weight * images.to(torch.float32) + frost_weight * crops
    return to_uint8(blended, scale=1.0)


def snow(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Thresholded, zoomed Gaussian flakes streaked by a motion blur at -135..-45 degrees,
    added twice (the layer and its 180 degree rotation) to an image brightened towards
    ``1.5 * gray + 0.5``."""
    mean, std, zoom, threshold, radius, sigma, image_weight = ctx.params
    _n, channels, height, width = images.shape
    flakes = ctx.random.normal((1, height, width), loc=mean, scale=std)
    flakes = clipped_zoom(flakes, float(zoom))
    flakes = torch.where(flakes < threshold, torch.zeros_like(flakes), flakes).clamp(0.0, 1.0)
    angles = ctx.random.uniform64((), *_SNOW_SPAN)
    flakes = streak(flakes, angles, radius, sigma, span=_SNOW_SPAN)
    # imagecorruptions stores the streaked layer as uint8 before adding it; the layer and
    # its rotation are summed on one channel before they meet the image.
    flakes = flakes.clamp_(0.0, 1.0).mul_(255.0).round_().div_(255.0)
    flakes = flakes + flakes.flip(-2, -1)
    x = to_unit(images)
    lifted = (luma(x, BT601) if channels == 3 else x) * 1.5 + 0.5
    brighter = torch.maximum(x, lifted).mul_(1.0 - image_weight)
    return truncate_levels_(x.mul_(image_weight).add_(brighter).add_(flakes).mul_(255.0))
