"""The ``corruptions`` generator: a nominal source -> a corrupted corpus.

Every selected source image is corrupted by every (corruption, severity) cell, so the
cells are paired (the same images throughout, as in ImageNet-C); the corpus records which
cell a sample belongs to in the ``corruption`` (categorical) and ``severity`` columns and
keeps its label. Work goes cell by cell in chunks sized to stay in cache, and since each
sample's randomness is keyed by its own identity, chunking never changes a byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from generators.corruptions.functional import corrupt
from generators.corruptions.suites import (
    SUITE_TABLES,
    check_image_shape,
    resolve_corruptions,
    resolve_levels,
    resolve_severities,
    resolve_suite,
    resolve_table,
)
from supervisor_testing.corpus import ColumnSpec
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import (
    Generator,
    generators,
    row_segments,
    subsample_indices,
)

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset

__all__ = ["CorruptionGenerator"]

# Values (C x H x W summed over a chunk) per chunk: about 1 MB of float32, which keeps the
# elementwise passes in cache; 3 to 4 times faster than 8 MB chunks on small images.
_CHUNK_VALUES = 1 << 18


@generators.register("corruptions", aliases=("corrupted", "corruption"))
class CorruptionGenerator(Generator):
    """Corrupted copies (MNIST-C, ImageNet-C / CIFAR-10-C suites) that keep their labels.

    Parameters:
        suite: ``imagenet-c`` (default) or ``mnist-c``.
        corruptions: ``None`` / ``"benchmark"`` (the suite's 15), ``"all"`` (with its
            extras), or a list / comma-separated string of names.
        severities: ``None`` (all five for imagenet-c; MNIST-C's published level of each
            corruption for mnist-c), or a list / ``"1-5"`` / ``"1,3"``.
        table: ``auto`` (CIFAR-10-C values up to 64 px, ImageNet-C above), ``cifar10-c``,
            ``imagenet-c``; mnist-c has its own.

    ``num_samples`` is the number of source images; the corpus holds that many per cell.

    Example:
        >>> CorruptionGenerator(suite="mnist-c", corruptions="fog,stripe").params["corruptions"]
        ['stripe', 'fog']
    """

    name = "corruptions"
    version = "1"
    kind = "corrupted"
    defaults = MappingProxyType(
        {"suite": "imagenet-c", "corruptions": None, "severities": None, "table": "auto"}
    )

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        suite = resolve_suite(params["suite"])
        chosen = params["corruptions"]
        names = resolve_corruptions(suite, chosen)
        if not (chosen is None or chosen in ("benchmark", "all")):
            chosen = list(names)
        severities = resolve_severities(params["severities"])
        table = params["table"]
        if table not in SUITE_TABLES[suite]:
            raise InvalidInputError(
                f"table {table!r} does not belong to suite {suite!r}; choose one of: "
                f"{', '.join(SUITE_TABLES[suite])}"
            )
        # Level counts do not depend on the table, so single-setting corruptions asked
        # only at other severities are caught now.
        for corruption in names:
            resolve_levels(suite, _any_table(suite), corruption, severities)
        return {
            "suite": suite,
            "corruptions": chosen,
            "severities": None if severities is None else list(severities),
            "table": table,
        }

    @property
    def corruption_names(self) -> tuple[str, ...]:
        return resolve_corruptions(self._params["suite"], self._params["corruptions"])

    def cells(self, image_shape: tuple[int, int, int]) -> list[tuple[str, int]]:
        """The (corruption, severity) pairs made for images of ``image_shape``, in corpus
        order; raises if the images are too small for any of them."""
        suite = self._params["suite"]
        table = resolve_table(suite, self._params["table"], image_shape)
        severities = self._params["severities"]
        wanted = None if severities is None else tuple(severities)
        pairs = []
        for corruption in self.corruption_names:
            for severity in resolve_levels(suite, table, corruption, wanted):
                check_image_shape(image_shape, table, corruption, severity)
                pairs.append((corruption, severity))
        return pairs

    def extra_columns(self) -> dict[str, ColumnSpec]:
        return {
            "corruption": ColumnSpec("int64", (), categories=self.corruption_names),
            "severity": ColumnSpec("int64"),
        }

    def expected_samples(self, source: Dataset, num_samples: int | None) -> int | None:
        count = len(source) if num_samples is None else num_samples
        return count * len(self.cells(source.image_shape))

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        cells = self.cells(source.image_shape)  # all checks before the first image
        indices = subsample_indices(len(source), num_samples, seed=seed)
        for corruption, severity in cells:
            yield from self._cell_batches(source, corruption, severity, indices, seed)

    def generate_range(
        self, source: Dataset, *, seed: int, num_samples: int | None = None, start: int, stop: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        # Rows go cell by cell, each cell over every index; per-sample seeding makes any
        # slice of a cell equal to the same rows of a whole-corpus run.
        cells = self.cells(source.image_shape)
        indices = subsample_indices(len(source), num_samples, seed=seed)
        for cell, lo, hi in row_segments([len(indices)] * len(cells), start, stop):
            corruption, severity = cells[cell]
            yield from self._cell_batches(source, corruption, severity, indices[lo:hi], seed)

    def _cell_batches(
        self, source: Dataset, corruption: str, severity: int, indices: torch.Tensor, seed: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        channels, height, width = source.image_shape
        chunk = max(1, min(self.batch_size, _CHUNK_VALUES // (channels * height * width)))
        codes = {name: code for code, name in enumerate(self.corruption_names)}
        for part in indices.split(chunk):
            labels = source.labels[part]
            n = len(part)
            yield {
                "images": corrupt(
                    source.images[part],
                    corruption,
                    severity=severity,
                    seed=seed,
                    indices=part,
                    suite=self._params["suite"],
                    table=self._params["table"],
                ),
                "labels": labels,
                "label_probs": F.one_hot(labels, source.num_classes).to(torch.float32),
                "source_index": part,
                "corruption": torch.full((n,), codes[corruption], dtype=torch.int64),
                "severity": torch.full((n,), severity, dtype=torch.int64),
            }


def _any_table(suite: str) -> str:
    return "mnist-c" if suite == "mnist-c" else "imagenet-c"


CorruptionGenerator.__module__ = "generators.corruptions"
