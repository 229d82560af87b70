"""A nominal corpus is the reference every stress corpus is compared against."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from supervisor_testing.generation import Generator, generators, subsample_indices

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset

__all__ = ["NominalGenerator"]


@generators.register("nominal")
class NominalGenerator(Generator):
    """Copy a source split, or a seeded subsample of it, with one-hot ``label_probs``.

    Example:
        >>> NominalGenerator().kind
        'nominal'
    """

    name = "nominal"
    version = "1"
    kind = "nominal"

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        yield from self._batches(source, subsample_indices(len(source), num_samples, seed=seed))

    def generate_range(
        self, source: Dataset, *, seed: int, num_samples: int | None = None, start: int, stop: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        indices = subsample_indices(len(source), num_samples, seed=seed)
        yield from self._batches(source, indices[start:stop])

    def _batches(self, source: Dataset, indices: torch.Tensor) -> Iterator[dict[str, torch.Tensor]]:
        for chunk in indices.split(self.batch_size):
            labels = source.labels[chunk]
            yield {
                "images": source.images[chunk],
                "labels": labels,
                "label_probs": F.one_hot(labels, source.num_classes).to(torch.float32),
                "source_index": chunk,
            }


NominalGenerator.__module__ = "generators.nominal"
