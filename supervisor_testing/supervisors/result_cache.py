"""An in-memory, size-bounded cache for work several supervisors share.

A battery of feature-based supervisors on one model needs one forward pass per input, not
one per supervisor; the four MC-dropout quantifiers need one set of S samples. The cache
holds those results under content keys (model hash, input hash, settings) and evicts the
least recently used entries past a byte budget, so a long run cannot grow without bound.
Cached tensors are shared: callers must treat them as read-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import torch

__all__ = ["ResultCache", "clear_shared_caches", "nbytes", "shared_cache"]

T = TypeVar("T")

#: Default budget of the shared cache: room for the activations of ~100k MNIST-sized inputs
#: at a 1,024-wide layer.
DEFAULT_MAX_BYTES = 1 << 30


def nbytes(value: Any) -> int:
    """Bytes held by the tensors inside ``value`` (tensors, dataclasses, tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(nbytes(getattr(value, name)) for name in value.__dataclass_fields__)
    return 0


class ResultCache:
    """Least-recently-used mapping from hashable keys to results, bounded in bytes.

    Args:
        max_bytes: evict the oldest entries once the cached tensors exceed this; an entry
            larger than the whole budget is computed but not kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for ``key``, or ``compute()`` stored under it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
            self.misses += 1
        value = compute()
        size = nbytes(value)
        if size <= self.max_bytes:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = (value, size)
                    self._bytes += size
                while self._bytes > self.max_bytes and self._entries:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __repr__(self) -> str:
        return (
            f"ResultCache({len(self)} entries, {self._bytes / 2**20:.1f} MiB of "
            f"{self.max_bytes / 2**20:.0f} MiB, hits={self.hits}, misses={self.misses})"
        )


#: The process-wide cache every built-in supervisor shares.
shared_cache = ResultCache()


def clear_shared_caches() -> None:
    """Drop everything the built-in supervisors have cached (e.g. between benchmarks)."""
    shared_cache.clear()
