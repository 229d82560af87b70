"""Reference classifiers: architectures, deterministic cached training, save and load.

Every model maps float32 images in ``[0, 1]`` (``N x C x H x W``) to logits ``N x K`` and
has two submodules, ``features`` (to the penultimate activations) and ``head`` (one
``nn.Linear``), so feature-based supervisors can hook ``features`` by name.

Names are imported on first use (PEP 562), so importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Classifier",
    "TrainConfig",
    "TrainedModel",
    "accuracy",
    "architectures",
    "build_model",
    "list_architectures",
    "load_trained_model",
    "model_cache_key",
    "model_sha256",
    "predict_logits",
    "resolve_model",
    "train_model",
]

_LOCATIONS = {
    "Classifier": "networks",
    "architectures": "networks",
    "build_model": "networks",
    "list_architectures": "networks",
    "TrainConfig": "config",
    "TrainedModel": "storage",
    "load_trained_model": "storage",
    "accuracy": "inference",
    "predict_logits": "inference",
    "model_cache_key": "training",
    "model_sha256": "fingerprint",
    "train_model": "training",
    "resolve_model": "resolve",
}

if TYPE_CHECKING:
    from supervisor_testing.models.config import TrainConfig
    from supervisor_testing.models.fingerprint import model_sha256
    from supervisor_testing.models.inference import accuracy, predict_logits
    from supervisor_testing.models.networks import (
        Classifier,
        architectures,
        build_model,
        list_architectures,
    )
    from supervisor_testing.models.resolve import resolve_model
    from supervisor_testing.models.storage import TrainedModel, load_trained_model
    from supervisor_testing.models.training import model_cache_key, train_model


def __getattr__(name: str) -> Any:
    if name not in _LOCATIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_LOCATIONS[name]}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
