"""ReAct (Sun, Guo & Li, NeurIPS 2021): clip the penultimate activations, then energy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.feature.base import FeatureSupervisor
from supervisor_testing.supervisors.feature.extraction import (
    PENULTIMATE,
    Activations,
    class_targets,
)
from supervisor_testing.supervisors.feature.vim import require_linear_head, require_penultimate
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.state import TensorState

__all__ = ["ReAct"]


@register_supervisor("react", aliases=("react-energy",))
class ReAct(TensorState, FeatureSupervisor):
    """Energy of the logits recomputed from penultimate activations clipped at a threshold.

    Out-of-distribution inputs drive a few units to extreme values; clipping at the
    ``percentile``-th percentile of nominal activations (90 in the paper) removes that
    excess before the final layer. Prediction stays the unclipped model's.

    Args:
        percentile: percentile (0-100) of all nominal penultimate activations.
        temperature: energy temperature ``T``.
        layer: accepted for uniformity with the feature family; only ``"penultimate"``.
    """

    name = "react"
    fit_needs = "a clipping threshold from nominal penultimate activations"
    score_meaning = "free energy of the logits from clipped activations"
    state_attributes = ("threshold_",)

    def __init__(
        self,
        model: nn.Module,
        *,
        percentile: float = 90.0,
        temperature: float = 1.0,
        layer: str = PENULTIMATE,
        batch_size: int = 512,
    ) -> None:
        require_penultimate(layer, "react")
        super().__init__(model, layer=PENULTIMATE, batch_size=batch_size)
        if not 0 < percentile <= 100:
            raise InvalidInputError(f"percentile must lie in (0, 100], got {percentile}")
        if not temperature > 0:
            raise InvalidInputError(f"temperature must be positive, got {temperature}")
        self.percentile = float(percentile)
        self.temperature = float(temperature)

    def get_params(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "percentile": self.percentile,
            "temperature": self.temperature,
        }

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        require_linear_head(activations, "react")
        features, _, _ = class_targets(activations, labels)
        # numpy's linear interpolation; torch.quantile refuses inputs over 16M elements.
        value = np.percentile(features.numpy().ravel(), self.percentile)
        self.threshold_ = torch.tensor(float(value), dtype=torch.float64)

    def clipped_logits(self, features: torch.Tensor) -> torch.Tensor:
        head = self.tap.head()
        weight = head.weight.detach().float().cpu()
        bias = None if head.bias is None else head.bias.detach().float().cpu()
        return F.linear(features.clamp(max=float(self.threshold_)), weight, bias)

    def score_activations(self, activations: Activations) -> torch.Tensor:
        t = self.temperature
        logits = self.clipped_logits(activations.features).double()
        return (-t * torch.logsumexp(logits / t, dim=1)).float()
