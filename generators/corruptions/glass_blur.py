"""Glass blur: blur, shuffle pixels locally, blur again; the shuffle vectorised.

The references visit the pixels of the inner region in reverse raster order and, for each,
exchange it with a random neighbour up to ``delta - 1`` pixels away (``randint(-delta,
delta)``). On colour arrays that exchange is in fact a copy (numpy hands back views, so the
second assignment writes the pixel's new value back); this is the process the published
ImageNet-C and CIFAR-10-C data went through, and the one reproduced here for every image.
MNIST-C additionally skips each pixel with probability one half.

A pixel is written once, at its own turn, with the value its source holds at that moment:
the source's final value if the source came earlier in the visit order (a later raster
position inside the region), else its value before the pass. Following those links to the
first source that was not rewritten gives every pixel's value at once, and pointer jumping
follows all links in ``log2`` of the longest chain steps instead of one Python step per
pixel (the references take about 3 s per 224 px image).
"""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.blur import gaussian_filter
from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import to_uint8, to_unit
from generators.corruptions.seeding import SampleRandomness

__all__ = ["displace_pixels", "glass_blur"]


def displace_pixels(
    levels: torch.Tensor, delta: int, random: SampleRandomness, *, skip_half: bool = False
) -> torch.Tensor:
    """One shuffling pass over ``N x C x H x W`` (all channels move together).

    The link following runs in numpy on flat indices over the whole chunk; the pixels
    are moved by one torch ``gather``.
    """
    n, channels, height, width = levels.shape
    region_h, region_w = height - 2 * delta, width - 2 * delta
    grid_r, grid_c = np.meshgrid(
        np.arange(delta + 1, height - delta + 1, dtype=np.int32),
        np.arange(delta + 1, width - delta + 1, dtype=np.int32),
        indexing="ij",
    )
    region_r, region_c = grid_r.ravel(), grid_c.ravel()
    position = region_r * width + region_c
    # (dx, dy) per pixel, uniform in -delta..delta-1 like randint(-delta, delta); scaling
    # uniforms is much cheaper than numpy's bounded integers.
    draws = random.uniform((len(position), 2)).numpy() * (2 * delta)
    offsets = draws.astype(np.int32) - delta
    source_r = region_r + offsets[..., 1]
    source_c = region_c + offsets[..., 0]
    source = source_r * width + source_c
    # Only "visited earlier" matters, and inside the region that is "larger flat index".
    linked = (
        (source > position)
        & (source_r >= delta + 1)
        & (source_r <= height - delta)
        & (source_c >= delta + 1)
        & (source_c <= width - delta)
    )
    if skip_half:
        active = random.uniform((len(position),)).numpy() < 0.5
        linked &= active
        source = np.where(active, source, position)

    inner = (slice(None), slice(delta + 1, height - delta + 1), slice(delta + 1, width - delta + 1))
    plane = height * width
    # Flat indices over the whole chunk, so that one gather serves every sample.
    offsets_n = (np.arange(n, dtype=np.intp) * plane)[:, None, None]
    start = np.arange(n * plane, dtype=np.intp).reshape(n, height, width)
    start[inner] = source.reshape(n, region_h, region_w) + offsets_n
    start = start.ravel()
    if linked.any():  # with delta 1 every source lies behind: no links to follow
        jump = np.arange(n * plane, dtype=np.intp).reshape(n, height, width)
        chained = np.where(linked, source, position).reshape(n, region_h, region_w)
        jump[inner] = chained + offsets_n
        jump = jump.ravel()
        is_link = np.zeros((n, height, width), dtype=bool)
        is_link[inner] = linked.reshape(n, region_h, region_w)
        is_link = is_link.ravel()
        # Pointer jumping on the pixels whose target is still a link: a pixel links with
        # probability under 1/2, so the set shrinks geometrically and the passes cost
        # about one sweep over the links in all (a full sweep per doubling was 3 to 5).
        active = np.flatnonzero(is_link)
        active = active[is_link[jump[active]]]
        while active.size:
            jump[active] = jump[jump[active]]
            active = active[is_link[jump[active]]]
        final_source = start[jump]
    else:
        final_source = start
    final_source = torch.from_numpy(final_source.reshape(n, 1, plane) - offsets_n)
    # torch's gather with an expanded index is about 5x numpy's take_along_axis here.
    flat = levels.reshape(n, channels, plane)
    moved = torch.gather(flat, 2, final_source.expand(n, channels, plane))
    return moved.reshape(n, channels, height, width)


def glass_blur(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    sigma, delta, iterations = ctx.params
    rows_only = ctx.mnist_c and images.shape[1] == 1
    blurred = gaussian_filter(to_unit(images), sigma, rows_only=rows_only)
    # The references store the first blur as uint8 (truncating) before shuffling.
    levels = to_uint8(blurred)
    for _ in range(iterations):
        levels = displace_pixels(levels, delta, ctx.random, skip_half=ctx.mnist_c)
    return to_uint8(gaussian_filter(to_unit(levels), sigma, rows_only=rows_only))
