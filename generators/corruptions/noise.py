"""Noise: Gaussian, Poisson (shot), salt-and-pepper (impulse) and multiplicative (speckle).

Each element gets independent noise, on gray images exactly as on each colour channel.
"""

from __future__ import annotations

import torch

from generators.corruptions.context import CorruptionContext
from generators.corruptions.pixels import to_uint8, to_unit, truncate_levels_

__all__ = ["gaussian_noise", "impulse_noise", "shot_noise", "speckle_noise"]


def gaussian_noise(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Add N(0, sigma^2) in [0, 1] units."""
    x = to_unit(images)
    return truncate_levels_(x.add_(ctx.random.normal(x.shape[1:], scale=ctx.params)).mul_(255.0))


def shot_noise(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Photon noise: Poisson counts at rate ``x * lambda``, divided by lambda."""
    rate = float(ctx.params)
    return to_uint8(ctx.random.poisson_levels(images, rate) / rate)


def impulse_noise(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Replace a fraction ``amount`` of elements, half by white and half by black (as
    scikit-image's ``random_noise(mode='s&p')``)."""
    amount = float(ctx.params)
    draw = ctx.random.uniform(images.shape[1:])
    out = images.clone()
    out[draw < amount / 2] = 255
    out[(draw >= amount / 2) & (draw < amount)] = 0
    return out


def speckle_noise(images: torch.Tensor, ctx: CorruptionContext) -> torch.Tensor:
    """Multiplicative noise: ``x + x * N(0, c^2)``."""
    x = to_unit(images)
    spread = ctx.random.normal(x.shape[1:], scale=ctx.params).mul_(x)
    return truncate_levels_(x.add_(spread).mul_(255.0))
