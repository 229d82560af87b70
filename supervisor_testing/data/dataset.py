"""The in-memory form of a labelled image data set split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

from supervisor_testing.errors import InvalidInputError

__all__ = ["SPLITS", "Dataset"]

#: ``train`` fits models, ``calibration`` sets supervisor thresholds, ``test`` is held out.
SPLITS = ("train", "calibration", "test")


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a labelled image data set.

    Attributes:
        name: registry name of the data set (``"mnist"``).
        split: one of :data:`SPLITS`.
        images: ``uint8`` tensor ``N x C x H x W``.
        labels: ``int64`` tensor ``N`` with values in ``0..len(class_names)-1``.
        class_names: human-readable class names, indexed by label.
        source: where the bytes came from (a path or package), for provenance.
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    source: str = ""
    _digest: list[str] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise InvalidInputError(
                f"data set {self.name!r}: images must be uint8 N x C x H x W, "
                f"got {images.dtype} with shape {tuple(images.shape)}"
            )
        if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
            raise InvalidInputError(
                f"data set {self.name!r}: labels must be int64 of shape ({images.shape[0]},), "
                f"got {labels.dtype} with shape {tuple(labels.shape)}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise InvalidInputError(
                f"data set {self.name!r}: labels must lie in 0..{len(self.class_names) - 1}"
            )

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def sha256(self) -> str:
        """Content hash of images, labels and class names (cached); keys model caches."""
        if not self._digest:
            h = hashlib.sha256()
            h.update(repr((tuple(self.images.shape), self.class_names)).encode())
            h.update(self.images.contiguous().numpy().tobytes())
            h.update(self.labels.contiguous().numpy().tobytes())
            self._digest.append(h.hexdigest())
        return self._digest[0]

    def subset(self, indices: torch.Tensor) -> Dataset:
        """A new split holding the samples at ``indices`` (in that order)."""
        return Dataset(
            name=self.name,
            split=self.split,
            images=self.images[indices],
            labels=self.labels[indices],
            class_names=self.class_names,
            source=self.source,
        )

    def float_images(self) -> torch.Tensor:
        """Images as float32 in ``[0, 1]``, the input every model and supervisor takes."""
        return self.images.float().div_(255.0)
