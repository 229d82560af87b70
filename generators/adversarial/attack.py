"""The attack protocol: an L-inf attack that the epsilon ladder can query step by step.

An :class:`Attack` holds its settings (validated once, JSON-able for the corpus manifest);
:meth:`Attack.start` binds it to a model and a batch and returns an :class:`AttackRun`,
which hands out the float adversarial inputs of any subset of the batch at any epsilon.
The split lets each attack do its per-batch work once: FGSM computes one gradient for the
whole ladder, DeepFool finds one minimal perturbation that the ladder then clips, and PGD
and BIM run afresh per epsilon as fixed-budget attacks do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError

__all__ = ["Attack", "AttackRun"]


class AttackRun(ABC):
    """One attack bound to a model and a batch of clean inputs."""

    @abstractmethod
    def at(self, rows: torch.Tensor, epsilon: float) -> torch.Tensor:
        """Float adversarial inputs for batch rows ``rows`` with L-inf budget ``epsilon``
        (the ladder clips them into the ball again, so small overshoots are harmless)."""


class Attack(ABC):
    """An untargeted L-inf attack on inputs in ``[0, 1]``.

    Subclasses set ``name`` and ``defaults`` (every setting with its default) and
    implement :meth:`check_settings` and :meth:`start`.
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(self, **settings: Any) -> None:
        unknown = sorted(set(settings) - set(self.defaults))
        if unknown:
            accepted = ", ".join(sorted(self.defaults)) or "none"
            raise InvalidInputError(
                f"attack {self.name!r} has no setting {unknown[0]!r}; it accepts: {accepted}"
            )
        self.settings: dict[str, Any] = self.check_settings({**self.defaults, **settings})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.settings.items()))
        return f"{type(self).__name__}({args})"

    def check_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise the settings (all of ``defaults`` are present)."""
        return settings

    @abstractmethod
    def start(
        self,
        model: nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        *,
        keys: torch.Tensor,
        seed: int,
    ) -> AttackRun:
        """Bind to ``model`` (in eval mode) and float inputs ``x`` with true ``labels``.

        ``keys`` (int64, one per row: the inputs' source indices) and ``seed`` key any
        randomness per input, so that batching never changes a result.
        """

    # -- setting checks shared by the attacks --------------------------------------------

    def _positive_int(self, settings: Mapping[str, Any], key: str, minimum: int = 1) -> int:
        value = settings[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise InvalidInputError(
                f"attack {self.name!r}: {key} must be an integer >= {minimum}, got {value!r}"
            )
        return value

    def _number(self, settings: Mapping[str, Any], key: str, *, positive: bool) -> float:
        value = settings[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not (value > 0 if positive else value >= 0) or value != value:
            bound = "> 0" if positive else ">= 0"
            raise InvalidInputError(
                f"attack {self.name!r}: {key} must be a number {bound}, got {value!r}"
            )
        return float(value)

    def _flag(self, settings: Mapping[str, Any], key: str) -> bool:
        value = settings[key]
        if not isinstance(value, bool):
            raise InvalidInputError(
                f"attack {self.name!r}: {key} must be true or false, got {value!r}"
            )
        return value
