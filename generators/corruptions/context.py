"""What a corruption needs besides the images: its parameters and each sample's stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generators.corruptions.seeding import SampleRandomness
from generators.corruptions.tables import REFERENCE_SIZE, TABLES

__all__ = ["CorruptionContext"]


@dataclass(frozen=True)
class CorruptionContext:
    """One (corruption, severity) applied to a chunk of samples.

    Attributes:
        suite: ``imagenet-c`` or ``mnist-c``.
        table: the resolved parameter table (``imagenet-c``, ``cifar10-c``, ``mnist-c``).
        corruption: canonical corruption name.
        severity: 1..5.
        seed: the corpus seed.
        indices: each sample's index in the source data set.
    """

    suite: str
    table: str
    corruption: str
    severity: int
    seed: int
    indices: Sequence[int] = field(repr=False)

    @property
    def params(self) -> Any:
        """This severity's entry of the corruption's table."""
        return TABLES[self.table][self.corruption][self.severity - 1]

    @property
    def reference_size(self) -> int:
        """Image side the table's values were chosen for."""
        return REFERENCE_SIZE[self.table]

    @property
    def mnist_c(self) -> bool:
        """Whether MNIST-C's own variants of shared corruptions apply."""
        return self.table == "mnist-c"

    @cached_property
    def random(self) -> SampleRandomness:
        """Per-sample streams, made only for corruptions that draw."""
        return SampleRandomness(self.seed, self.indices, self.corruption, self.severity)
