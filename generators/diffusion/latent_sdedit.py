"""SDEdit through a user's local Stable-Diffusion pipeline (latent, text-conditioned).

A saved ``StableDiffusionPipeline`` or ``StableDiffusionImg2ImgPipeline`` has no
pixel-space UNet for :mod:`generators.diffusion.sdedit`, but diffusers' image-to-image
pipeline *is* SDEdit in the VAE's latent space: it noises the encoded input to
``strength`` of the schedule and denoises it back, guided by a prompt. So this path hands
the edit to ``StableDiffusionImg2ImgPipeline`` (a text-to-image pipeline is rebuilt around
its components by :func:`generators.domains.text_guided.as_img2img`) and only
adds what the corpus needs around it: RGB and the pipeline's resolution in, the corpus's
channels and size out, one seeded ``torch.Generator`` and one pipeline call per sample
(bytes never depend on batching), and at least one denoising step for any strength > 0.
CODE needs the pixel-space noise predictor for its latent updates, so it is refused here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from generators.domains.text_guided import (
    PipelineUnavailableError,
    as_img2img,
    inference_steps,
    load_pipeline,
)
from supervisor_testing.errors import InvalidInputError

__all__ = [
    "DEFAULT_PROMPT",
    "LATENT_PIPELINES",
    "LatentEditor",
    "is_latent_pipeline",
    "render_prompt",
]

#: ``model_index.json`` class names this path edits with.
LATENT_PIPELINES = ("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline")

#: the prompt template; ``{class}`` becomes the source's class name, "" runs unprompted.
DEFAULT_PROMPT = "a photo of a {class}"

#: ITU-R BT.601 luma weights: how an RGB edit goes back to a 1-channel corpus (the same
#: weights PIL's ``convert("L")`` uses).
_LUMA = (0.299, 0.587, 0.114)


def is_latent_pipeline(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a saved Stable-Diffusion (img2img) pipeline."""
    index = Path(path).expanduser() / "model_index.json"
    if not index.is_file():
        return False
    try:
        name = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError):
        return False
    return name in LATENT_PIPELINES


def render_prompt(template: str, class_name: str) -> str:
    """``template`` with ``{class}`` replaced (plain replace: other braces stay literal)."""
    return template.replace("{class}", class_name)


def _resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if tuple(x.shape[-2:]) == (height, width):
        return x
    return F.interpolate(x, size=(height, width), mode="bicubic", antialias=True)


@dataclass(eq=False)
class LatentEditor:
    """A loaded ``StableDiffusionImg2ImgPipeline`` and where it came from."""

    pipeline: Any
    path: Path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LatentEditor:
        """Load ``path`` with ``local_files_only=True`` and wrap it for image-to-image.

        Raises:
            InvalidInputError: the directory is missing or does not load.
        """
        try:
            pipeline = as_img2img(load_pipeline(Path(path).expanduser()))
        except PipelineUnavailableError as exc:
            raise InvalidInputError(f"diffusion: {exc}") from None
        return cls(pipeline=pipeline, path=Path(path).expanduser())

    @property
    def image_size(self) -> int:
        """The side the pipeline works at: its UNet's latent side times the VAE factor."""
        size = self.pipeline.unet.config.sample_size
        side = size if isinstance(size, int) else size[0]
        return int(side) * int(self.pipeline.vae_scale_factor)

    def describe(self) -> str:
        return (
            f"{type(self.pipeline).__name__} RGB {self.image_size}x{self.image_size} ({self.path})"
        )

    def t0(self, strength: float, *, steps: int) -> int:
        """The training timestep the edit starts from (diffusers' ``get_timesteps`` rule)."""
        scheduler = type(self.pipeline.scheduler).from_config(self.pipeline.scheduler.config)
        n = inference_steps(steps, strength)
        scheduler.set_timesteps(n)
        start = max(n - min(int(n * strength), n), 0)
        return int(scheduler.timesteps[start * scheduler.order])

    @torch.no_grad()
    def edit(
        self,
        images: torch.Tensor,
        prompts: Sequence[str],
        seeds: Sequence[int],
        *,
        strength: float,
        steps: int,
        guidance_scale: float,
    ) -> torch.Tensor:
        """SDEdit uint8 ``N x C x H x W`` images (C 1 or 3); uint8 edits of the same shape.

        Each row runs alone with its own generator, so a sample's bytes depend only on its
        image, prompt and seed.
        """
        channels, height, width = (int(d) for d in images.shape[1:])
        if channels not in (1, 3):
            raise InvalidInputError(
                f"diffusion: a Stable-Diffusion pipeline edits RGB images; the source has "
                f"{channels} channels (use a 1- or 3-channel corpus)"
            )
        side = self.image_size
        n = inference_steps(steps, strength)
        out = []
        for image, prompt, seed in zip(images, prompts, seeds, strict=True):
            x = image[None].float().div(255.0)
            x = _resize(x.expand(-1, 3, -1, -1), side, side).clamp(0.0, 1.0)
            result = self.pipeline(
                prompt=prompt,
                image=x,
                strength=strength,
                num_inference_steps=n,
                guidance_scale=guidance_scale,
                generator=torch.Generator().manual_seed(int(seed)),
                output_type="pt",
            ).images
            y = _resize(result.float().cpu(), height, width)
            if channels == 1:
                luma = torch.tensor(_LUMA, dtype=y.dtype).view(1, 3, 1, 1)
                y = (y * luma).sum(dim=1, keepdim=True)
            out.append(y.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8))
        if not out:
            return images.clone()
        return torch.cat(out)
