"""The naive baseline for ambiguity: blend two real images in pixel space.

``lambda * a + (1 - lambda) * b`` of an image of each class has the right soft label on
paper, but it looks like two overlaid digits, not like one digit that could be either:
an independent model sees an invalid input. The quality assessment compares AmbiGuess
corpora with mixups of the same class pairs and the same soft labels.
"""

from __future__ import annotations

import numpy as np
import torch

from generators.ambiguous.quantization import to_uint8
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError

__all__ = ["pixel_mixup"]


def pixel_mixup(
    pool: Dataset, pairs: torch.Tensor, weights: torch.Tensor, *, seed: int
) -> torch.Tensor:
    """One mixup per row: ``w * a + (1 - w) * b`` with ``a`` of class ``pairs[i, 0]`` and
    ``b`` of class ``pairs[i, 1]``, both drawn uniformly from ``pool`` with ``seed``.

    Args:
        pool: real images to blend (e.g. the nominal test split).
        pairs: int64 ``N x 2`` class pairs.
        weights: float ``N``, the weight of the first class (its soft label).
        seed: chooses the images.

    Returns:
        uint8 images ``N x C x H x W``.

    Example:
        >>> pool = Dataset("toy", "test", torch.tensor([0, 200], dtype=torch.uint8)
        ...     .view(2, 1, 1, 1), torch.tensor([0, 1]), ("a", "b"))
        >>> pixel_mixup(pool, torch.tensor([[0, 1]]), torch.tensor([0.25]), seed=0).item()
        150
    """
    if pairs.ndim != 2 or pairs.shape[1] != 2 or weights.shape != (pairs.shape[0],):
        raise InvalidInputError(
            f"pairs must be N x 2 and weights N, got {tuple(pairs.shape)} and "
            f"{tuple(weights.shape)}"
        )
    rng = np.random.default_rng(seed)
    by_class = {
        int(c): torch.nonzero(pool.labels == c).squeeze(1).numpy()
        for c in torch.unique(pairs).tolist()
    }
    empty = [c for c, rows in by_class.items() if len(rows) == 0]
    if empty:
        raise InvalidInputError(
            f"the mixup pool has no image of class {pool.class_names[empty[0]]!r}; use a "
            f"split that holds every class of the pairs"
        )
    first = np.empty(len(pairs), dtype=np.int64)
    second = np.empty(len(pairs), dtype=np.int64)
    for i, (a, b) in enumerate(pairs.tolist()):
        first[i] = rng.choice(by_class[a])
        second[i] = rng.choice(by_class[b])
    a_img = pool.images[torch.from_numpy(first)].float() / 255.0
    b_img = pool.images[torch.from_numpy(second)].float() / 255.0
    w = weights.float().view(-1, 1, 1, 1)
    return to_uint8(w * a_img + (1 - w) * b_img)
