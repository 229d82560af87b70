"""Projected sign-gradient ascent in an L-inf ball: the iteration PGD and BIM share."""

from __future__ import annotations

import torch
from torch import nn

from generators.adversarial.batch_invariance import input_gradient

__all__ = ["project_linf", "sign_gradient_ascent"]


def project_linf(x: torch.Tensor, clean: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``x`` moved into the L-inf ball of radius ``epsilon`` around ``clean`` and into 0..1."""
    return (clean + (x - clean).clamp(-epsilon, epsilon)).clamp_(0.0, 1.0)


def sign_gradient_ascent(
    model: nn.Module,
    clean: torch.Tensor,
    labels: torch.Tensor,
    *,
    epsilon: float,
    step_size: float,
    steps: int,
    start: torch.Tensor | None = None,
) -> torch.Tensor:
    """``steps`` updates ``x <- project(x + step_size * sign(grad CE))`` from ``start``
    (``clean`` when ``None``). The loss is the cross-entropy with the true labels, as in
    Kurakin et al. (BIM) and Madry et al. (PGD)."""
    x = clean if start is None else project_linf(start, clean, epsilon)
    for _ in range(steps):
        step = step_size * input_gradient(model, x, labels).sign()
        x = project_linf(x + step, clean, epsilon)
    return x
