"""Per-sample noise streams, so an edit depends on its own seed and nothing else.

Each sample owns a ``torch.Generator`` seeded from (seed, source index, method,
strength); every noise tensor an edit needs is drawn from it in a fixed order. A shared
generator would make a sample's noise depend on its position in the batch (and reusing
one across calls changes results: diffusers #4055).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["NoiseStreams", "sample_seed"]


def sample_seed(seed: int, source_index: int, method: str, strength: float) -> int:
    """A 63-bit seed for one (sample, method, strength) cell, via NumPy's SeedSequence."""
    method_key = int.from_bytes(method.encode()[:8].ljust(8, b"\0"), "little")
    strength_key = round(float(strength) * 1_000_000)
    state = np.random.SeedSequence(seed, spawn_key=(int(source_index), method_key, strength_key))
    return int(state.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


class NoiseStreams:
    """One generator per row; :meth:`draw` gives a standard normal tensor per row."""

    def __init__(self, seeds: Sequence[int], shape: tuple[int, ...]) -> None:
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.shape = tuple(shape)

    def draw(self) -> torch.Tensor:
        if not self.generators:
            return torch.zeros((0, *self.shape))
        return torch.stack([torch.randn(self.shape, generator=g) for g in self.generators])
