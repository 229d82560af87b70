"""Supervisors computed from one forward pass: softmax and logit statistics.

All of them only read the logits, so :meth:`LogitSupervisor.score_and_predict` shares one
forward pass between the score and the prediction. Confidence-style quantities (max
softmax, margin, max logit) are negated here so that higher means more suspicious.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.base import Supervisor
from supervisor_testing.supervisors.registry import register_supervisor

__all__ = [
    "DeepGini",
    "Energy",
    "LogitSupervisor",
    "MaxLogit",
    "MaxSoftmax",
    "PredictionConfidenceScore",
    "SoftmaxEntropy",
]


class LogitSupervisor(Supervisor):
    """Base for supervisors that are a function of the logits alone."""

    family = "softmax"

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def shared_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from the forward pass every supervisor on this model and input shares."""
        from supervisor_testing.supervisors.feature.extraction import shared_logits

        return shared_logits(self.model, x, batch_size=self.batch_size, plain=self.logits)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.score_from_logits(self.shared_logits(x))

    def score_and_predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.shared_logits(x)
        return self.score_from_logits(logits), logits.argmax(dim=1)


@register_supervisor("max-softmax", aliases=("msp", "softmax", "baseline"))
class MaxSoftmax(LogitSupervisor):
    """Negated maximum softmax probability (Hendrycks & Gimpel, 2017)."""

    name = "max-softmax"
    score_meaning = "negated top softmax probability"

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return -logits.softmax(dim=1).amax(dim=1)


@register_supervisor("pcs", aliases=("prediction-confidence-score", "margin"))
class PredictionConfidenceScore(LogitSupervisor):
    """Negated margin between the two highest softmax probabilities (Zhang et al., 2020)."""

    name = "pcs"
    score_meaning = "negated top-two softmax margin"

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        top2 = logits.softmax(dim=1).topk(2, dim=1).values
        return -(top2[:, 0] - top2[:, 1])


@register_supervisor("softmax-entropy", aliases=("entropy",))
class SoftmaxEntropy(LogitSupervisor):
    """Shannon entropy (nats) of the softmax distribution."""

    name = "softmax-entropy"
    score_meaning = "softmax entropy (nats)"

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        log_p = logits.log_softmax(dim=1)
        return -(log_p.exp() * log_p).sum(dim=1)


@register_supervisor("deepgini", aliases=("gini",))
class DeepGini(LogitSupervisor):
    """Gini impurity ``1 - sum(p^2)`` of the softmax (Feng et al., ISSTA 2020)."""

    name = "deepgini"
    score_meaning = "Gini impurity of the softmax"

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return 1.0 - logits.softmax(dim=1).square().sum(dim=1)


@register_supervisor("max-logit", aliases=("maxlogit", "mls"))
class MaxLogit(LogitSupervisor):
    """Negated maximum logit (Hendrycks et al., 2022): not squashed by the softmax."""

    name = "max-logit"
    score_meaning = "negated top logit"

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return -logits.amax(dim=1)


@register_supervisor("energy", aliases=("energy-score",))
class Energy(LogitSupervisor):
    """Free energy ``-T * logsumexp(logits / T)`` (Liu et al., NeurIPS 2020).

    Args:
        temperature: ``T``; 1 as in the paper's inference setting.
    """

    name = "energy"
    score_meaning = "free energy of the logits"

    def __init__(self, model: nn.Module, *, temperature: float = 1.0, batch_size: int = 512):
        super().__init__(model, batch_size=batch_size)
        if not temperature > 0:
            raise InvalidInputError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "temperature": self.temperature}

    def score_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        t = self.temperature
        return -t * torch.logsumexp(logits / t, dim=1)
