"""A trained model with its provenance, and its on-disk form.

A saved model is a directory holding ``config.json`` (sorted, indented: architecture, input
shape, classes, training config, data set hash, versions) and ``model.safetensors``. Weights
are never pickled, so loading a model never runs code from the file. Directories are written
under a temporary name and renamed, so a half-written model is never visible.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from supervisor_testing._version import __version__
from supervisor_testing.atomic import atomic_directory
from supervisor_testing.errors import InvalidInputError, SupervisorTestingError
from supervisor_testing.models.config import TrainConfig
from supervisor_testing.models.networks import build_model

__all__ = [
    "CONFIG_FILE",
    "MODEL_FORMAT_VERSION",
    "WEIGHTS_FILE",
    "TrainedModel",
    "load_factory",
    "load_trained_model",
]

#: Bump when the architectures, the training loop or the file layout change in a way that
#: makes older weights wrong: it is part of every cache key.
MODEL_FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A classifier in eval mode plus what it was trained on and how.

    Attributes:
        module: maps float32 images in ``[0, 1]`` (``N x C x H x W``) to logits ``N x K``.
        config: how it was trained; ``None`` for a model from a ``module:factory`` spec.
        class_names: class names indexed by logit (empty when unknown).
        input_shape: ``(C, H, W)`` it expects, ``None`` when unknown.
        dataset_sha256: hash of the training split, ``None`` when unknown.
        train_seconds: wall-clock training time, ``None`` when unknown.
        path: the directory it was loaded from or cached in, ``None`` if only in memory.
        dataset_name: name of the training data set, ``None`` when unknown.
        dataset_split: split of the training data set, ``None`` when unknown.
        factory: ``package.module:factory`` that builds ``module``, for factory models.
    """

    module: nn.Module
    config: TrainConfig | None
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int] | None
    dataset_sha256: str | None = None
    train_seconds: float | None = None
    path: Path | None = None
    dataset_name: str | None = None
    dataset_split: str | None = None
    factory: str | None = None

    @property
    def arch(self) -> str | None:
        return self.config.arch if self.config is not None else None

    @property
    def num_classes(self) -> int | None:
        """``len(class_names)``, or ``None`` for a factory model with unknown classes."""
        return len(self.class_names) or None

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to ``directory`` atomically.

        Raises:
            SupervisorTestingError: ``directory`` exists and is not empty (unless
                ``overwrite``), or the model cannot be rebuilt from a config.
        """
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()) and not overwrite:
            raise SupervisorTestingError(
                f"{directory} already exists and is not empty; choose another directory "
                "or pass overwrite=True"
            )
        write_model_dir(self, directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TrainedModel:
        """Same as :func:`load_trained_model`."""
        return load_trained_model(directory)


def model_metadata(model: TrainedModel) -> dict[str, Any]:
    if model.config is None and model.factory is None:
        raise SupervisorTestingError(
            "this model has neither a training config nor a factory to rebuild it from; "
            "wrap it with resolve_model('package.module:factory') to make it saveable"
        )
    return {
        "format_version": MODEL_FORMAT_VERSION,
        "arch": model.arch,
        "factory": model.factory,
        "input_shape": list(model.input_shape) if model.input_shape else None,
        "num_classes": model.num_classes,
        "class_names": list(model.class_names),
        "train_config": model.config.to_dict() if model.config is not None else None,
        "dataset": {
            "name": model.dataset_name,
            "split": model.dataset_split,
            "sha256": model.dataset_sha256,
        },
        "train_seconds": model.train_seconds,
        "torch_version": torch.__version__,
        "supervisor_testing_version": __version__,
    }


def write_model_dir(model: TrainedModel, directory: Path, *, replace: bool = True) -> None:
    """Write to a sibling temporary directory, then rename it into place.

    Raises:
        FileExistsError: ``directory`` exists and ``replace`` is false.
    """
    from safetensors.torch import save_model

    metadata = model_metadata(model)
    if directory.exists() and not replace:
        raise FileExistsError(directory)
    with atomic_directory(directory, replace=replace) as tmp:
        (tmp / CONFIG_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        # save_model (not save_file) copes with tied weights in third-party modules.
        save_model(model.module, str(tmp / WEIGHTS_FILE))


def load_factory(spec: str) -> nn.Module:
    """Import ``package.module:factory``, call it without arguments, check it is a module.

    Raises:
        SupervisorTestingError: the module does not import or has no such attribute.
        InvalidInputError: the factory returned something that is not an ``nn.Module``.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SupervisorTestingError(
            f"model factory {spec!r} must look like 'package.module:factory'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SupervisorTestingError(
            f"model factory {spec!r}: module {module_name!r} failed to import ({exc}); "
            "check the spelling or install the package, and type 'package.module:factory'"
        ) from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise SupervisorTestingError(
                f"model factory {spec!r}: {module_name!r} has no attribute {attr!r}; "
                "type 'package.module:factory' with a function that returns an nn.Module"
            )
        target = getattr(target, part)
    if not callable(target):
        raise SupervisorTestingError(f"model factory {spec!r} is not callable")
    built = target()
    if not isinstance(built, nn.Module):
        raise InvalidInputError(
            f"model factory {spec!r} returned {type(built).__name__}, not a torch.nn.Module; "
            "make it return the classifier"
        )
    return built.eval()


def load_trained_model(directory: str | Path) -> TrainedModel:
    """Load a model that :meth:`TrainedModel.save` (or the training cache) wrote.

    Raises:
        SupervisorTestingError: the directory is missing, incomplete or inconsistent.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not directory.is_dir():
        raise SupervisorTestingError(
            f"no saved model at {directory}: the directory does not exist; "
            f"pass a directory holding {CONFIG_FILE} and {WEIGHTS_FILE}"
        )
    missing = [p.name for p in (config_path, weights_path) if not p.is_file()]
    if missing:
        raise SupervisorTestingError(
            f"{directory} is not a saved model: {', '.join(missing)} missing; "
            f"pass a directory written by TrainedModel.save"
        )
    try:
        meta = json.loads(config_path.read_text())
        version = meta["format_version"]
        if version != MODEL_FORMAT_VERSION:
            raise SupervisorTestingError(
                f"{config_path} has model format {version}, this version reads "
                f"{MODEL_FORMAT_VERSION}; retrain or re-save the model"
            )
        config = TrainConfig.from_dict(meta["train_config"]) if meta["train_config"] else None
        input_shape = tuple(meta["input_shape"]) if meta["input_shape"] else None
        class_names = tuple(meta["class_names"])
        dataset = meta.get("dataset") or {}
        factory = meta.get("factory")
    except (ValueError, KeyError, TypeError) as exc:
        raise SupervisorTestingError(
            f"{config_path} is malformed ({exc}); re-save the model"
        ) from exc
    if config is not None:
        if input_shape is None:
            raise SupervisorTestingError(f"{config_path} lacks input_shape; re-save the model")
        module = build_model(
            config.arch,
            in_channels=input_shape[0],
            image_size=input_shape[1:],
            num_classes=int(meta["num_classes"]),
        )
    elif factory:
        module = load_factory(factory)
    else:
        raise SupervisorTestingError(
            f"{config_path} names neither an architecture nor a factory; re-save the model"
        )
    try:
        load_model(module, str(weights_path), strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise SupervisorTestingError(
            f"{weights_path} does not fit the model described in {config_path} ({exc}); "
            "delete the directory and retrain or re-save"
        ) from exc
    module.eval()
    return TrainedModel(
        module=module,
        config=config,
        class_names=class_names,
        input_shape=input_shape,  # type: ignore[arg-type]
        dataset_sha256=dataset.get("sha256"),
        train_seconds=meta.get("train_seconds"),
        path=directory,
        dataset_name=dataset.get("name"),
        dataset_split=dataset.get("split"),
        factory=factory,
    )
