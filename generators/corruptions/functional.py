"""``corrupt``: one corruption at one severity on a batch; the functional core the
generator and the tests share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType

import torch

from generators.corruptions import (
    blur,
    digital,
    edges,
    elastic,
    geometric,
    noise,
    overlays,
    weather,
)
from generators.corruptions import spatter as spatter_module
from generators.corruptions.context import CorruptionContext
from generators.corruptions.glass_blur import glass_blur
from generators.corruptions.suites import (
    check_image_shape,
    resolve_corruptions,
    resolve_suite,
    resolve_table,
)
from supervisor_testing.errors import InvalidInputError

__all__ = ["IMPLEMENTATIONS", "corrupt"]

Corruption = Callable[[torch.Tensor, CorruptionContext], torch.Tensor]

#: Canonical name -> implementation (suite differences are read from the context).
IMPLEMENTATIONS: MappingProxyType[str, Corruption] = MappingProxyType(
    {
        "gaussian_noise": noise.gaussian_noise,
        "shot_noise": noise.shot_noise,
        "impulse_noise": noise.impulse_noise,
        "speckle_noise": noise.speckle_noise,
        "gaussian_blur": blur.gaussian_blur,
        "glass_blur": glass_blur,
        "defocus_blur": blur.defocus_blur,
        "motion_blur": blur.motion_blur,
        "zoom_blur": blur.zoom_blur,
        "snow": weather.snow,
        "frost": weather.frost,
        "fog": weather.fog,
        "spatter": spatter_module.spatter,
        "brightness": digital.brightness,
        "contrast": digital.contrast,
        "saturate": digital.saturate,
        "jpeg_compression": digital.jpeg_compression,
        "pixelate": digital.pixelate,
        "quantize": digital.quantize,
        "inverse": digital.inverse,
        "elastic_transform": elastic.elastic_transform,
        "shear": geometric.shear,
        "rotate": geometric.rotate,
        "scale": geometric.scale,
        "translate": geometric.translate,
        "line": overlays.line,
        "dotted_line": overlays.dotted_line,
        "zigzag": overlays.zigzag,
        "stripe": overlays.stripe,
        "canny_edges": edges.canny_edges,
    }
)


def corrupt(
    images: torch.Tensor,
    corruption: str,
    *,
    severity: int,
    seed: int = 0,
    indices: Sequence[int] | torch.Tensor | None = None,
    suite: str = "imagenet-c",
    table: str = "auto",
) -> torch.Tensor:
    """Corrupt uint8 ``N x C x H x W`` images (C = 1 or 3, sides >= 8 px).

    Args:
        images: the clean images.
        corruption: a name of ``suite`` (see :func:`list_corruptions`).
        severity: 1..5 (1 for corruptions with a single setting).
        seed: with ``indices``, the only source of randomness.
        indices: each image's identity (its index in the source data set); a sample's
            output depends only on (seed, index, corruption, severity). Default 0..N-1.
        suite: ``imagenet-c`` or ``mnist-c``.
        table: ``auto`` (by image size), or ``cifar10-c`` / ``imagenet-c`` explicitly.

    Returns:
        uint8 images of the same shape.

    Example:
        >>> clean = torch.full((2, 1, 28, 28), 100, dtype=torch.uint8)
        >>> corrupt(clean, "contrast", severity=5).unique().tolist()
        [100]
    """
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        raise InvalidInputError(
            "images must be a uint8 tensor N x C x H x W, got "
            f"{getattr(images, 'dtype', type(images).__name__)} "
            f"{tuple(getattr(images, 'shape', ()))}"
        )
    if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 5:
        raise InvalidInputError(f"severity {severity!r} is outside 1..5; choose 1..5")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, got {seed!r}")
    suite = resolve_suite(suite)
    (name,) = resolve_corruptions(suite, [corruption])
    resolved = resolve_table(suite, table, tuple(images.shape[1:]))
    check_image_shape(tuple(images.shape[1:]), resolved, name, severity)
    if indices is None:
        ids = list(range(images.shape[0]))
    else:
        ids = [int(i) for i in (indices.tolist() if isinstance(indices, torch.Tensor) else indices)]
        if len(ids) != images.shape[0] or any(i < 0 for i in ids):
            raise InvalidInputError(
                f"indices must hold one non-negative index per image ({images.shape[0]}), "
                f"got {len(ids)}"
            )
    if images.shape[0] == 0:
        return images.clone()
    context = CorruptionContext(suite, resolved, name, severity, seed, ids)
    return IMPLEMENTATIONS[name](images.contiguous(), context)
