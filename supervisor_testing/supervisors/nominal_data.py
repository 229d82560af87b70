"""The three forms of nominal data ``fit`` accepts, read one way.

``Supervisor.fit`` takes a :class:`~supervisor_testing.data.Dataset`, a
:class:`~supervisor_testing.corpus.Corpus` or a bare tensor of images. Supervisors that
learn per-class statistics need labels: a Dataset or Corpus brings its own (corpus samples
outside the label space, label -1, are skipped); a bare tensor has none, and those
supervisors then use the model's own predicted classes in their place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = ["iter_nominal", "nominal_size", "require_dataset"]


def _kind(nominal: object) -> str:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

    if isinstance(nominal, Dataset):
        return "dataset"
    if isinstance(nominal, Corpus):
        return "corpus"
    if isinstance(nominal, torch.Tensor):
        return "tensor"
    raise InvalidInputError(
        f"fit takes a Dataset, a Corpus or a tensor of images, got {type(nominal).__name__}"
    )


def nominal_size(nominal: Dataset | Corpus | torch.Tensor) -> int:
    """How many samples ``nominal`` holds."""
    _kind(nominal)
    return len(nominal)


def iter_nominal(
    nominal: Dataset | Corpus | torch.Tensor, *, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """``(images, labels)`` batches in order; ``labels`` is ``None`` for a bare tensor.

    Images are passed on as stored (``uint8`` or float); callers convert them with
    :func:`~supervisor_testing.supervisors.as_model_input`.
    """
    kind = _kind(nominal)
    if len(nominal) == 0:
        raise InvalidInputError("the nominal data is empty; fit needs at least one sample")
    if kind == "dataset":
        for start in range(0, len(nominal), batch_size):
            stop = start + batch_size
            yield nominal.images[start:stop], nominal.labels[start:stop]
    elif kind == "corpus":
        for batch in nominal.batches(batch_size, columns=["images", "labels"]):
            yield batch["images"], batch["labels"]
    else:
        for chunk in nominal.split(batch_size):
            yield chunk, None


def require_dataset(nominal: Dataset | Corpus | torch.Tensor, *, what: str) -> Dataset:
    """``nominal`` as a labelled Dataset, for supervisors that train classifiers on it."""
    kind = _kind(nominal)
    if kind == "dataset":
        return nominal
    if kind == "corpus":
        return nominal.to_dataset()
    raise InvalidInputError(
        f"{what} trains classifiers and needs labelled data: pass a Dataset "
        "(load_dataset(name, 'train')) or a labelled Corpus, not a bare tensor"
    )
