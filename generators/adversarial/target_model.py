"""The classifier under attack: resolved from a recipe's strings, checked, fingerprinted.

A recipe names the model the way every other command does (``resolve_model``): an
architecture trained on ``train_data`` with ``model_seed`` (cached), a saved model
directory, or ``package.module:factory``. The weights' sha256 goes into the corpus
manifest, because an adversarial corpus is only adversarial for the weights it was made
against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset
    from supervisor_testing.models.storage import TrainedModel

__all__ = ["TargetModel", "check_fits", "check_model_spec", "resolve_target_model"]


def check_model_spec(model: object, train_data: object) -> None:
    """Reject a model spec and training data set that cannot name a model, before any
    training or loading happens (recipes are checked when they are read)."""
    from supervisor_testing.models import architectures

    if not isinstance(model, str) or not model.strip():
        raise InvalidInputError(
            f"model must be an architecture name, a saved model directory or "
            f"'package.module:factory', got {model!r}"
        )
    if train_data is not None and (not isinstance(train_data, str) or not train_data.strip()):
        raise InvalidInputError(f"train_data must be a data set name or path, got {train_data!r}")
    is_architecture = model.strip() in architectures
    if is_architecture and train_data is None:
        raise InvalidInputError(
            f"model {model!r} is an architecture: name the data set it is trained on with "
            'train_data (e.g. train_data = "mnist")'
        )
    if not is_architecture and train_data is not None:
        raise InvalidInputError(
            f"train_data applies to an architecture name only; model {model!r} is a saved "
            "model or a factory, so drop train_data"
        )


@dataclass(frozen=True)
class TargetModel:
    """A resolved classifier and the sha256 of its weights."""

    trained: TrainedModel
    sha256: str

    @property
    def module(self) -> torch.nn.Module:
        return self.trained.module


def resolve_target_model(
    model: str,
    *,
    train_data: str | None,
    model_seed: int,
    expected_sha256: str | None = None,
    progress: bool = False,
) -> TargetModel:
    """Train, load or import the model; refuse weights other than ``expected_sha256``."""
    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import model_sha256, resolve_model

    check_model_spec(model, train_data)
    train = load_dataset(train_data, "train") if train_data is not None else None
    trained = resolve_model(model, dataset=train, seed=model_seed, progress=progress)
    digest = model_sha256(trained.module)
    if expected_sha256 is not None and digest != expected_sha256:
        raise InvalidInputError(
            f"model {model!r} has weights {digest[:12]}..., but model_sha256 pins "
            f"{expected_sha256[:12]}...; the corpus would attack another classifier. Restore "
            "those weights, or drop model_sha256 to attack these"
        )
    return TargetModel(trained, digest)


def check_fits(target: TargetModel, source: Dataset, *, spec: str) -> None:
    """Fail before any attack when the model cannot read ``source`` or its labels."""
    trained = target.trained
    if trained.input_shape is not None and tuple(trained.input_shape) != source.image_shape:
        raise InvalidInputError(
            f"model {spec!r} takes {tuple(trained.input_shape)} images but data set "
            f"{source.name!r} has {source.image_shape}; attack a model trained on "
            f'{source.name!r} (e.g. train_data = "{source.name}")'
        )
    if trained.class_names and trained.num_classes != source.num_classes:
        raise InvalidInputError(
            f"model {spec!r} has {trained.num_classes} classes but data set {source.name!r} "
            f"has {source.num_classes}; attack a model trained on {source.name!r}"
        )
    if len(source) == 0:
        return
    # A factory model declares no shape: one probe shows whether it takes these images.
    probe = source.images[:1].float().div_(255.0)
    try:
        with torch.no_grad():
            logits = target.module.eval()(probe.to(_device(target.module)))
    except RuntimeError as exc:
        raise InvalidInputError(
            f"model {spec!r} cannot read {source.name!r} images of shape "
            f"{source.image_shape} ({str(exc).splitlines()[0]}); attack a model trained on it"
        ) from None
    if logits.ndim != 2 or logits.shape[1] != source.num_classes:
        raise InvalidInputError(
            f"model {spec!r} maps {source.name!r} images to {tuple(logits.shape)}, expected "
            f"logits of shape N x {source.num_classes}; attack a classifier for this data set"
        )


def _device(module: torch.nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
