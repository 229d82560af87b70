"""One forward pass that tells, before any work starts, whether a model reads some images.

Strategies and properties call it when they are built, so that a corpus of the wrong
image shape fails there with one clear message instead of deep inside a draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.supervisors.base import Supervisor

__all__ = ["check_model_reads", "model_of"]


def model_of(model: nn.Module | Supervisor) -> nn.Module:
    """The classifier itself, whether given directly or wrapped in a supervisor."""
    from supervisor_testing.supervisors.base import Supervisor

    if isinstance(model, Supervisor):
        return model.model
    if isinstance(model, nn.Module):
        return model
    raise InvalidInputError(
        f"expected a classifier (nn.Module) or a Supervisor, got {type(model).__name__}"
    )


@torch.no_grad()
def check_model_reads(
    model: nn.Module | Supervisor,
    image_shape: tuple[int, ...],
    *,
    num_classes: int | None = None,
    what: str = "the corpus",
) -> None:
    """Raise unless ``model`` maps images of ``image_shape`` (C, H, W) to ``N x K`` logits.

    The probe runs in eval mode on two blank images and leaves every layer's mode as it
    was.

    Raises:
        InvalidInputError: the forward pass fails, or gives logits of another shape (or
            ``num_classes`` columns are expected and it gives another number).
    """
    module = model_of(model)
    parameter = next(module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    probe = torch.zeros(2, *image_shape, device=device)
    # Per submodule: train(mode) sets every child alike, which would hide (or cause) a
    # layer left in the other mode.
    modes = [(child, child.training) for child in module.modules()]
    module.eval()
    try:
        logits = module(probe)
    except RuntimeError as exc:
        raise InvalidInputError(
            f"the model cannot read {what}: its images are {tuple(image_shape)} (C x H x W) "
            f"and the forward pass fails ({str(exc).splitlines()[0]}); use a corpus made from "
            f"the data the model was trained on"
        ) from None
    finally:
        for child, mode in modes:
            child.training = mode
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
        raise InvalidInputError(
            f"the model maps {what}'s {tuple(image_shape)} images to {shape}, not to N x K "
            f"logits; wrap a classifier that returns logits"
        )
    if num_classes is not None and logits.shape[1] != num_classes:
        raise InvalidInputError(
            f"the model gives {logits.shape[1]} logits but {what} has {num_classes} classes; "
            f"use a corpus with the model's label space"
        )
