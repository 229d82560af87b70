"""The base of supervisors that score a layer's activations against nominal statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from supervisor_testing.supervisors.base import Supervisor
from supervisor_testing.supervisors.feature.extraction import PENULTIMATE, Activations, LayerTap
from supervisor_testing.supervisors.thread_limit import limited_threads

if TYPE_CHECKING:
    from typing_extensions import Self

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = ["FeatureSupervisor"]


class FeatureSupervisor(Supervisor):
    """Fit statistics of one layer's activations on nominal data, score new activations.

    Subclasses implement :meth:`fit_activations` and :meth:`score_activations`; the forward
    pass, the hook and the shared activation cache live here, so one pass serves the
    score and the prediction, and every feature supervisor on the same model and inputs.

    ``fit`` takes a Dataset, a Corpus or a bare tensor of images. Class-conditional
    statistics use the labels of a Dataset or Corpus (corpus samples labelled -1, outside
    the label space, are left out) and the model's predicted classes for a bare tensor.

    Args:
        model: the classifier.
        layer: the layer to watch (see :class:`LayerTap`); default the penultimate one.
        reduce: ``mean`` or ``flatten`` for activations with spatial dimensions.
        batch_size: inputs per forward pass.
    """

    family = "feature"
    requires_fit = True

    def __init__(
        self,
        model: nn.Module,
        *,
        layer: str = PENULTIMATE,
        reduce: str = "mean",
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        self.layer = layer
        self.reduce = reduce
        self.tap = LayerTap(model, layer, reduce=reduce)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "layer": self.layer, "reduce": self.reduce}

    def fit(self, nominal: Dataset | Corpus | torch.Tensor) -> Self:
        activations, labels = self.tap.nominal_activations(nominal, batch_size=self.batch_size)
        with limited_threads():  # statistics of small matrices: see thread_limit
            self.fit_activations(activations, labels)
        self.fitted_ = True
        return self

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        """Learn from nominal activations; ``labels`` is ``None`` for a bare tensor."""
        raise NotImplementedError

    def score_activations(self, activations: Activations) -> torch.Tensor:
        """One score per row of ``activations``, higher = more suspicious."""
        raise NotImplementedError

    def score_and_predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        activations = self.tap.activations(x, batch_size=self.batch_size)
        with limited_threads():
            scores = self.score_activations(activations)
        return scores, activations.logits.argmax(dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.score_and_predict(x)[0]
