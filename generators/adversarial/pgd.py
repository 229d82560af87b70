"""PGD (Madry et al. 2018): sign-gradient ascent from a random point of the epsilon ball."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from generators.adversarial.attack import Attack, AttackRun
from generators.adversarial.projected_gradient import sign_gradient_ascent
from generators.adversarial.seeding import row_generator

__all__ = ["PGD", "uniform_start"]


def uniform_start(
    clean: torch.Tensor, keys: torch.Tensor, *, seed: int, epsilon: float
) -> torch.Tensor:
    """``clean`` plus U(-epsilon, epsilon) noise, drawn per input from its own stream."""
    noise = torch.stack(
        [
            torch.rand(clean.shape[1:], generator=row_generator(seed, key, epsilon))
            for key in keys.tolist()
        ]
    )
    return clean + ((noise * 2.0 - 1.0) * epsilon).to(clean.device)


class _IterativeRun(AttackRun):
    def __init__(
        self,
        settings: dict[str, Any],
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        keys: torch.Tensor,
        seed: int,
    ) -> None:
        self.settings, self.model, self.x, self.labels = settings, model, x, labels
        self.keys, self.seed = keys, seed

    def at(self, rows: torch.Tensor, epsilon: float) -> torch.Tensor:
        clean = self.x[rows]
        start = None
        if self.settings["random_start"]:
            start = uniform_start(clean, self.keys[rows], seed=self.seed, epsilon=epsilon)
        return sign_gradient_ascent(
            self.model,
            clean,
            self.labels[rows],
            epsilon=epsilon,
            step_size=self.settings["rel_stepsize"] * epsilon,
            steps=self.settings["steps"],
            start=start,
        )


class PGD(Attack):
    """L-inf PGD: a uniform random start in the ball, then ``steps`` projected steps of
    ``rel_stepsize * epsilon``, run afresh for each epsilon.

    Defaults are foolbox 3's ``LinfPGD``: 40 steps of 0.01/0.3 epsilon, random start.

    Example:
        >>> PGD(steps=10).settings["steps"]
        10
    """

    name = "pgd"
    defaults = MappingProxyType({"steps": 40, "rel_stepsize": 0.01 / 0.3, "random_start": True})

    def check_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {
            "steps": self._positive_int(settings, "steps"),
            "rel_stepsize": self._number(settings, "rel_stepsize", positive=True),
            "random_start": self._flag(settings, "random_start"),
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
        return _IterativeRun(self.settings, model, x, labels, keys, seed)
