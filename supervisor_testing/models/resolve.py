"""One string names a classifier: an architecture, a saved model, or an import path.

The CLI, recipes and the pytest plugin all take a ``--model`` string; this module turns it
into a :class:`TrainedModel` so that every caller accepts the same three forms.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import (
    InvalidInputError,
    SupervisorTestingError,
    UnknownNameError,
)
from supervisor_testing.models.networks import architectures, list_architectures
from supervisor_testing.models.storage import TrainedModel, load_factory, load_trained_model
from supervisor_testing.models.training import train_model

__all__ = ["resolve_model"]

_FORMS = "an architecture ({archs}), a directory holding a saved model, or 'package.module:factory'"


def _forms() -> str:
    return _FORMS.format(archs=", ".join(list_architectures()))


def _looks_like_path(spec: str) -> bool:
    return (
        os.sep in spec
        or "/" in spec
        or spec.startswith(("~", "."))
        or spec.endswith((".safetensors", ".json"))
    )


def _check_fits(model: TrainedModel, dataset: Dataset, spec: str) -> None:
    """Fail early, with the spec in the message, when a model cannot read ``dataset``."""
    if model.input_shape is not None and tuple(model.input_shape) != dataset.image_shape:
        raise InvalidInputError(
            f"model {spec!r} takes {model.input_shape} images but data set "
            f"{dataset.name!r} has {dataset.image_shape}; pick a model trained on it"
        )
    if model.class_names and model.num_classes != dataset.num_classes:
        raise InvalidInputError(
            f"model {spec!r} has {model.num_classes} classes but data set "
            f"{dataset.name!r} has {dataset.num_classes}; pick a model trained on it"
        )


def _from_factory(spec: str, dataset: Dataset | None) -> TrainedModel:
    module = load_factory(spec)
    if dataset is None:
        return TrainedModel(
            module=module, config=None, class_names=(), input_shape=None, factory=spec
        )
    # A two-image probe catches a factory built for other data before any real work starts.
    with torch.no_grad():
        probe = module(dataset.images[:2].float().div_(255.0))
    expected = (min(2, len(dataset)), dataset.num_classes)
    if not isinstance(probe, torch.Tensor) or tuple(probe.shape) != expected:
        got = tuple(probe.shape) if isinstance(probe, torch.Tensor) else type(probe).__name__
        raise InvalidInputError(
            f"model factory {spec!r} maps {dataset.name!r} images to {got}, expected logits "
            f"of shape N x {dataset.num_classes}; make it return a classifier for this data set"
        )
    return TrainedModel(
        module=module,
        config=None,
        class_names=tuple(dataset.class_names),
        input_shape=dataset.image_shape,
        factory=spec,
    )


def resolve_model(
    spec: str, *, dataset: Dataset | None = None, seed: int = 0, progress: bool = False
) -> TrainedModel:
    """The classifier that ``spec`` names.

    Args:
        spec: an architecture name (trained on ``dataset`` with its defaults and cached),
            a directory written by :meth:`TrainedModel.save`, or ``package.module:factory``
            (called without arguments; must return an ``nn.Module`` that maps ``[0, 1]``
            images to logits).
        dataset: the training split for an architecture name; for the other forms it is
            only used to check that the model fits the data.
        seed: training seed for an architecture name.
        progress: show a progress bar while training.

    Raises:
        UnknownNameError: ``spec`` is none of the three forms.
        SupervisorTestingError: a directory or factory that cannot be loaded, or an
            architecture name without ``dataset``.
        InvalidInputError: the model does not fit ``dataset``.

    Example:
        >>> resolve_model("no-such-net")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        supervisor_testing.errors.UnknownNameError: unknown model 'no-such-net'; ...
    """
    spec = spec.strip()
    path = Path(spec).expanduser()
    # A registered name wins over a directory of the same name; "./cnn" names the directory.
    if spec in architectures:
        if dataset is None:
            raise SupervisorTestingError(
                f"architecture {spec!r} needs a training data set: pass dataset=..., "
                "or name a saved model directory or 'package.module:factory' instead"
            )
        return train_model(dataset, spec, seed=seed, progress=progress)
    if path.is_dir():
        model = load_trained_model(path)
    elif ":" in spec and not _looks_like_path(spec):
        model = _from_factory(spec, dataset)
    elif _looks_like_path(spec):
        raise SupervisorTestingError(
            f"no saved model at {spec!r}: the directory does not exist; pass {_forms()}"
        )
    else:
        raise UnknownNameError(f"unknown model {spec!r}; pass {_forms()}")
    if dataset is not None:
        _check_fits(model, dataset, spec)
    return model
