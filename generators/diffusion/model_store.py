"""Diffusion models on disk: diffusers directories, loaded from local files only.

A model is either a saved pipeline (``model_index.json`` with ``unet/`` and ``scheduler/``
sub-folders, as ``DDPMPipeline.save_pretrained`` writes) or a bare UNet directory
(``config.json`` + weights, with an optional ``scheduler_config.json`` or ``scheduler/``
beside it). Everything loads with ``local_files_only=True``: a missing directory is an
error that says how to get one, never a hub download. Models trained here also carry
``training.json`` (data hash, settings, steps, wall time).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor_testing.atomic import atomic_directory
from supervisor_testing.errors import InvalidInputError

__all__ = [
    "PRETRAINED_DIR",
    "TRAINING_FILE",
    "DiffusionModel",
    "default_model_path",
    "load_diffusion_model",
    "resolve_diffusion_model",
    "save_diffusion_model",
]

TRAINING_FILE = "training.json"

#: weights trained by ``suptest model train-diffusion`` that ship inside the package.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"

_WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")

TRAIN_HINT = (
    "train one with `suptest model train-diffusion --dataset mnist` or pass --pipeline PATH "
    "to a local diffusers directory (save_pretrained)"
)


@dataclass(eq=False)
class DiffusionModel:
    """A UNet that predicts noise, the schedule it was trained on, and where it came from.

    Attributes:
        unet: a diffusers ``UNet2DModel`` in eval mode.
        scheduler_config: the training noise schedule (builds DDPM / DDIM schedulers).
        num_classes: classes of a class-conditional model (its extra "null" class, index
            ``num_classes``, runs it unconditionally); ``None`` for unconditional models.
        path: the directory it was loaded from, ``None`` when built in memory.
        training: the ``training.json`` record, empty when the model was not trained here.
    """

    unet: Any
    scheduler_config: dict[str, Any]
    num_classes: int | None = None
    path: Path | None = None
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        size = self.unet.config.sample_size
        return int(size if isinstance(size, int) else size[0])

    @property
    def in_channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler_config["num_train_timesteps"])

    def describe(self) -> str:
        where = str(self.path) if self.path else "in memory"
        kind = (
            f"class-conditional ({self.num_classes} classes)"
            if self.num_classes
            else "unconditional"
        )
        return (
            f"{kind} UNet2DModel {self.in_channels}x{self.image_size}x{self.image_size} ({where})"
        )


def default_model_path(dataset_name: str = "mnist") -> Path:
    """The shipped model directory for ``dataset_name`` (it may not exist)."""
    return PRETRAINED_DIR / dataset_name


def save_diffusion_model(model: DiffusionModel, directory: str | os.PathLike[str]) -> Path:
    """Write ``model`` as a DDPM pipeline directory, atomically (temp dir, then rename)."""
    from diffusers import DDPMPipeline, DDPMScheduler

    target = Path(directory)
    with atomic_directory(target) as staging:
        pipeline = DDPMPipeline(
            unet=model.unet, scheduler=DDPMScheduler(**_schedule_kwargs(model.scheduler_config))
        )
        pipeline.save_pretrained(staging, safe_serialization=True)
        record = dict(model.training)
        record["num_classes"] = model.num_classes
        (staging / TRAINING_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    model.path = target
    return target


def _schedule_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    # a scheduler config carries bookkeeping keys (_class_name, versions) the constructors
    # do not take; keep the ones the DDPM and DDIM schedulers share
    keys = (
        "num_train_timesteps",
        "beta_start",
        "beta_end",
        "beta_schedule",
        "trained_betas",
        "prediction_type",
        "clip_sample",
        "clip_sample_range",
        "timestep_spacing",
        "steps_offset",
        "rescale_betas_zero_snr",
    )
    return {k: config[k] for k in keys if k in config}


def _missing(directory: Path) -> InvalidInputError:
    return InvalidInputError(
        f"no diffusion model at {directory}: the directory does not exist; {TRAIN_HINT}"
    )


def _incomplete(directory: Path, what: str) -> InvalidInputError:
    return InvalidInputError(
        f"the diffusion model directory {directory} is incomplete ({what}); retrain or re-save "
        f"it with save_pretrained, or {TRAIN_HINT.split(' or ', 1)[1]}"
    )


def _unet_dir(directory: Path) -> Path:
    """The folder holding the UNet's ``config.json`` and weights."""
    if (directory / "model_index.json").is_file():
        index = json.loads((directory / "model_index.json").read_text())
        if "unet" not in index:
            raise InvalidInputError(
                f"the pipeline at {directory} ({index.get('_class_name', 'unknown')}) has no "
                "unet component; diffusion edits need a pixel-space UNet2DModel pipeline"
            )
        directory = directory / "unet"
    if not (directory / "config.json").is_file():
        raise _incomplete(directory, "config.json is missing")
    if not any((directory / name).is_file() for name in _WEIGHT_NAMES):
        raise _incomplete(
            directory, "the weights file diffusion_pytorch_model.safetensors is missing"
        )
    return directory


def _scheduler_config(root: Path, unet_dir: Path) -> dict[str, Any]:
    for candidate in (
        root / "scheduler" / "scheduler_config.json",
        unet_dir / "scheduler_config.json",
        unet_dir.parent / "scheduler" / "scheduler_config.json",
    ):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    # a bare UNet without a schedule: the DDPM defaults it was most likely trained with
    return {"num_train_timesteps": 1000, "beta_schedule": "linear", "prediction_type": "epsilon"}


def load_diffusion_model(path: str | os.PathLike[str]) -> DiffusionModel:
    """Load a local diffusers UNet (pipeline or bare UNet directory) for editing.

    Raises:
        InvalidInputError: the directory is missing, lacks its config or weights, holds
            something other than a ``UNet2DModel`` predicting noise, or fails to load.
    """
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise _missing(directory)
    unet_dir = _unet_dir(directory)
    unet_config = json.loads((unet_dir / "config.json").read_text())
    if unet_config.get("_class_name", "UNet2DModel") != "UNet2DModel":
        raise InvalidInputError(
            f"{unet_dir} holds a {unet_config['_class_name']}; diffusion edits need a pixel-space "
            "UNet2DModel here (a saved StableDiffusionPipeline or StableDiffusionImg2ImgPipeline "
            "directory runs sdedit through the diffusion generator)"
        )
    from diffusers import UNet2DModel

    try:
        unet = UNet2DModel.from_pretrained(
            str(unet_dir), local_files_only=True, low_cpu_mem_usage=False
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise _incomplete(unet_dir, f"loading failed: {str(exc).splitlines()[0]}") from None
    unet.eval().requires_grad_(False)
    scheduler_config = _scheduler_config(directory, unet_dir)
    if scheduler_config.get("prediction_type", "epsilon") != "epsilon":
        raise InvalidInputError(
            f"the model at {directory} predicts {scheduler_config['prediction_type']!r}; the "
            "edits need a noise (epsilon) predicting model"
        )
    training: dict[str, Any] = {}
    training_file = directory / TRAINING_FILE
    if training_file.is_file():
        training = json.loads(training_file.read_text())
    embeds = unet.config.num_class_embeds
    num_classes = training.get("num_classes", embeds - 1 if embeds else None)
    return DiffusionModel(
        unet=unet,
        scheduler_config=_schedule_kwargs(scheduler_config),
        num_classes=num_classes,
        path=directory,
        training=training,
    )


def resolve_diffusion_model(
    pipeline: str | os.PathLike[str] | None, dataset_name: str
) -> DiffusionModel:
    """The model an edit of ``dataset_name`` uses.

    ``pipeline`` when given; otherwise the model shipped in the package for that data set,
    then the most-trained model ``suptest model train-diffusion`` cached for it.

    Raises:
        InvalidInputError: no model is given, shipped or cached (the message says how to
            train one), or the given one is missing or incomplete.
    """
    if pipeline is not None:
        return load_diffusion_model(pipeline)
    shipped = default_model_path(dataset_name)
    if shipped.is_dir():
        return load_diffusion_model(shipped)
    from supervisor_testing.paths import cache_dir

    best: tuple[int, Path] | None = None
    for record_path in cache_dir("diffusion", create=False).glob(f"*/model/{TRAINING_FILE}"):
        record = json.loads(record_path.read_text())
        if record.get("dataset", {}).get("name") == dataset_name:
            candidate = (int(record.get("steps", 0)), record_path.parent)
            best = candidate if best is None or candidate[0] > best[0] else best
    if best is None:
        raise InvalidInputError(
            f"no diffusion model for data set {dataset_name!r} is shipped or cached; "
            f"{TRAIN_HINT.replace('mnist', dataset_name)}"
        )
    return load_diffusion_model(best[1])
