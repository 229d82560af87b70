"""The timestep grids the edits share, built from the model's training schedule.

All edits use diffusers' DDIM schedulers with "trailing" spacing, so a grid of ``steps``
timesteps ends at T - 1 and the edit starting ``k`` steps from the clean end starts at
about ``k / steps * T``. Inversion (``DDIMInverseScheduler``) walks the same grid upwards,
so inversion and decoding meet at the same timesteps.
"""

from __future__ import annotations

from typing import Any

from generators.diffusion.model_store import DiffusionModel
from supervisor_testing.errors import InvalidInputError

__all__ = ["check_strength", "ddim_scheduler", "edit_steps", "inverse_scheduler"]


def check_strength(strength: float) -> float:
    """``strength`` as a float in [0, 1], or a clear error."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise InvalidInputError(f"strength must be a number in [0, 1], got {strength!r}") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidInputError(
            f"strength must lie in [0, 1] (0 returns the input, 1 starts from pure noise), "
            f"got {value}"
        )
    return value


def edit_steps(strength: float, steps: int) -> int:
    """Grid steps an edit of ``strength`` runs: round(strength * steps), at least one
    for any positive strength (diffusers' img2img rounds small strengths to no edit at
    all, #1867; a positive strength here always edits)."""
    if steps < 1:
        raise InvalidInputError(f"steps must be a positive int, got {steps}")
    strength = check_strength(strength)
    if strength == 0.0:
        return 0
    return min(steps, max(1, round(strength * steps)))


def _common(model: DiffusionModel) -> dict[str, Any]:
    return {**model.scheduler_config, "clip_sample": False, "timestep_spacing": "trailing"}


def ddim_scheduler(model: DiffusionModel, *, steps: int, **overrides: Any) -> Any:
    """A ``DDIMScheduler`` on the model's schedule with ``steps`` trailing timesteps."""
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler(**{**_common(model), **overrides})
    scheduler.set_timesteps(steps)
    return scheduler


def inverse_scheduler(model: DiffusionModel, *, steps: int) -> Any:
    """A ``DDIMInverseScheduler`` (no clipping) on the same grid, ascending."""
    from diffusers import DDIMInverseScheduler

    scheduler = DDIMInverseScheduler(**_common(model))
    scheduler.set_timesteps(steps)
    return scheduler
