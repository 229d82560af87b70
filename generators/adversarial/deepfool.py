"""DeepFool (Moosavi-Dezfooli et al. 2016), L-inf variant: a minimal perturbation that the
epsilon ladder then clips.

Each step linearises the logit differences ``f_k - f_orig`` towards the ``candidates``
most likely classes, takes the class whose linearised boundary is nearest in L-inf
(``|f_k - f_orig| / ||grad||_1``), and moves that far (plus 1e-4) along the gradient's
sign; the accumulated perturbation is applied with ``1 + overshoot``. Inputs stop as soon
as they are misclassified. These are the paper's L-inf rule and foolbox 3's defaults
(50 steps, 10 candidates, overshoot 0.02, loss on logits).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from generators.adversarial.attack import Attack, AttackRun
from generators.adversarial.batch_invariance import logits_of, pad_rows
from generators.adversarial.projected_gradient import project_linf
from supervisor_testing.errors import InvalidInputError

__all__ = ["DeepFool", "linf_deepfool"]

# Keep a zero gradient from dividing by zero, and step just past the linearised boundary.
_NORM_FLOOR = 1e-8
_STEP_MARGIN = 1e-4


def _logit_gaps_and_gradients(
    model: nn.Module, x: torch.Tensor, classes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, ``f_k - f_orig`` for every candidate k, and their input gradients."""
    n = x.shape[0]
    padded = pad_rows(x.detach()).requires_grad_(True)
    logits = model(padded)[:n]
    gaps = logits.gather(1, classes[:, 1:]) - logits.gather(1, classes[:, :1])
    # One forward pass, one backward pass per candidate: rows are independent, so the
    # gradient of a column's sum gives every row its own gradient.
    gradients = [
        torch.autograd.grad(gaps[:, k].sum(), padded, retain_graph=k + 1 < gaps.shape[1])[0][:n]
        for k in range(gaps.shape[1])
    ]
    return logits.detach(), gaps.detach(), torch.stack(gradients, dim=1)


def linf_deepfool(
    model: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int = 50,
    candidates: int = 10,
    overshoot: float = 0.02,
) -> torch.Tensor:
    """Float adversarial inputs found by L-inf DeepFool (the clean input where it fails
    or is already misclassified)."""
    n = x.shape[0]
    if n == 0:
        return x.clone()
    clean_logits = logits_of(model, x)
    if clean_logits.shape[1] < 2:
        raise InvalidInputError(
            f"DeepFool needs a classifier with at least 2 classes, got {clean_logits.shape[1]}"
        )
    # Candidates are fixed by the clean logits; the first is the predicted class.
    count = min(candidates, clean_logits.shape[1])
    classes = clean_logits.argsort(dim=1, descending=True)[:, :count]
    current, total = x.clone(), torch.zeros_like(x)
    active = torch.arange(n, device=x.device)
    for _ in range(steps):
        logits, gaps, gradients = _logit_gaps_and_gradients(model, current[active], classes[active])
        pending = logits.argmax(dim=1) == labels[active]
        active = active[pending]
        if not len(active):
            break
        gaps, gradients = gaps[pending], gradients[pending]
        distances = gaps.abs() / (gradients.flatten(2).abs().sum(dim=2) + _NORM_FLOOR)
        best = distances.argmin(dim=1)
        rows = torch.arange(len(active), device=x.device)
        step = (distances[rows, best] + _STEP_MARGIN).view(-1, *([1] * (x.ndim - 1)))
        total[active] += step * gradients[rows, best].sign()
        current[active] = (x[active] + (1.0 + overshoot) * total[active]).clamp_(0.0, 1.0)
    return current


class _DeepFoolRun(AttackRun):
    def __init__(self, x: torch.Tensor, adversarial: torch.Tensor) -> None:
        self.x, self.adversarial = x, adversarial

    def at(self, rows: torch.Tensor, epsilon: float) -> torch.Tensor:
        return project_linf(self.adversarial[rows], self.x[rows], epsilon)


class DeepFool(Attack):
    """L-inf DeepFool, run once per batch; each epsilon clips its perturbation to the ball
    (as foolbox does for minimisation attacks), so the attack is deterministic.

    Example:
        >>> DeepFool(candidates=3).settings["candidates"]
        3
    """

    name = "deepfool"
    defaults = MappingProxyType({"steps": 50, "candidates": 10, "overshoot": 0.02})

    def check_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {
            "steps": self._positive_int(settings, "steps"),
            "candidates": self._positive_int(settings, "candidates", minimum=2),
            "overshoot": self._number(settings, "overshoot", positive=False),
        }

    def start(
        self,
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        *,
        keys: torch.Tensor,
        seed: int,
    ) -> AttackRun:
        return _DeepFoolRun(x, linf_deepfool(model, x, labels, **self.settings))
