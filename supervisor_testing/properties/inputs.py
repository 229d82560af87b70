"""Turning what a property is given (a corpus, a drawn batch, a tensor) into images.

Every property takes the same kinds of input, so a one-line test over a corpus and a
hypothesis test over a drawn :class:`~supervisor_testing.strategies.Batch` run the same
code. The checks here run before any scoring.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np
import torch

from supervisor_testing.drawn import Batch
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.model_probe import check_model_reads

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset
    from supervisor_testing.supervisors.base import Supervisor

__all__ = ["Inputs", "PropertyInputs", "check_alpha", "check_tolerance", "resolve_inputs", "scores"]

#: What every property accepts as its inputs.
PropertyInputs = Union["Corpus", "Dataset", Batch, torch.Tensor, str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Inputs:
    """uint8 images with what is known about them.

    Attributes:
        images: uint8 ``N x C x H x W``.
        labels: int64 ``N`` (-1 outside the label space or where unknown).
        indices: int64 ``N``: each image's row in its source, the key that seeds its
            randomness in the generators.
        pairs: int64 ``N x 2`` class pairs of ambiguous inputs, else ``None``.
        name: where the images came from, for messages.
    """

    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    pairs: torch.Tensor | None
    name: str

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def take(self, rows: torch.Tensor) -> Inputs:
        pairs = None if self.pairs is None else self.pairs[rows]
        return Inputs(self.images[rows], self.labels[rows], self.indices[rows], pairs, self.name)


def _as_uint8(images: torch.Tensor) -> torch.Tensor:
    if images.ndim != 4:
        raise InvalidInputError(
            f"expected images N x C x H x W, got shape {tuple(images.shape)}; add a batch "
            f"dimension with x.unsqueeze(0)"
        )
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point() or not bool(torch.isfinite(images).all()):
        raise InvalidInputError(f"expected uint8 or finite float images, got {images.dtype}")
    if images.numel() and (float(images.min()) < 0 or float(images.max()) > 1):
        raise InvalidInputError("float images must lie in [0, 1]; pass uint8 for 0..255")
    # The generators work on stored (uint8) images, so float inputs are stored first.
    return images.mul(255).round_().to(torch.uint8)


def _first_of_each(images: torch.Tensor) -> torch.Tensor:
    """Rows holding the first copy of each distinct image, in order."""
    _, inverse = torch.unique(images.flatten(1), dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(inverse), dtype=torch.int64)
    first.scatter_reduce_(0, inverse, torch.arange(len(inverse)), reduce="amin")
    return first.sort().values


def resolve_inputs(
    inputs: PropertyInputs, *, samples: int | None = None, seed: int = 0, distinct: bool = False
) -> Inputs:
    """The images of ``inputs``, a seeded subsample of ``samples`` of them when given.

    ``distinct`` keeps one copy of each image: a statistical test counts independent
    observations, and hypothesis readily draws a batch of one image repeated.

    Raises:
        InvalidInputError: no images, or images of the wrong type or shape.
    """
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

    if isinstance(inputs, Batch):
        pairs = None
        if all("pair" in s.params for s in inputs):
            pairs = torch.tensor([list(s.params["pair"]) for s in inputs], dtype=torch.int64)
        found = Inputs(inputs.images, inputs.labels, inputs.indices, pairs, "the drawn batch")
    elif isinstance(inputs, torch.Tensor):
        images = _as_uint8(inputs)
        n = int(images.shape[0])
        minus = torch.full((n,), -1, dtype=torch.int64)
        found = Inputs(images, minus, torch.arange(n), None, "the given images")
    elif isinstance(inputs, Dataset):
        n = len(inputs)
        found = Inputs(inputs.images, inputs.labels, torch.arange(n), None, inputs.name)
    elif isinstance(inputs, (Corpus, str, os.PathLike)):
        from supervisor_testing.recipes import resolve_corpus

        corpus = resolve_corpus(inputs)
        columns = ["images", "labels"] + (["pair"] if "pair" in corpus.columns else [])
        data = corpus.load(columns)
        n = int(data["labels"].shape[0])
        found = Inputs(
            data["images"], data["labels"], torch.arange(n), data.get("pair"), corpus.name
        )
    else:
        raise InvalidInputError(
            f"expected a corpus, a data set, a drawn batch or an image tensor, got "
            f"{type(inputs).__name__}"
        )
    if len(found) == 0:
        raise InvalidInputError(f"{found.name} holds no images; a property needs some to score")
    if distinct:
        found = found.take(_first_of_each(found.images))
    if samples is not None:
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise InvalidInputError(f"samples must be a positive int, got {samples!r}")
        if samples < len(found):
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(len(found), size=samples, replace=False))
            found = found.take(torch.from_numpy(rows))
    return found


def check_inputs_fit(supervisor: Supervisor, inputs: Inputs) -> None:
    """Raise before any scoring when the supervisor's model cannot read the images."""
    check_model_reads(supervisor, tuple(inputs.images.shape[1:]), what=inputs.name)


def scores(supervisor: Supervisor, images: torch.Tensor) -> np.ndarray:
    """The supervisor's scores as float64 numpy, checked for one finite value per input."""
    out = supervisor.score(images)
    values = np.asarray(
        out.detach().cpu().double().numpy() if isinstance(out, torch.Tensor) else out
    )
    if values.shape != (images.shape[0],):
        raise InvalidInputError(
            f"supervisor {supervisor.name!r} returned scores of shape {values.shape} for "
            f"{images.shape[0]} inputs; score() must return one value per input"
        )
    if not np.isfinite(values).all():
        raise InvalidInputError(f"supervisor {supervisor.name!r} returned NaN or infinite scores")
    return values


def check_tolerance(value: float, name: str = "tolerance") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidInputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_alpha(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InvalidInputError(f"alpha must lie in (0, 1), e.g. 0.01, got {value!r}")
    return float(value)


def score_scale(values: np.ndarray) -> float:
    """The spread that tolerances are measured in: the scores' standard deviation, or
    their magnitude where they do not vary (one input, a constant score), else 1."""
    if len(values) > 1:
        spread = float(np.std(values, ddof=1))
        if spread > 0:
            return spread
    magnitude = float(np.mean(np.abs(values)))
    return magnitude if magnitude > 0 else 1.0
