"""What the hypothesis strategies draw: one :class:`Sample`, or a :class:`Batch` of them.

A sample carries its image together with everything needed to replay it (the source row,
the generator settings and the seed), so that a failing example printed by hypothesis
says which input broke a property and how to make it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from supervisor_testing.errors import InvalidInputError

__all__ = ["Batch", "Sample"]


@dataclass(frozen=True, eq=False, repr=False)
class Sample:
    """One drawn input.

    Attributes:
        kind: the corpus kind it stands for (``nominal``, ``corrupted``, ``ambiguous``, ...).
        image: uint8 ``C x H x W``.
        label: its true class (-1 outside the label space).
        index: its row in the source pool (-1 when it has no source image).
        clean: the source image it was made from (``None`` when there is none).
        params: how it was made (``corruption``, ``severity``, ``seed``, ...).
    """

    kind: str
    image: torch.Tensor
    label: int
    index: int
    clean: torch.Tensor | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __repr__(self) -> str:
        # hypothesis prints this for a falsifying example: the recipe, not the pixels.
        settings = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Sample(kind={self.kind!r}, index={self.index}, label={self.label}{settings})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis's pretty-printer would list a dataclass's fields, pixels included.
        printer.text(repr(self))


@dataclass(frozen=True, eq=False, repr=False)
class Batch:
    """Samples drawn together; ``images`` and ``labels`` are stacked once, on creation.

    Raises:
        InvalidInputError: no samples, or samples with different image shapes.
    """

    samples: tuple[Sample, ...]
    images: torch.Tensor = field(init=False)
    labels: torch.Tensor = field(init=False)

    def __init__(self, samples: Sequence[Sample]) -> None:
        samples = tuple(samples)
        if not samples:
            raise InvalidInputError("a batch needs at least one sample")
        shapes = {tuple(s.image.shape) for s in samples}
        if len(shapes) > 1:
            raise InvalidInputError(
                f"a batch needs samples of one image shape, got {sorted(shapes)}; draw them "
                f"from corpora of the same shape"
            )
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "images", torch.stack([s.image for s in samples]))
        object.__setattr__(
            self, "labels", torch.tensor([s.label for s in samples], dtype=torch.int64)
        )

    @property
    def indices(self) -> torch.Tensor:
        """Each sample's row in its source pool (int64, -1 where none)."""
        return torch.tensor([s.index for s in self.samples], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __repr__(self) -> str:
        inner = ", ".join(repr(s) for s in self.samples)
        return f"Batch([{inner}])"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


Sample.__module__ = "supervisor_testing.strategies"
Batch.__module__ = "supervisor_testing.strategies"
