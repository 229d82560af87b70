"""Checks that a model and the corpora it is tested on share one label space and input shape.

Scores computed on a corpus made for another classifier (other classes, other image size)
still come out as numbers, so the mismatch has to be caught before any scoring, with one
error that names both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from torch import nn

    from supervisor_testing.corpus import Corpus

__all__ = ["check_label_space"]


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f"{len(names)} classes ({shown})"


def check_label_space(
    model: nn.Module,
    corpora: Sequence[Corpus],
    *,
    class_names: Sequence[str] = (),
    model_name: str = "the model",
) -> None:
    """Raise unless every corpus shares one label space and image shape with ``model``.

    Args:
        model: the classifier; two images of the first corpus are pushed through it to
            learn how many logits it returns.
        corpora: the nominal corpus first, then calibration and stress corpora.
        class_names: the model's class names where known (a trained reference model),
            compared name by name; otherwise only the number of logits is compared.
        model_name: how the model is named in the message.

    Raises:
        InvalidInputError: naming the corpus and what differs.
    """
    if not corpora:
        return
    first = corpora[0]
    for corpus in corpora[1:]:
        if tuple(corpus.class_names) != tuple(first.class_names):
            raise InvalidInputError(
                f"corpus {corpus.name!r} has {_names(corpus.class_names)} but corpus "
                f"{first.name!r} has {_names(first.class_names)}; every corpus of one test "
                "must share the model's label space"
            )
        if tuple(corpus.image_shape) != tuple(first.image_shape):
            raise InvalidInputError(
                f"corpus {corpus.name!r} holds {tuple(corpus.image_shape)} images but "
                f"{first.name!r} holds {tuple(first.image_shape)}; convert them to one shape"
            )
    if class_names and tuple(class_names) != tuple(first.class_names):
        raise InvalidInputError(
            f"{model_name} was trained on {_names(tuple(class_names))} but corpus "
            f"{first.name!r} has {_names(first.class_names)}; test it on corpora of its "
            "own label space"
        )
    images = next(first.batches(2, columns=["images"]))["images"]
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(images.float().div_(255.0).to(device))
    except RuntimeError as exc:
        raise InvalidInputError(
            f"{model_name} cannot read the {tuple(first.image_shape)} images of corpus "
            f"{first.name!r} ({str(exc).splitlines()[0]}); test it on corpora of its own "
            "input shape"
        ) from None
    finally:
        model.train(was_training)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise InvalidInputError(f"{model_name} returns {got}, not logits of shape N x classes")
    if logits.shape[1] != first.num_classes:
        raise InvalidInputError(
            f"{model_name} outputs {logits.shape[1]} logits but corpus {first.name!r} has "
            f"{_names(first.class_names)}; test it on corpora of its own label space"
        )
