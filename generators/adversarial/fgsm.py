"""FGSM (Goodfellow et al. 2015): one step of size epsilon along the loss gradient's sign."""

from __future__ import annotations

import torch
from torch import nn

from generators.adversarial.attack import Attack, AttackRun
from generators.adversarial.batch_invariance import input_gradient

__all__ = ["FGSM"]


class _FGSMRun(AttackRun):
    def __init__(self, x: torch.Tensor, direction: torch.Tensor) -> None:
        self.x, self.direction = x, direction

    def at(self, rows: torch.Tensor, epsilon: float) -> torch.Tensor:
        return (self.x[rows] + epsilon * self.direction[rows]).clamp_(0.0, 1.0)


class FGSM(Attack):
    """``clip(x + epsilon * sign(grad_x CE(f(x), y)), 0, 1)``.

    The gradient does not depend on epsilon, so it is computed once for the whole ladder;
    the attack is deterministic.

    Example:
        >>> FGSM().settings
        {}
    """

    name = "fgsm"

    def start(
        self,
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        *,
        keys: torch.Tensor,
        seed: int,
    ) -> AttackRun:
        return _FGSMRun(x, input_gradient(model, x, labels).sign())
