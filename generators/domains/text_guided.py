"""Text-guided realisation: a domain's prompt through a local diffusers pipeline.

"Beyond Finite Data" renders each (class, domain) prompt with a pretrained text-to-image
model. A model trained only on the data set has nothing to extrapolate from, so this path
needs the user's own pipeline saved on disk (``pipeline.save_pretrained(PATH)``); it is
loaded with ``local_files_only=True`` and never reaches a network. Where ``diffusers`` is
not installed or the directory is missing, :class:`PipelineUnavailableError` says so: the
generator never falls back to the offline renderers silently.

Two modes: ``img2img`` edits each nominal source image towards the prompt (``strength``
is the pipeline's own: how far into the noise schedule the edit starts; 0 returns the
source), and ``text-to-image`` draws from the prompt alone, which is img2img at strength 1
(nothing of the source survives), so its samples record strength 1 and no other strength
is accepted. Either kind of saved pipeline serves img2img: a text-to-image one is
rebuilt around the same components by :func:`as_img2img`, which the diffusion
generator's latent SDEdit shares.

The pipeline runs on ``device`` (default: CUDA when available, else the CPU). Every sample
gets its own CPU ``torch.Generator`` seeded from ``(seed, source index, domain)``: diffusers
draws the noise on the CPU and moves it, so a sample's bytes do not depend on its batch and
its starting noise is the same on every device (results are reproducible on the same device;
GPU arithmetic differs from the CPU's in the last bits).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generators.domains.randomness import domain_key
from supervisor_testing.errors import InvalidInputError, SupervisorTestingError

__all__ = [
    "PipelineUnavailableError",
    "TextGuidedRealiser",
    "as_img2img",
    "check_pipeline",
    "inference_steps",
    "load_pipeline",
    "resolve_device",
]


class PipelineUnavailableError(SupervisorTestingError):
    """No usable diffusers pipeline: the package is missing or the directory is not a saved
    pipeline. Tests of the text-guided path skip on it."""


def check_pipeline(path: str | os.PathLike[str] | None) -> Path:
    """The pipeline directory, once it exists and ``diffusers`` is importable (checked
    without importing it, so a generator fails before it starts writing).

    Raises:
        PipelineUnavailableError: ``path`` is unset or missing, or ``diffusers`` is not
            installed.
    """
    if path is None:
        raise PipelineUnavailableError(
            "the text-guided realisation needs a pipeline directory (--pipeline PATH); "
            "use the procedural realisation otherwise"
        )
    directory = Path(path)
    if not directory.is_dir():
        raise PipelineUnavailableError(
            f"no diffusers pipeline at {directory}: the directory does not exist; save one "
            f"there with pipeline.save_pretrained(PATH) or use the procedural realisation"
        )
    if importlib.util.find_spec("diffusers") is None:
        raise PipelineUnavailableError(
            "the text-guided realisation needs the diffusers package, which is not "
            "installed: `pip install diffusers transformers`, or use the procedural "
            "realisation"
        )
    return directory


def load_pipeline(path: str | os.PathLike[str] | None) -> Any:
    """``DiffusionPipeline.from_pretrained(path, local_files_only=True)``, with clear errors.

    Raises:
        PipelineUnavailableError: ``path`` is unset or missing, ``diffusers`` is not
            installed, or the directory holds no loadable pipeline.
    """
    directory = check_pipeline(path)
    import diffusers

    try:
        return diffusers.DiffusionPipeline.from_pretrained(str(directory), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise PipelineUnavailableError(
            f"cannot load a diffusers pipeline from {directory} ({exc}); point --pipeline at "
            f"a directory written by save_pretrained"
        ) from None


def inference_steps(steps: int, strength: float) -> int:
    """The ``num_inference_steps`` to ask for so that at least one step runs.

    diffusers runs ``int(num_inference_steps * strength)`` steps, which is zero for a small
    strength (diffusers #1867); the project's rule is that any strength > 0 edits.
    """
    steps = max(int(steps), 1)
    while int(steps * strength) < 1:
        steps += 1  # a loop, not ceil(1 / strength): float products can land just below 1
    return steps


def edits_images(pipeline: Any) -> bool:
    """Whether ``pipeline``'s call takes a source image and a strength (image-to-image)."""
    accepted = inspect.signature(pipeline.__call__).parameters
    return {"image", "strength"} <= set(accepted)


def as_img2img(pipeline: Any) -> Any:
    """``pipeline`` itself when it edits images, else the image-to-image pipeline built
    around the same components (diffusers' ``AutoPipelineForImage2Image.from_pipe``: no
    weights are copied). Its progress bar is off: the corpus build has its own.

    Raises:
        PipelineUnavailableError: diffusers has no image-to-image counterpart for it.
    """
    if not edits_images(pipeline):
        from diffusers import AutoPipelineForImage2Image

        try:
            pipeline = AutoPipelineForImage2Image.from_pipe(pipeline)
        except (ValueError, TypeError) as exc:
            raise PipelineUnavailableError(
                f"a {type(pipeline).__name__} cannot edit images and diffusers has no "
                f"image-to-image pipeline for it ({str(exc).splitlines()[0]}); use "
                f"prompt_mode='text-to-image' or save a Stable-Diffusion pipeline"
            ) from None
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def resolve_device(device: str | None) -> torch.device:
    """``device``, or CUDA when available and the CPU otherwise; an unknown or absent
    device is an error here rather than deep inside the first pipeline call.

    Raises:
        InvalidInputError: ``device`` is not a torch device name or is not available.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(
            f"domains: {device!r} is not a torch device; use e.g. cpu, cuda or cuda:1"
        ) from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(
            f"domains: device {device} was asked for but CUDA is not available here; "
            f"use --device cpu or leave it out"
        )
    return chosen


def _sample_seed(seed: int, index: int, domain: str) -> int:
    state = np.random.SeedSequence(seed, spawn_key=(int(index), domain_key(domain)))
    return int(state.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _to_pil(images: torch.Tensor, size: int) -> list[Any]:
    from PIL import Image

    out = []
    for image in images.permute(0, 2, 3, 1).numpy():
        mode = "L" if image.shape[2] == 1 else "RGB"
        picture = Image.fromarray(
            np.ascontiguousarray(image[:, :, 0] if mode == "L" else image), mode
        )
        out.append(picture.convert("RGB").resize((size, size), Image.Resampling.BICUBIC))
    return out


def _from_pil(pictures: Sequence[Any], shape: tuple[int, int, int]) -> torch.Tensor:
    from PIL import Image

    channels, height, width = shape
    arrays = []
    for picture in pictures:
        small = picture.convert("L" if channels == 1 else "RGB").resize(
            (width, height), Image.Resampling.LANCZOS
        )
        array = np.asarray(small, dtype=np.uint8)
        arrays.append(array[None] if channels == 1 else array.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(arrays))


@dataclass
class TextGuidedRealiser:
    """A loaded pipeline, the device it runs on and the sampling settings it runs with."""

    pipeline: Any
    mode: str = "img2img"
    steps: int = 30
    guidance_scale: float = 7.5
    resolution: int | None = None
    batch_size: int = 4

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None, *, device: str | None = None, **settings: Any
    ) -> TextGuidedRealiser:
        """Load the pipeline at ``path`` for ``settings["mode"]`` onto ``device``.

        Raises:
            PipelineUnavailableError: no loadable pipeline, or img2img on one that neither
                edits images nor has an image-to-image counterpart.
            InvalidInputError: ``device`` is unknown or unavailable.
        """
        target = resolve_device(device)
        pipeline = load_pipeline(path)
        if settings.get("mode", "img2img") == "img2img":
            pipeline = as_img2img(pipeline)
        else:
            pipeline.set_progress_bar_config(disable=True)
        return cls(pipeline.to(target), **settings)

    def _size(self) -> int:
        if self.resolution is not None:
            return self.resolution
        unet = getattr(self.pipeline, "unet", None)
        sample = getattr(getattr(unet, "config", None), "sample_size", None)
        factor = getattr(self.pipeline, "vae_scale_factor", 8)
        return int(sample * factor) if isinstance(sample, int) else 512

    def realise(
        self,
        images: torch.Tensor,
        prompts: Sequence[str],
        *,
        strength: float,
        seed: int,
        indices: torch.Tensor,
        domain: str,
    ) -> torch.Tensor:
        """Realise each image's prompt; uint8 images of the input's shape.

        ``strength`` is img2img's; text-to-image ignores it (the generator records 1).
        """
        if len(images) == 0 or (self.mode == "img2img" and strength == 0.0):
            return images.clone()
        # CPU generators: diffusers draws the noise there and moves it to the pipeline's
        # device, so the starting noise is the same bytes on any device
        generators = [
            torch.Generator().manual_seed(_sample_seed(seed, int(i), domain)) for i in indices
        ]
        size = self._size()
        common: dict[str, Any] = {
            "prompt": list(prompts),
            "guidance_scale": self.guidance_scale,
            "generator": generators,
            "output_type": "pil",
        }
        with torch.no_grad():
            if self.mode == "img2img":
                result = self.pipeline(
                    image=_to_pil(images, size),
                    strength=strength,
                    num_inference_steps=inference_steps(self.steps, strength),
                    **common,
                )
            else:
                result = self.pipeline(
                    height=size, width=size, num_inference_steps=self.steps, **common
                )
        shape = tuple(int(d) for d in images.shape[1:])
        return _from_pil(result.images, shape)  # type: ignore[arg-type]
