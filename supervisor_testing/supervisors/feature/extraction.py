"""Activations of a named layer, read with a forward hook and shared through a cache.

Feature-based supervisors watch one layer of the classifier. A hook reads it during the
ordinary forward pass, so any ``nn.Module`` works without changing its code, and the same
pass yields the logits every supervisor needs for its prediction. Results are cached under
(model hash, layer, input hash): the seven feature supervisors of a battery extract each
input's activations once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.base import as_model_input
from supervisor_testing.supervisors.fingerprints import (
    model_key,
    nominal_fingerprint,
    tensor_fingerprint,
)
from supervisor_testing.supervisors.nominal_data import iter_nominal
from supervisor_testing.supervisors.result_cache import shared_cache

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = ["PENULTIMATE", "REDUCTIONS", "Activations", "LayerTap", "model_device", "shared_logits"]

#: The default layer: the input of the model's last ``nn.Linear`` (the reference models'
#: ``head``), i.e. the penultimate activations.
PENULTIMATE = "penultimate"
#: How activations with spatial dimensions become one vector per input: ``mean`` averages
#: over them (as Lee et al. and Kim et al. do for convolutional layers), ``flatten`` keeps all.
REDUCTIONS = ("mean", "flatten")
_INPUT_SUFFIX = ":input"
_MAX_LISTED = 40


def model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


@dataclass(frozen=True)
class Activations:
    """One layer's activations and the model's logits for the same inputs.

    Attributes:
        features: ``N x D`` float32 on the CPU.
        logits: ``N x K`` float32 on the CPU.
        head_is_output: the watched tensor is the input of a final ``nn.Linear`` whose
            output is the model's output, so ``logits = head(features)`` holds.
    """

    features: torch.Tensor
    logits: torch.Tensor
    head_is_output: bool

    def __len__(self) -> int:
        return int(self.features.shape[0])


def _layer_names(model: nn.Module) -> list[str]:
    return [name for name, _ in model.named_modules() if name]


def _unknown_layer(model: nn.Module, name: str) -> InvalidInputError:
    names = _layer_names(model)
    listed = ", ".join(names[:_MAX_LISTED]) or "none"
    more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return InvalidInputError(
        f"model {type(model).__name__} has no layer {name!r}; its layers are: {listed}{more} "
        f"(or {PENULTIMATE!r}; append {_INPUT_SUFFIX!r} to read a layer's input)"
    )


def _last_linear(model: nn.Module) -> str:
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InvalidInputError(
            f"model {type(model).__name__} has no nn.Linear, so {PENULTIMATE!r} is undefined; "
            f"pass layer= one of: {', '.join(_layer_names(model)[:_MAX_LISTED]) or 'none'}"
        )
    return linears[-1]


class LayerTap:
    """Reads one layer of ``model`` during its forward pass.

    Args:
        model: any ``nn.Module`` mapping images to logits.
        layer: a name from ``model.named_modules()`` (its output is read), the same name
            with ``":input"`` (its input is read), or ``"penultimate"``: the input of the
            last ``nn.Linear``.
        reduce: one of :data:`REDUCTIONS`, for activations with spatial dimensions.

    Raises:
        InvalidInputError: the model has no such layer (the message lists the ones it has).
    """

    def __init__(self, model: nn.Module, layer: str = PENULTIMATE, *, reduce: str = "mean"):
        if reduce not in REDUCTIONS:
            raise InvalidInputError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        self.model = model
        self.layer = layer
        self.reduce = reduce
        if layer == PENULTIMATE:
            self.module_name, self.capture = _last_linear(model), "input"
        elif layer.endswith(_INPUT_SUFFIX):
            self.module_name, self.capture = layer[: -len(_INPUT_SUFFIX)], "input"
        else:
            self.module_name, self.capture = layer, "output"
        modules = dict(model.named_modules())
        if not self.module_name or self.module_name not in modules:
            raise _unknown_layer(model, self.module_name or layer)
        self.module = modules[self.module_name]

    @property
    def reads_head_input(self) -> bool:
        """Whether the tap reads the input of the model's last ``nn.Linear``."""
        return self.capture == "input" and isinstance(self.module, nn.Linear)

    def head(self) -> nn.Linear:
        """The ``nn.Linear`` whose input the tap reads (for ViM and ReAct)."""
        if not self.reads_head_input:
            raise InvalidInputError(
                f"layer {self.layer!r} is not the input of an nn.Linear head; use {PENULTIMATE!r}"
            )
        return self.module  # type: ignore[return-value]

    def _key(self) -> tuple[str, str, str, str]:
        return (model_key(self.model), self.module_name, self.capture, self.reduce)

    def _reduce(self, t: Any) -> torch.Tensor:
        if not isinstance(t, torch.Tensor):
            raise InvalidInputError(
                f"layer {self.layer!r} produced a {type(t).__name__}, not a tensor; "
                "pick a layer whose output is one tensor"
            )
        t = t.detach()
        if t.ndim == 1:
            t = t[:, None]
        elif t.ndim > 2:
            t = t.flatten(2).mean(dim=2) if self.reduce == "mean" else t.flatten(1)
        return t.float().cpu()

    @torch.no_grad()
    def extract(self, x: torch.Tensor, *, batch_size: int) -> Activations:
        """Run the model over ``x`` in chunks and collect the layer and the logits (no cache)."""
        x = as_model_input(x)
        if len(x) == 0:
            raise InvalidInputError("cannot extract activations of an empty batch")
        captured: list[Any] = []
        head_outputs: list[Any] = []

        def on_input(_module: nn.Module, args: tuple[Any, ...]) -> None:
            captured.append(args[0] if args else None)

        def on_output(_module: nn.Module, _args: tuple[Any, ...], output: Any) -> None:
            (captured if self.capture == "output" else head_outputs).append(output)

        handles = []
        if self.capture == "input":
            handles.append(self.module.register_forward_pre_hook(on_input))
            handles.append(self.module.register_forward_hook(on_output))
        else:
            handles.append(self.module.register_forward_hook(on_output))
        device = model_device(self.model)
        was_training = self.model.training
        self.model.eval()
        features, logits = [], []
        head_is_output = self.reads_head_input
        try:
            for chunk in x.split(batch_size):
                captured.clear()
                head_outputs.clear()
                out = self.model(chunk.to(device))
                if len(captured) != 1:
                    raise InvalidInputError(
                        f"layer {self.layer!r} ran {len(captured)} times in one forward pass; "
                        "pick a layer that runs exactly once"
                    )
                features.append(self._reduce(captured[0]))
                logits.append(out.detach().float().cpu())
                head_is_output = (
                    head_is_output and len(head_outputs) == 1 and head_outputs[0] is out
                )
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(was_training)
        return Activations(torch.cat(features), torch.cat(logits), head_is_output)

    def activations(self, x: torch.Tensor, *, batch_size: int) -> Activations:
        """:meth:`extract`, shared with every other tap on the same model, layer and inputs."""
        key = ("activations", *self._key(), tensor_fingerprint(x))
        return shared_cache.get_or_compute(key, lambda: self.extract(x, batch_size=batch_size))

    def nominal_activations(
        self, nominal: Dataset | Corpus | torch.Tensor, *, batch_size: int
    ) -> tuple[Activations, torch.Tensor | None]:
        """Activations of nominal data and its labels (``None`` for a bare tensor), cached."""
        key = ("nominal-activations", *self._key(), nominal_fingerprint(nominal))

        def compute() -> tuple[Activations, torch.Tensor | None]:
            parts: list[Activations] = []
            labels: list[torch.Tensor] = []
            for images, batch_labels in iter_nominal(nominal, batch_size=batch_size):
                parts.append(self.extract(images, batch_size=batch_size))
                if batch_labels is not None:
                    labels.append(batch_labels)
            merged = Activations(
                torch.cat([p.features for p in parts]),
                torch.cat([p.logits for p in parts]),
                all(p.head_is_output for p in parts),
            )
            return merged, (torch.cat(labels) if labels else None)

        return shared_cache.get_or_compute(key, compute)


def shared_logits(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int,
    plain: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """The model's logits for ``x`` (float32, CPU), computed once per model and inputs.

    They come from the same cached pass that reads the penultimate activations, so the
    softmax family and the feature family of a battery share one forward pass; models
    without a usable final ``nn.Linear`` fall back to ``plain(x)``, cached as well.
    """
    as_model_input(x)  # the usual errors for bad input, before anything is hashed
    try:
        tap = LayerTap(model)
        return tap.activations(x, batch_size=batch_size).logits
    except InvalidInputError:
        pass  # no nn.Linear, or it does not run exactly once per forward pass
    key = ("logits", model_key(model), tensor_fingerprint(x))
    return shared_cache.get_or_compute(key, lambda: plain(x).detach().float().cpu())


def class_targets(
    activations: Activations, labels: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(features, classes, logits)`` for class-conditional statistics.

    True labels where the nominal data has them (samples labelled -1 lie outside the label
    space and are dropped); the model's predicted classes for a bare tensor.
    """
    if labels is None:
        return activations.features, activations.logits.argmax(dim=1), activations.logits
    keep = labels >= 0
    if not keep.any():
        raise InvalidInputError("no nominal sample has a label inside the label space")
    return activations.features[keep], labels[keep], activations.logits[keep]


def missing_classes(classes: torch.Tensor, num_classes: int, *, minimum: int) -> list[int]:
    """Classes with fewer than ``minimum`` samples in ``classes``."""
    counts = torch.bincount(classes, minlength=num_classes)
    return [int(c) for c in torch.nonzero(counts < minimum).flatten()]


def require_classes(classes: torch.Tensor, num_classes: int, *, minimum: int, what: str) -> None:
    missing = missing_classes(classes, num_classes, minimum=minimum)
    if missing:
        raise InvalidInputError(
            f"{what} needs at least {minimum} nominal sample(s) of every class the model can "
            f"predict; class(es) {', '.join(map(str, missing))} have fewer. Fit on more data"
        )


def chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, size: int) -> torch.Tensor:
    """``fn`` over row chunks of ``x``, concatenated: bounds pairwise-distance memory."""
    return torch.cat([fn(chunk) for chunk in x.split(size)])
