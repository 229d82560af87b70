"""The stress inputs a supervisor missed: what to look at first when a gate fails.

Scores follow the corpus order (``score_corpus`` streams it), so the lowest-scoring stress
inputs are found by sorting the scores and read back from the corpus by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.evaluate import DetectionResult

__all__ = ["MissedInputs", "missed_grid", "missed_inputs"]


@dataclass(frozen=True)
class MissedInputs:
    """Stress inputs scored at or below the threshold, lowest score first.

    Attributes:
        indices: positions in the stress corpus.
        scores: their scores.
        images: uint8 ``N x C x H x W``.
        total: how many stress inputs were missed in all.
    """

    indices: np.ndarray
    scores: np.ndarray
    images: torch.Tensor
    total: int


def missed_inputs(result: DetectionResult, corpus: Corpus, *, count: int = 16) -> MissedInputs:
    """The ``count`` missed stress inputs with the lowest scores.

    Raises:
        InvalidInputError: the result carries no scores, or ``corpus`` is not the corpus
            it was computed on (another size).
    """
    import torch

    scores = result.stress_scores
    if scores is None:
        raise InvalidInputError(
            f"the result for {result.supervisor} on {result.stress!r} carries no scores, so "
            "its missed inputs cannot be found; keep the scores in the results file"
        )
    if len(scores) != len(corpus):
        raise InvalidInputError(
            f"corpus {corpus.name!r} has {len(corpus)} inputs but the result scored "
            f"{len(scores)}: it is not the corpus the result was computed on"
        )
    missed = np.flatnonzero(scores <= result.threshold)
    order = missed[np.argsort(scores[missed], kind="stable")][:count]
    wanted = {int(index): rank for rank, index in enumerate(order)}
    images: list[torch.Tensor | None] = [None] * len(order)
    start = 0
    for batch in corpus.batches(1024, columns=["images"]):
        batch_images = batch["images"]
        for offset in range(len(batch_images)):
            rank = wanted.get(start + offset)
            if rank is not None:
                images[rank] = batch_images[offset]
        start += len(batch_images)
    stacked = (
        torch.stack(images)  # type: ignore[arg-type]
        if images
        else torch.zeros((0, *corpus.image_shape), dtype=torch.uint8)
    )
    return MissedInputs(indices=order, scores=scores[order], images=stacked, total=len(missed))


def missed_grid(
    missed: MissedInputs, *, columns: int = 8, scale: int | None = None
) -> Image.Image | None:
    """An image grid of the missed inputs captioned with their scores (``None`` if none).

    Without ``scale``, tiles are enlarged to at least 56 pixels wide, so that 8x8 inputs
    stay visible and the score captions fit under them.
    """
    from supervisor_testing.report.grid import image_grid

    if len(missed.indices) == 0:
        return None
    if scale is None:
        scale = max(1, -(-56 // missed.images.shape[-1]))
    captions = [f"{score:.3g}" for score in missed.scores]
    return image_grid(missed.images, columns=columns, scale=scale, captions=captions)
