"""Deterministic DDIM inversion: run the probability-flow ODE from an image to a latent.

``DDIMInverseScheduler`` walks the trailing grid upwards (each step evaluates the noise at
the next timestep on the current sample, as diffusers' own inversion pipelines do). It is
built with ``clip_sample=False``: its default clipping of the predicted clean image would
pull latents of out-of-range inputs back, which is the CBC's job and optional here.

Confidence-based clipping (CBC, from CODE): a latent at level t is sqrt(abar_t) x0 +
sqrt(1 - abar_t) eps with x0 in [-1, 1], so values beyond sqrt(abar_t) + eta sqrt(1 -
abar_t) are unlikely under the model; clamping there before each step keeps outlying
pixels (corruptions, specks) from steering the latent.
"""

from __future__ import annotations

import torch

from generators.diffusion.denoiser import Denoiser
from generators.diffusion.schedules import inverse_scheduler

__all__ = ["confidence_clip", "ddim_invert"]


def confidence_clip(x: torch.Tensor, alpha_bar: float, stds: float) -> torch.Tensor:
    """Clamp a latent at noise level ``alpha_bar`` to its ``stds``-sigma interval."""
    bound = alpha_bar**0.5 + stds * (1.0 - alpha_bar) ** 0.5
    return x.clamp(-bound, bound)


@torch.no_grad()
def ddim_invert(
    denoiser: Denoiser,
    x0: torch.Tensor,
    *,
    num_steps: int,
    steps: int = 50,
    clip_stds: float | None = None,
) -> tuple[torch.Tensor, int]:
    """Invert ``x0`` along the first ``num_steps`` timesteps of a ``steps`` grid.

    Returns the latent and its timestep (0 steps: ``x0`` itself at timestep 0).
    """
    if num_steps == 0:
        return x0.clone(), 0
    scheduler = inverse_scheduler(denoiser.model, steps=steps)
    alphas = scheduler.alphas_cumprod
    stride = scheduler.config.num_train_timesteps // steps
    x = x0
    timesteps = scheduler.timesteps[:num_steps]
    for t in timesteps:
        if clip_stds is not None:
            current = int(t) - stride
            alpha_bar = 1.0 if current < 0 else float(alphas[current])
            x = confidence_clip(x, alpha_bar, clip_stds)
        x = scheduler.step(denoiser(x, t), int(t), x).prev_sample
    return x, int(timesteps[-1])
