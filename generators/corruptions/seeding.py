"""Per-sample random streams: a sample's noise depends on who it is, never on its batch.

A chunk derives one 256-bit key from ``SeedSequence(seed, spawn_key=(corruption key,
severity))``. Each draw the corruption makes (each call of a helper below, or each pass over
:meth:`SampleRandomness.__iter__`) gives every sample a fresh PCG64 state: the BLAKE2b hash
of (key, source index, draw number). The values a sample sees therefore depend only on
(seed, index, corruption, severity) and the corruption's fixed sequence of draws, whether it
is corrupted alone, in a batch of 7 or in a shard built by another process; and no draw's
size can shift the values of the next one.

Setting the state of one reused bit generator costs a few microseconds per sample, where
building a ``Generator`` from a ``SeedSequence`` per sample costs about four times as
much; that overhead, not the arithmetic, is what limits small images.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np
import torch

__all__ = ["SampleRandomness", "corruption_key", "poisson_level_tables"]


def corruption_key(name: str) -> int:
    """A stable 32-bit key for a corruption name (its position in a list can change)."""
    return zlib.crc32(name.encode("utf-8"))


class SampleRandomness:
    """Independent random streams, one per sample and draw.

    Args:
        seed: the corpus seed.
        indices: each sample's index in the source data set.
        corruption: canonical corruption name.
        severity: 1..5.

    Example:
        >>> a = SampleRandomness(0, [3, 4], "shot_noise", 2).uniform((2,))
        >>> b = SampleRandomness(0, [4], "shot_noise", 2).uniform((2,))
        >>> bool((a[1] == b[0]).all())
        True
    """

    def __init__(self, seed: int, indices: Sequence[int], corruption: str, severity: int) -> None:
        sequence = np.random.SeedSequence(seed, spawn_key=(corruption_key(corruption), severity))
        self._key = sequence.generate_state(8, np.uint32).tobytes()
        self._indices = [int(i) for i in indices]
        self._draws = 0
        self._bits = np.random.PCG64(0)
        self._generator = np.random.Generator(self._bits)

    def __len__(self) -> int:
        return len(self._indices)

    def _streams(self) -> Iterator[np.random.Generator]:
        """The shared generator, set to each sample's stream for the next draw in turn."""
        draw = self._draws.to_bytes(4, "little")
        self._draws += 1
        for index in self._indices:
            digest = hashlib.blake2b(
                index.to_bytes(8, "little") + draw, key=self._key, digest_size=32
            ).digest()
            self._bits.state = {
                "bit_generator": "PCG64",
                "state": {
                    "state": int.from_bytes(digest[:16], "little"),
                    "inc": int.from_bytes(digest[16:], "little") | 1,
                },
                "has_uint32": 0,
                "uinteger": 0,
            }
            yield self._generator

    def __iter__(self) -> Iterator[np.random.Generator]:
        """Each sample's generator for one draw (use it before taking the next one)."""
        return self._streams()

    def split(self, size: int) -> list[SampleRandomness]:
        """Consecutive groups of at most ``size`` samples that continue these streams."""
        parts = []
        for start in range(0, len(self), size):
            part = object.__new__(SampleRandomness)
            part._key, part._draws = self._key, self._draws
            part._indices = self._indices[start : start + size]
            part._bits = np.random.PCG64(0)
            part._generator = np.random.Generator(part._bits)
            parts.append(part)
        self._draws += 1
        return parts

    def uniform(self, shape: Sequence[int], low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """float32 ``N x *shape`` uniform in ``[low, high)``."""
        out = np.empty((len(self), *shape), dtype=np.float32)
        for row, generator in zip(out, self._streams(), strict=True):
            generator.random(dtype=np.float32, out=row)
        values = torch.from_numpy(out)
        if (low, high) != (0.0, 1.0):
            values = values * (high - low) + low
        return values

    def uniform64(self, shape: Sequence[int], low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """float64 ``N x *shape`` uniform in ``[low, high)`` (for values that get scaled far)."""
        out = np.empty((len(self), *shape), dtype=np.float64)
        for sample, generator in enumerate(self._streams()):
            out[sample] = generator.uniform(low, high, size=shape)
        return out

    def normal(self, shape: Sequence[int], loc: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        """float32 ``N x *shape`` normal with mean ``loc`` and std ``scale``.

        Box-Muller on the sample's uniforms: drawing uniforms per sample and transforming
        the whole chunk at once is about twice as fast as numpy's per-sample normals, and
        the transform acts element by element, so batching cannot change a value.
        """
        count = int(np.prod(shape, dtype=np.int64))
        pairs = (count + 1) // 2
        uniforms = self.uniform((2, pairs))
        radius = torch.sqrt(-2.0 * torch.log(1.0 - uniforms[:, 0]))
        angle = uniforms[:, 1] * (2.0 * math.pi)
        both = torch.cat((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)
        values = both[:, :count].reshape(len(self), *shape)
        if scale != 1.0:
            values = values * scale
        if loc != 0.0:
            values = values + loc
        return values

    def integers(self, low: int, high: int, shape: Sequence[int]) -> torch.Tensor:
        """int64 ``N x *shape`` uniform in ``low..high-1`` (numpy's ``randint`` convention)."""
        out = np.empty((len(self), *shape), dtype=np.int64)
        for sample, generator in enumerate(self._streams()):
            out[sample] = generator.integers(low, high, size=shape)
        return torch.from_numpy(out)

    def poisson(self, lam: torch.Tensor) -> torch.Tensor:
        """Poisson counts with per-element rates ``lam`` (``N x ...``), as float32."""
        rates = lam.to(torch.float64).numpy()
        out = np.empty(rates.shape, dtype=np.float32)
        for row, rate, generator in zip(out, rates, self._streams(), strict=True):
            row[...] = generator.poisson(rate)
        return torch.from_numpy(out)

    def poisson_levels(self, levels: torch.Tensor, rate: float) -> torch.Tensor:
        """Poisson counts at rate ``level / 255 * rate`` for uint8 ``levels`` (``N x ...``),
        as float32: the same distribution as :meth:`poisson` on those rates.

        A uint8 image has only 256 distinct rates, so each element inverts its level's
        cumulative distribution at one float64 uniform (exact inversion sampling). A guide
        table over the uniform's range answers most elements in one look-up; the rest
        search up from it. numpy's ``poisson`` costs about 50 ns per element, this about a
        quarter of that.
        """
        cdf, guide = poisson_level_tables(float(rate))
        width, slots = cdf.shape[1], guide.shape[1]
        flat_levels = levels.reshape(len(self), -1).numpy().astype(np.intp)
        uniforms = np.empty(flat_levels.shape, dtype=np.float64)
        for row, generator in zip(uniforms, self._streams(), strict=True):
            generator.random(out=row)
        slot = (uniforms * slots).astype(np.intp)
        slot += flat_levels * slots
        count = guide.ravel()[slot]
        # Negative entries mark slots that a cdf step crosses: -(first candidate + 1).
        pending = np.flatnonzero(count < 0)
        if pending.size:
            cdf_flat = cdf.ravel()
            base = flat_levels.flat[pending] * width
            target = uniforms.flat[pending]
            found = -count.flat[pending] - 1
            walking = np.arange(pending.size)
            while walking.size:
                below = cdf_flat[base[walking] + found[walking]] <= target[walking]
                walking = walking[below]
                found[walking] += 1
            count.flat[pending] = found
        return torch.from_numpy(count.astype(np.float32)).reshape(levels.shape)


@lru_cache(maxsize=32)
def poisson_level_tables(rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Per uint8 level: the Poisson cdf at rate ``level / 255 * rate`` (``256 x K``, the
    last column 1 so every search ends) and a guide table (``256 x G``, int32): for
    uniforms in ``[j / G, (j + 1) / G)`` the count itself when one count covers the whole
    slot, else ``-(c + 1)`` with ``c`` the first count the search must look at."""
    from scipy.stats import poisson

    width = int(rate + 15.0 * math.sqrt(rate) + 30.0)  # the tail past it is below 1e-40
    rates = np.arange(256, dtype=np.float64)[:, None] / 255.0 * rate
    cdf = poisson.cdf(np.arange(width, dtype=np.float64)[None, :], rates)
    cdf[:, -1] = 1.0
    slots = 2 * width
    starts = np.arange(slots, dtype=np.float64) / slots
    first = np.stack([np.searchsorted(row, starts, side="right") for row in cdf])
    covers = np.take_along_axis(cdf, first, axis=1) >= (np.arange(1, slots + 1) / slots)
    guide = np.where(covers, first, -first - 1)
    return cdf, guide.astype(np.int32)
