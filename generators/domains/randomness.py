"""Per-sample random streams keyed by (seed, source index, domain).

Every random choice a renderer makes for a sample comes from that sample's own numpy
``Generator``, built from ``SeedSequence(seed, spawn_key=(source index, domain key))``:
the values a sample sees are the same alone, in a batch of 7 or in a shard another process
builds. The strength is not part of the key, so one image rendered at several strengths
keeps its texture, palette and layout, and only the amount of the domain changes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch

__all__ = ["DomainRandomness", "domain_key"]


def domain_key(domain: str) -> int:
    """A stable 32-bit key for a domain name (its position in a list can change)."""
    return zlib.crc32(domain.encode("utf-8"))


class DomainRandomness:
    """One independent random stream per sample of a batch.

    Every method draws from each sample's stream in turn, so renderers must make the same
    sequence of calls for every sample (they do: a call draws for the whole batch).

    Example:
        >>> a = DomainRandomness(0, [3, 4], "chalkboard").uniform((2,))
        >>> b = DomainRandomness(0, [4], "chalkboard").uniform((2,))
        >>> bool((a[1] == b[0]).all())
        True
    """

    def __init__(self, seed: int, indices: Sequence[int], domain: str) -> None:
        key = domain_key(domain)
        self._generators = [
            np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(int(i), key)))
            )
            for i in indices
        ]

    def __len__(self) -> int:
        return len(self._generators)

    def __iter__(self) -> Iterator[np.random.Generator]:
        """Each sample's generator, for draws that do not fit the batched helpers."""
        return iter(self._generators)

    def uniform(
        self, shape: Sequence[int] = (), low: float = 0.0, high: float = 1.0
    ) -> torch.Tensor:
        """float32 ``N x *shape`` uniform in ``[low, high)``."""
        out = np.empty((len(self), *shape), dtype=np.float64)
        for sample, generator in enumerate(self._generators):
            out[sample] = generator.random(size=tuple(shape))
        return torch.from_numpy(out * (high - low) + low).to(torch.float32)

    def normal(self, shape: Sequence[int] = ()) -> torch.Tensor:
        """float32 ``N x *shape`` standard normal."""
        out = np.empty((len(self), *shape), dtype=np.float64)
        for sample, generator in enumerate(self._generators):
            out[sample] = generator.standard_normal(size=tuple(shape))
        return torch.from_numpy(out).to(torch.float32)

    def integers(self, low: int, high: int, shape: Sequence[int] = ()) -> torch.Tensor:
        """int64 ``N x *shape`` uniform in ``low..high-1``."""
        out = np.empty((len(self), *shape), dtype=np.int64)
        for sample, generator in enumerate(self._generators):
            out[sample] = generator.integers(low, high, size=tuple(shape))
        return torch.from_numpy(out)

    def choice(self, options: int) -> torch.Tensor:
        """int64 ``N``: one of ``0..options-1`` per sample (a palette entry, a layout)."""
        return self.integers(0, options)
