"""Running a classifier over a data set in batches, without gradients."""

from __future__ import annotations

import torch
from torch import nn

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.models.storage import TrainedModel

__all__ = ["accuracy", "predict_logits"]


def _as_module(model: nn.Module | TrainedModel) -> nn.Module:
    return model.module if isinstance(model, TrainedModel) else model


@torch.no_grad()
def predict_logits(
    model: nn.Module | TrainedModel, images: torch.Tensor | Dataset, *, batch_size: int = 512
) -> torch.Tensor:
    """Logits ``N x K`` for float images in ``[0, 1]`` (or a data set's images), in eval mode.

    Batches move to the module's device and the logits stay there. The module's train/eval
    mode is restored afterwards, so MC-dropout callers that left dropout on keep it on.
    """
    module = _as_module(model)
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
    was_training = module.training
    parameter = next(module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    module.eval()
    try:
        chunks = []
        n = len(images)
        for start in range(0, n, batch_size):
            if isinstance(images, Dataset):
                batch = images.images[start : start + batch_size].float().div_(255.0)
            else:
                batch = images[start : start + batch_size]
            chunks.append(module(batch.to(device)))
        if not chunks:
            raise InvalidInputError("cannot compute logits for an empty set of images")
        return torch.cat(chunks)
    finally:
        module.train(was_training)


def accuracy(model: nn.Module | TrainedModel, dataset: Dataset, *, batch_size: int = 512) -> float:
    """Fraction of ``dataset`` whose arg-max logit equals the label."""
    logits = predict_logits(model, dataset, batch_size=batch_size)
    return float((logits.argmax(dim=1).cpu() == dataset.labels).double().mean())
