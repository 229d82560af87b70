"""The frozen settings of a diffusion model and of its training run.

The model settings build a diffusers ``UNet2DModel`` and its noise schedule; the training
settings say how it is fitted. Both are hashed, with the data, into the cache key, so a
changed setting never silently reuses another model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from supervisor_testing.errors import InvalidInputError

__all__ = ["DiffusionModelConfig", "DiffusionTrainConfig"]


@dataclass(frozen=True)
class DiffusionModelConfig:
    """A small pixel-space DDPM: UNet2DModel without attention, linear beta schedule.

    The default ("micro": block_out_channels (16, 32, 32), one layer per block, about
    0.27M parameters) is the size measured to train to recognisable digits in tens of
    minutes on two CPU cores; wider blocks cost about 2.5x per step for each doubling.

    Attributes:
        block_out_channels: channels per UNet resolution level.
        layers_per_block: ResNet layers in each level.
        image_size: side the images are centre-padded to (a multiple of
            ``2 ** (len(block_out_channels) - 1)``); 28-pixel MNIST becomes 32.
        class_conditional: embed the class; one extra "null" class (index
            ``num_classes``) is trained by label dropout, so the same model also runs
            unconditionally.
        num_train_timesteps: length T of the forward process.
        beta_schedule: diffusers beta schedule name.
    """

    block_out_channels: tuple[int, ...] = (16, 32, 32)
    layers_per_block: int = 1
    image_size: int = 32
    class_conditional: bool = True
    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"

    def __post_init__(self) -> None:
        levels = len(self.block_out_channels)
        if levels < 1 or any(c < 1 or c % 8 for c in self.block_out_channels):
            raise InvalidInputError(
                "block_out_channels must be positive multiples of 8 (group norm uses 8 "
                f"groups), got {self.block_out_channels}"
            )
        if self.image_size % (2 ** (levels - 1)):
            raise InvalidInputError(
                f"image_size {self.image_size} must be a multiple of {2 ** (levels - 1)} "
                f"for {levels} UNet levels"
            )

    def unet_kwargs(self, *, in_channels: int, num_classes: int) -> dict[str, Any]:
        """Keyword arguments for ``UNet2DModel`` (no attention: it costs 3x per step)."""
        levels = len(self.block_out_channels)
        return {
            "sample_size": self.image_size,
            "in_channels": in_channels,
            "out_channels": in_channels,
            "block_out_channels": tuple(self.block_out_channels),
            "layers_per_block": self.layers_per_block,
            "down_block_types": ("DownBlock2D",) * levels,
            "up_block_types": ("UpBlock2D",) * levels,
            "add_attention": False,
            "norm_num_groups": 8,
            "num_class_embeds": num_classes + 1 if self.class_conditional else None,
        }

    def scheduler_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the DDPM / DDIM schedulers (epsilon prediction)."""
        return {
            "num_train_timesteps": self.num_train_timesteps,
            "beta_schedule": self.beta_schedule,
            "prediction_type": "epsilon",
            "clip_sample": False,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["block_out_channels"] = list(self.block_out_channels)
        return data


@dataclass(frozen=True)
class DiffusionTrainConfig:
    """How a diffusion model is fitted.

    Attributes:
        max_steps: optimiser steps to run; a time budget may stop earlier, and a later
            call with a larger budget resumes from the checkpoint.
        batch_size: images per step.
        learning_rate: AdamW learning rate.
        ema_decay: upper bound of the exponential moving average of the weights (with
            warm-up, so early checkpoints are not dominated by the random start); the
            EMA weights are the ones saved.
        label_dropout: share of labels replaced by the null class (class-conditional
            models only) so the model also learns the unconditional score.
        seed: seeds batch order, noise, timesteps and the initial weights.
    """

    max_steps: int = 8000
    batch_size: int = 64
    learning_rate: float = 1e-3
    ema_decay: float = 0.999
    label_dropout: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.batch_size < 1:
            raise InvalidInputError("max_steps and batch_size must be positive")
        if not 0.0 <= self.label_dropout < 1.0:
            raise InvalidInputError(f"label_dropout must lie in [0, 1), got {self.label_dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
