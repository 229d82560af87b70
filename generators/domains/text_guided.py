"""Text-guided realisation: a domain's prompt through a local diffusers pipeline.

"Beyond Finite Data" renders each (class, domain) prompt with a pretrained text-to-image
model. A model trained only on the data set has nothing to extrapolate from, so this path
needs the user's own pipeline saved on disk (``pipeline.save_pretrained(PATH)``); it is
loaded with ``local_files_only=True`` and never reaches a network. Where ``diffusers`` is
not installed or the directory is missing, :class:`PipelineUnavailableError` says so: the
generator never falls back to the offline renderers silently.

Two modes: ``img2img`` edits each nominal source image towards the prompt (``strength``
is the pipeline's own: how far into the noise schedule the edit starts), and
``text-to-image`` draws from the prompt alone (``strength`` 0 still returns the source).
Every sample gets its own ``torch.Generator`` seeded from ``(seed, source index,
domain)``, so a sample's output does not depend on its batch.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generators.domains.randomness import domain_key
from supervisor_testing.errors import SupervisorTestingError

__all__ = ["PipelineUnavailableError", "TextGuidedRealiser", "check_pipeline", "load_pipeline"]


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
    """A loaded pipeline and the sampling settings it runs with."""

    pipeline: Any
    mode: str = "img2img"
    steps: int = 30
    guidance_scale: float = 7.5
    resolution: int | None = None
    batch_size: int = 4

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None, **settings: Any) -> TextGuidedRealiser:
        realiser = cls(load_pipeline(path), **settings)
        if realiser.mode == "img2img":
            accepted = inspect.signature(realiser.pipeline.__call__).parameters
            if not {"image", "strength"} <= set(accepted):
                raise PipelineUnavailableError(
                    f"the pipeline at {path} ({type(realiser.pipeline).__name__}) does not "
                    f"edit images (its call takes no image and strength); use "
                    f"prompt_mode='text-to-image' or an image-to-image pipeline"
                )
        return realiser

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
        """Realise each image's prompt; uint8 images of the input's shape."""
        if strength == 0.0 or len(images) == 0:
            return images.clone()
        device = getattr(self.pipeline, "device", "cpu")
        generators = [
            torch.Generator(device=device).manual_seed(_sample_seed(seed, int(i), domain))
            for i in indices
        ]
        size = self._size()
        common: dict[str, Any] = {
            "prompt": list(prompts),
            "guidance_scale": self.guidance_scale,
            "generator": generators,
            "output_type": "pil",
        }
        if self.mode == "img2img":
            # only int(steps * strength) steps run; never let that round down to none
            steps = max(self.steps, math.ceil(1.0 / strength))
            result = self.pipeline(
                image=_to_pil(images, size), strength=strength, num_inference_steps=steps, **common
            )
        else:
            result = self.pipeline(
                height=size, width=size, num_inference_steps=self.steps, **common
            )
        shape = tuple(int(d) for d in images.shape[1:])
        return _from_pil(result.images, shape)  # type: ignore[arg-type]
