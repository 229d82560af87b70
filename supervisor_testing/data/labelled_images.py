"""Images and labels as numpy arrays: what every file reader returns.

Readers stay free of torch so that describing or converting a data set never pays for
importing it; :func:`supervisor_testing.data.load_dataset` turns the arrays into a
:class:`~supervisor_testing.data.Dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from supervisor_testing.errors import InvalidInputError

__all__ = ["LabelledImages", "as_labels", "as_nchw_uint8", "default_class_names"]


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """``("0", "1", ...)``: the names of classes a file format does not name."""
    return tuple(str(i) for i in range(num_classes))


def as_nchw_uint8(images: np.ndarray, *, where: str) -> np.ndarray:
    """``images`` as ``uint8 N x C x H x W``; ``N x H x W`` gains a channel axis."""
    if images.dtype != np.uint8:
        raise InvalidInputError(
            f"{where}: images must be uint8 (0..255), got {images.dtype}; convert float images "
            "in [0, 1] with (x * 255).round().astype(numpy.uint8)"
        )
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4 and images.shape[1] in (1, 3):
        return images
    raise InvalidInputError(
        f"{where}: images must be N x H x W or N x C x H x W with C in (1, 3), got shape "
        f"{images.shape}; transpose channels-last arrays with x.transpose(0, 3, 1, 2)"
    )


def as_labels(labels: np.ndarray, num_images: int, *, where: str) -> np.ndarray:
    """``labels`` as ``int64`` of shape ``(num_images,)`` with no negative value."""
    if labels.ndim != 1 or labels.shape[0] != num_images:
        raise InvalidInputError(
            f"{where}: expected one label per image ({num_images}), got labels of shape "
            f"{labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidInputError(f"{where}: labels must be integers, got {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise InvalidInputError(f"{where}: labels must be >= 0, found {int(labels.min())}")
    return labels.astype(np.int64)


@dataclass(frozen=True, eq=False)
class LabelledImages:
    """All samples of one file or folder, before any split.

    Attributes:
        images: ``uint8`` array ``N x C x H x W``.
        labels: ``int64`` array ``N``.
        class_names: names indexed by label.
        source: where the samples came from (``"idx:/path"``), for provenance.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or "labelled images"
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise InvalidInputError(f"{where}: images must be uint8 N x C x H x W")
        as_labels(self.labels, len(self.images), where=where)
        if len(self.labels) and self.labels.max() >= len(self.class_names):
            raise InvalidInputError(
                f"{where}: label {int(self.labels.max())} has no class name "
                f"({len(self.class_names)} names given)"
            )

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    @classmethod
    def from_arrays(
        cls,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        class_names: Sequence[str] | None = None,
        source: str = "",
    ) -> LabelledImages:
        """Validate and normalise raw arrays; unnamed classes are named by their index."""
        where = source or "labelled images"
        images = as_nchw_uint8(np.asarray(images), where=where)
        labels = as_labels(np.asarray(labels), len(images), where=where)
        if class_names is None:
            num_classes = int(labels.max()) + 1 if len(labels) else 0
            class_names = default_class_names(num_classes)
        return cls(images, labels, tuple(str(n) for n in class_names), source)
