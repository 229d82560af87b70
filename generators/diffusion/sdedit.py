"""SDEdit (Meng et al., ICLR 2022): noise the input part-way, then denoise it back.

The input is diffused to t0 = strength x T with the forward process
(``scheduler.add_noise``: x_t0 = sqrt(abar) x + sqrt(1 - abar) eps) and the reverse
process runs from t0 to 0. The larger t0, the more of the input is forgotten: the paper
finds realistic yet faithful edits for t0 in about 0.3-0.6 of T. ``eta = 1`` gives the
stochastic (ancestral, DDPM-like) reverse process of the paper; ``eta = 0`` the
deterministic DDIM (probability-flow ODE) decode, which stays closer to the input.
``repeats`` re-noises and denoises the output again (the official runs use 3), which
pulls the edit further towards the model's data.
"""

from __future__ import annotations

import torch

from generators.diffusion.denoiser import Denoiser
from generators.diffusion.sample_noise import NoiseStreams
from generators.diffusion.schedules import ddim_scheduler, edit_steps

__all__ = ["sdedit"]


@torch.no_grad()
def sdedit(
    denoiser: Denoiser,
    x0: torch.Tensor,
    *,
    strength: float,
    noise: NoiseStreams,
    steps: int = 50,
    eta: float = 1.0,
    repeats: int = 1,
) -> tuple[torch.Tensor, int]:
    """Edit ``x0`` (model space, N x C x S x S in [-1, 1]); return the edit and t0.

    Args:
        denoiser: the noise predictor (carries the class conditioning).
        x0: the inputs.
        strength: in [0, 1]; t0 is the grid timestep nearest ``strength * T``; 0 returns
            ``x0`` unchanged.
        noise: one noise stream per row (draws: start noise, then one per step when
            ``eta > 0``, per repeat).
        steps: timesteps in the full grid over T (an edit runs about strength x steps).
        eta: DDIM's eta; 1 = stochastic SDEdit, 0 = deterministic ODE decode.
        repeats: how many times to noise and denoise.
    """
    k = edit_steps(strength, steps)
    if k == 0:
        return x0.clone(), 0
    scheduler = ddim_scheduler(denoiser.model, steps=steps)
    timesteps = scheduler.timesteps[-k:]
    t0 = int(timesteps[0])
    x = x0
    for _ in range(max(1, repeats)):
        start = torch.full((x.shape[0],), t0, dtype=torch.int64)
        x = scheduler.add_noise(x, noise.draw(), start)
        for t in timesteps:
            variance_noise = noise.draw() if eta > 0 else None
            x = scheduler.step(
                denoiser(x, t), int(t), x, eta=eta, variance_noise=variance_noise
            ).prev_sample
    return x, t0
