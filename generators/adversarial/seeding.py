"""Per-input random streams, so that random starts do not depend on batching.

Each input draws from its own generator, keyed by the corpus seed, the input's index in
the source data set and the epsilon: the same input gets the same start whichever batch,
quarter or ladder it is attacked in.
"""

from __future__ import annotations

import struct

import numpy as np
import torch

__all__ = ["row_generator"]


def row_generator(seed: int, index: int, epsilon: float) -> torch.Generator:
    """A CPU generator for input ``index`` at ``epsilon`` under ``seed``."""
    # SeedSequence mixes the three keys so that neighbouring indices get unrelated
    # streams; epsilon enters by its IEEE bits, so any float is a distinct key.
    (bits,) = struct.unpack("<Q", struct.pack("<d", float(epsilon)))
    state = np.random.SeedSequence([int(seed), int(index), bits]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
