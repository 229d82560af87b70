"""MNIST-C's ``canny_edges``: the image replaced by its Canny edge map."""

from __future__ import annotations

import numpy as np
import torch

from generators.corruptions.context import CorruptionContext

__all__ = ["canny_edges"]


def canny_edges(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """scikit-image's ``canny`` with its defaults (sigma 1, thresholds 0.1 / 0.2), the
    call MNIST-C makes, per image and channel. Edge detection with hysteresis is a
    per-image graph walk that scikit-image already does well."""
    from skimage.feature import canny

    pixels = images.numpy().astype(np.float64) / 255.0
    edges = np.empty(images.shape, dtype=np.uint8)
    for sample in range(pixels.shape[0]):
        for channel in range(pixels.shape[1]):
            edges[sample, channel] = canny(pixels[sample, channel]) * np.uint8(255)
    return torch.from_numpy(edges)
