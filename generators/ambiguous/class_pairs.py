"""Which class pairs get a model, and whether the data can train them."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import torch

from supervisor_testing.errors import InvalidInputError

__all__ = ["MIN_IMAGES_PER_CLASS", "class_pairs"]

#: Fewer training images than this per class cannot shape a two-cluster latent space.
MIN_IMAGES_PER_CLASS = 10


def class_pairs(
    labels: torch.Tensor,
    class_names: Sequence[str],
    pairs: Sequence[Sequence[int]] | None = None,
) -> list[tuple[int, int]]:
    """The ``(first, second)`` class pairs to train, each with ``first < second``.

    Args:
        labels: int64 training labels.
        class_names: the label space.
        pairs: the pairs to use; ``None`` means every pair of classes (45 for ten).

    Raises:
        InvalidInputError: fewer than two classes, a malformed or repeated pair, or a
            pair with fewer than :data:`MIN_IMAGES_PER_CLASS` images of one of its classes.
    """
    k = len(class_names)
    present = int((torch.bincount(labels, minlength=k) > 0).sum()) if len(labels) else 0
    if k < 2 or present < 2:
        raise InvalidInputError(
            f"ambiguous inputs mix two classes, but the data set has {k} class(es) with "
            f"images in {present}; use a labelled data set with at least two classes"
        )
    if pairs is None:
        chosen = list(combinations(range(k), 2))
    else:
        chosen = []
        for pair in pairs:
            if (
                not isinstance(pair, (list, tuple))
                or len(pair) != 2
                or not all(isinstance(c, int) and not isinstance(c, bool) for c in pair)
                or not all(0 <= c < k for c in pair)
                or pair[0] == pair[1]
            ):
                raise InvalidInputError(
                    f"each pair must be two different class indices in 0..{k - 1}, got "
                    f"{pair!r}; write pairs as [[0, 1], [3, 5]]"
                )
            normalised = (min(pair), max(pair))
            if normalised in chosen:
                raise InvalidInputError(f"pair {list(normalised)} is listed twice; list it once")
            chosen.append(normalised)
        if not chosen:
            raise InvalidInputError("pairs is empty; list at least one pair or pass None for all")
        chosen.sort()
    counts = torch.bincount(labels, minlength=k).tolist()
    for pair in chosen:
        for c in pair:
            if counts[c] < MIN_IMAGES_PER_CLASS:
                raise InvalidInputError(
                    f"class pair {class_names[pair[0]]!r}/{class_names[pair[1]]!r} has only "
                    f"{counts[c]} training image(s) of class {class_names[c]!r}; a pair model "
                    f"needs at least {MIN_IMAGES_PER_CLASS} per class: add data or leave the "
                    f"pair out with pairs=[...]"
                )
    return chosen
