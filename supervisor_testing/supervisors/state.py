"""Saving a fitted supervisor and loading it back, so CI does not refit on every run.

A saved supervisor is a directory: ``supervisor.json`` (registry name, constructor
parameters, the sha256 of the model it was fitted on, format and library versions) and
``state.safetensors`` (means, covariances, KDE points, k-NN banks, network weights). No
pickle: loading runs no code from the files. Loading re-creates the supervisor through the
registry and refuses state fitted on other weights, since statistics of one model's
activations mean nothing for another's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from supervisor_testing.atomic import atomic_directory
from supervisor_testing.errors import InvalidInputError, SupervisorTestingError
from supervisor_testing.supervisors.base import Supervisor

__all__ = [
    "CONFIG_NAME",
    "STATE_FORMAT_VERSION",
    "STATE_NAME",
    "FittedStateError",
    "TensorState",
    "load_supervisor",
    "save_supervisor",
]

CONFIG_NAME = "supervisor.json"
STATE_NAME = "state.safetensors"
STATE_FORMAT = "supervisor-testing/supervisor-state"
STATE_FORMAT_VERSION = 1


class FittedStateError(SupervisorTestingError):
    """Saved supervisor state is malformed, incomplete or was fitted on another model."""


class TensorState:
    """Mixin for supervisors whose fitted state is a fixed set of tensor attributes.

    Subclasses list the attribute names in ``state_attributes``; scalars are stored as
    0-d tensors so that everything round-trips through safetensors.
    """

    state_attributes: ClassVar[tuple[str, ...]] = ()

    def fitted_state(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in self.state_attributes}

    def load_fitted_state(self, tensors: Mapping[str, torch.Tensor]) -> None:
        missing = sorted(set(self.state_attributes) - set(tensors))
        if missing:
            raise FittedStateError(f"saved state lacks {', '.join(missing)}")
        for name in self.state_attributes:
            setattr(self, name, tensors[name])


def module_state(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    """A module's ``state_dict`` under ``prefix.``, as contiguous CPU tensors."""
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def load_module_state(prefix: str, module: nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    """Load the ``prefix.``-keyed entries of ``tensors`` into ``module`` (strictly)."""
    start = f"{prefix}."
    state = {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise FittedStateError(f"saved {prefix} weights do not fit: {exc}") from exc


def save_supervisor(supervisor: Supervisor, path: str | os.PathLike[str]) -> Path:
    """Write ``supervisor`` (fitted or needing no fit) into the directory ``path``.

    The directory is written next to its destination and renamed into place, so a reader
    never sees half a state. An existing directory at ``path`` is replaced.

    Raises:
        InvalidInputError: the supervisor still needs fitting, or it keeps state this format
            cannot hold.
    """
    from safetensors.torch import save_file

    from supervisor_testing._version import __version__
    from supervisor_testing.models.fingerprint import model_sha256

    if not supervisor.fitted_:
        raise InvalidInputError(f"supervisor {supervisor.name!r} is not fitted; call .fit first")
    if supervisor.requires_fit and not hasattr(supervisor, "fitted_state"):
        raise InvalidInputError(
            f"supervisor {type(supervisor).__name__} does not say how to save its fitted state "
            "(it has no fitted_state method)"
        )
    tensors = supervisor.fitted_state() if hasattr(supervisor, "fitted_state") else {}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    config = {
        "format": STATE_FORMAT,
        "format_version": STATE_FORMAT_VERSION,
        "supervisor": supervisor.name,
        "class": f"{type(supervisor).__module__}:{type(supervisor).__qualname__}",
        "params": supervisor.get_params(),
        "model_sha256": model_sha256(supervisor.model),
        "library_version": __version__,
        "tensors": sorted(tensors),
    }
    try:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    except TypeError as exc:
        raise InvalidInputError(
            f"parameters of {supervisor.name!r} are not JSON-serialisable: {exc}"
        ) from exc
    target = Path(path)
    with atomic_directory(target, replace=True) as staging:
        (staging / CONFIG_NAME).write_text(text)
        save_file(tensors, str(staging / STATE_NAME))
    return target


def load_supervisor_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``supervisor.json`` of a saved supervisor, checked for format and keys."""
    file = Path(path) / CONFIG_NAME
    try:
        config = json.loads(file.read_text())
    except FileNotFoundError as exc:
        raise FittedStateError(f"{path} holds no saved supervisor ({CONFIG_NAME} missing)") from exc
    except json.JSONDecodeError as exc:
        raise FittedStateError(f"{file} is not valid JSON: {exc}") from exc
    required = {"format", "format_version", "supervisor", "params", "model_sha256", "tensors"}
    if not isinstance(config, dict) or not required <= set(config):
        missing = sorted(required - set(config)) if isinstance(config, dict) else sorted(required)
        raise FittedStateError(f"{file} lacks {', '.join(missing)}")
    if config["format"] != STATE_FORMAT or config["format_version"] != STATE_FORMAT_VERSION:
        raise FittedStateError(
            f"{file} has format {config['format']!r} version {config['format_version']!r}; "
            f"this library reads {STATE_FORMAT!r} version {STATE_FORMAT_VERSION}"
        )
    return config


def read_fitted_state(
    path: str | os.PathLike[str], model: nn.Module | None = None
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The config and tensors saved in ``path``, checked against each other and, when
    ``model`` is given, against its weights.

    Raises:
        FittedStateError: the directory is malformed, or was fitted on another model.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from supervisor_testing.supervisors.fingerprints import model_fingerprint

    config = load_supervisor_config(path)
    if model is not None:
        actual = model_fingerprint(model)
        if actual != config["model_sha256"]:
            raise FittedStateError(
                f"the supervisor in {path} was fitted on model {config['model_sha256'][:12]}, "
                f"not on this one ({actual[:12]}); refit it on this model or pass the model it "
                "was fitted on"
            )
    try:
        tensors = load_file(str(Path(path) / STATE_NAME))
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise FittedStateError(f"cannot read {Path(path) / STATE_NAME}: {exc}") from exc
    if sorted(tensors) != sorted(config["tensors"]):
        raise FittedStateError(
            f"{Path(path) / STATE_NAME} holds other tensors than {CONFIG_NAME} lists"
        )
    return config, tensors


def load_supervisor(
    path: str | os.PathLike[str], model: nn.Module, *, check_model: bool = True
) -> Supervisor:
    """Re-create the supervisor saved in ``path`` around ``model``, fitted as it was.

    Args:
        path: a directory written by :func:`save_supervisor`.
        model: the classifier the state was fitted on.
        check_model: refuse state whose recorded model hash differs from ``model``'s.

    Raises:
        FittedStateError: the directory is malformed, or was fitted on another model.
        UnknownNameError: its supervisor is not registered here.
    """
    from supervisor_testing.supervisors.registry import create_supervisor

    config, tensors = read_fitted_state(path, model if check_model else None)
    supervisor = create_supervisor(config["supervisor"], model, **config["params"])
    if tensors or supervisor.requires_fit:
        if not hasattr(supervisor, "load_fitted_state"):
            raise FittedStateError(f"{type(supervisor).__name__} cannot load fitted state")
        supervisor.load_fitted_state(tensors)
    supervisor.fitted_ = True
    return supervisor
