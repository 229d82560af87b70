"""The generator protocol and the registry that finds generators by name.

A generator turns a source :class:`~supervisor_testing.data.dataset.Dataset` into batches of
corpus columns; :meth:`Generator.build` streams those batches into a
:class:`~supervisor_testing.corpus.CorpusWriter`. Generators are found through the
``supervisor_testing.generators`` entry-point group, so a third-party package plugs in
exactly as the built-ins do.

Example:
    >>> from supervisor_testing.generation import create_generator
    >>> create_generator("nominal")
    NominalGenerator()
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from supervisor_testing.corpus import ColumnSpec, Corpus, CorpusWriter, GeneratorInfo, SourceInfo
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.registry import Registry

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset
    from supervisor_testing.executors import Executor

__all__ = [
    "Generator",
    "create_generator",
    "generators",
    "list_generators",
    "row_segments",
    "subsample_indices",
]

#: Generator classes by name; fill it with ``@generators.register("name", aliases=...)``.
generators: Registry[type[Generator]] = Registry("generator", "supervisor_testing.generators")


def create_generator(name: str, **params: Any) -> Generator:
    """Instantiate the generator registered as ``name``.

    ``None`` values are dropped so that unset command-line options never override a
    generator's own defaults.
    """
    return generators.get(name)(**{k: v for k, v in params.items() if v is not None})


def list_generators(pattern: str = "*") -> list[str]:
    """Names of the registered generators matching a shell-style ``pattern``."""
    return generators.names(pattern)


def subsample_indices(num_available: int, num_samples: int | None, *, seed: int) -> torch.Tensor:
    """Sorted int64 indices of a seeded subsample drawn without replacement.

    ``None`` (or every sample) gives ``0..num_available-1``. Sorting keeps the source order,
    so a subsample of a subsample stays readable next to its source.
    """
    if num_samples is None:
        return torch.arange(num_available, dtype=torch.int64)
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 0:
        raise InvalidInputError(f"num_samples must be a non-negative int, got {num_samples!r}")
    if num_samples == num_available:
        return torch.arange(num_available, dtype=torch.int64)
    if num_samples > num_available:
        raise InvalidInputError(
            f"asked for {num_samples} samples but the source holds only {num_available}; "
            f"ask for at most {num_available}"
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(num_available, size=num_samples, replace=False))
    return torch.from_numpy(chosen.astype(np.int64))


def row_segments(sizes: Sequence[int], start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """``(segment, lo, hi)`` pieces of corpus rows ``start..stop-1``, for a corpus that is
    segment 0 (``sizes[0]`` rows), then segment 1, and so on; ``lo..hi-1`` are positions
    within the segment. Generators that go cell by cell use it to make any row range.

    Example:
        >>> list(row_segments([3, 3, 3], 2, 7))
        [(0, 2, 3), (1, 0, 3), (2, 0, 1)]
    """
    offset = 0
    for segment, size in enumerate(sizes):
        lo, hi = max(start - offset, 0), min(stop - offset, size)
        if lo < hi:
            yield segment, lo, hi
        offset += size
        if offset >= stop:
            return


class Generator(ABC):
    """Makes one kind of corpus from a source data set.

    Subclasses set the class attributes, declare their parameters with defaults in
    ``defaults`` (and check them in :meth:`check_params`), and implement :meth:`generate`.
    All randomness must come from the ``seed`` passed to :meth:`generate`, so that the same
    seed gives byte-identical shards.

    Attributes:
        name: registry name, recorded in the corpus manifest.
        version: bump it whenever the output for the same params and seed changes; it is
            part of every recipe hash, so cached corpora are rebuilt.
        kind: the corpus kind (one of :data:`supervisor_testing.corpus.KINDS`).
        defaults: accepted parameters and their default values (JSON-able).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    #: Samples per batch that built-in generators yield; shards do not depend on it.
    batch_size: ClassVar[int] = 1024

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            accepted = ", ".join(sorted(self.defaults)) or "none"
            raise InvalidInputError(
                f"generator {self.name!r} got unknown parameter {unknown[0]!r}; "
                f"it accepts: {accepted}"
            )
        checked = self.check_params({**self.defaults, **params})
        try:
            text = json.dumps(checked, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"generator {self.name!r}: parameters must be JSON-serialisable ({exc})"
            ) from exc
        self._params: dict[str, Any] = json.loads(text)

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise the parameters (all of ``defaults`` are present)."""
        return params

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter with its value (defaults included), as JSON-able data."""
        return json.loads(json.dumps(self._params))

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._params.items() if v != self.defaults.get(k)}
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(changed.items()))
        return f"{type(self).__name__}({args})"

    def extra_columns(self) -> dict[str, ColumnSpec]:
        """Schema of the columns this generator adds beside the required ones."""
        return {}

    def class_names(self, source: Dataset) -> tuple[str, ...]:
        """The label space of the corpus; the source's unless the generator changes it."""
        return tuple(source.class_names)

    def image_shape(self, source: Dataset) -> tuple[int, int, int]:
        """``(C, H, W)`` of the generated images; the source's unless converted."""
        return source.image_shape

    def expected_samples(self, source: Dataset, num_samples: int | None) -> int | None:
        """How many samples :meth:`generate` will yield (for progress bars)."""
        return len(source) if num_samples is None else num_samples

    @abstractmethod
    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Yield batches holding every required column and every extra column."""

    def generate_range(
        self, source: Dataset, *, seed: int, num_samples: int | None = None, start: int, stop: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Yield rows ``start..stop-1`` of what :meth:`generate` yields, byte for byte.

        A sharded build (:func:`supervisor_testing.sharded_build.build_sharded`) makes
        each shard with one call. This default runs :meth:`generate` and keeps the rows
        in range: right for every generator, but each call pays for all rows before
        ``stop``. Generators whose samples are seeded one by one override it to make only
        the rows asked for (see :attr:`supports_ranges`).
        """
        position = 0
        for batch in self.generate(source, seed=seed, num_samples=num_samples):
            n = int(batch["images"].shape[0])
            lo, hi = max(start - position, 0), min(stop - position, n)
            if lo < hi:
                yield {k: v[lo:hi] for k, v in batch.items()}
            position += n
            if position >= stop:
                return

    @property
    def supports_ranges(self) -> bool:
        """Whether :meth:`generate_range` makes a row range without the rows before it,
        so a sharded build can run one task per shard."""
        return type(self).generate_range is not Generator.generate_range

    def build(
        self,
        source: Dataset,
        path: str | os.PathLike[str],
        *,
        seed: int,
        num_samples: int | None = None,
        name: str | None = None,
        recipe: str | None = None,
        overwrite: bool = False,
        progress: bool = False,
        executor: Executor | None = None,
        shard_size: int | None = None,
    ) -> Corpus:
        """Generate from ``source`` and write the corpus at ``path``, atomically.

        Args:
            source: the data set to generate from.
            path: the corpus directory.
            seed: the only source of randomness.
            num_samples: how many samples to make (generator default when ``None``).
            name: corpus name (default: the directory name).
            recipe: name of the recipe whose corpus ``source`` came from, if any.
            overwrite: replace an existing corpus at ``path``.
            progress: show a progress bar on stderr.
            executor: build shard by shard on this executor, resumably (see
                :func:`supervisor_testing.sharded_build.build_sharded`); the corpus is the
                same, byte for byte.
            shard_size: samples per shard (default 4096); implies a sharded build.
        """
        from tqdm.auto import tqdm

        if executor is not None or shard_size is not None:
            from supervisor_testing.sharded_build import DEFAULT_SHARD_SIZE, build_sharded

            return build_sharded(
                self,
                source,
                path,
                seed=seed,
                num_samples=num_samples,
                name=name,
                recipe=recipe,
                overwrite=overwrite,
                progress=progress,
                executor=executor,
                shard_size=DEFAULT_SHARD_SIZE if shard_size is None else shard_size,
            )

        info = GeneratorInfo(self.name, self.version, self._params, seed)
        writer = CorpusWriter(
            path,
            name=name or Path(path).name,
            kind=self.kind,
            class_names=self.class_names(source),
            generator=info,
            source=SourceInfo(source.name, source.split, source.sha256(), recipe),
            extra_columns=self.extra_columns(),
            image_shape=self.image_shape(source),
            overwrite=overwrite,
        )
        with (
            writer,
            tqdm(
                total=self.expected_samples(source, num_samples),
                desc=writer.name,
                unit="img",
                disable=not progress,
            ) as bar,
        ):
            for batch in self.generate(source, seed=seed, num_samples=num_samples):
                writer.add(batch)
                bar.update(int(batch["images"].shape[0]))
        assert writer.corpus is not None
        return writer.corpus
