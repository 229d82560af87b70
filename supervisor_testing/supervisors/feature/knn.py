"""Deep nearest neighbours (Sun et al., ICML 2022): distance to the k-th nominal neighbour."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.feature.base import FeatureSupervisor
from supervisor_testing.supervisors.feature.extraction import (
    PENULTIMATE,
    Activations,
    class_targets,
)
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.state import TensorState

__all__ = ["KNN"]

_CHUNK_ELEMENTS = 1 << 23


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)


@register_supervisor("knn", aliases=("deep-knn", "knn-distance"))
class KNN(TensorState, FeatureSupervisor):
    """Euclidean distance from the L2-normalised features to the k-th nearest nominal one.

    No class labels are needed; the bank holds every nominal sample inside the label
    space. Normalisation is what makes the method work (Sun et al.): it removes the
    feature norm, which varies with confidence rather than with novelty.

    Args:
        k: which neighbour; 50 as in the paper's CIFAR-10 setting.
    """

    name = "knn"
    fit_needs = "a bank of normalised nominal features"
    score_meaning = "distance to the k-th nearest nominal feature"
    state_attributes = ("bank_",)

    def __init__(
        self,
        model: nn.Module,
        *,
        k: int = 50,
        layer: str = PENULTIMATE,
        reduce: str = "mean",
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, layer=layer, reduce=reduce, batch_size=batch_size)
        if k < 1:
            raise InvalidInputError(f"k must be positive, got {k}")
        self.k = int(k)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "k": self.k}

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        features, _, _ = class_targets(activations, labels)
        if len(features) < self.k:
            raise InvalidInputError(
                f"knn with k={self.k} needs at least {self.k} nominal samples, got {len(features)}"
            )
        self.bank_ = _normalise(features.double())

    def score_activations(self, activations: Activations) -> torch.Tensor:
        queries = _normalise(activations.features.double())
        rows = max(1, _CHUNK_ELEMENTS // len(self.bank_))
        parts = []
        for chunk in queries.split(rows):
            # Unit vectors: |a - b|^2 = 2 - 2 a.b, so the k largest dot products are the
            # k nearest neighbours; float64 keeps small distances accurate.
            kth = (chunk @ self.bank_.T).topk(self.k, dim=1).values[:, -1]
            parts.append((2.0 - 2.0 * kth).clamp(min=0.0).sqrt())
        return torch.cat(parts).float()
