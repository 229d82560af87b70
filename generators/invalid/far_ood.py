"""Far-OOD inputs: another data set's images, presented in the model's input shape.

The AmbiGuess study's "invalid" inputs: e.g. Fashion-MNIST shown to an MNIST classifier.
No label applies, so every sample has label -1 and all-zero ``label_probs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import torch

from generators.invalid.image_conversion import convert_images
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import Generator, generators, subsample_indices

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset

__all__ = ["FarOODGenerator"]


@generators.register("far-ood", aliases=("invalid",))
class FarOODGenerator(Generator):
    """Convert a source split to a target data set's image shape and label space.

    Parameters (pass ``target`` or both of the others):
        target: data set name whose ``dataset_info`` gives the image shape and class names.
        image_shape: ``[C, H, W]`` with C = 1 or 3.
        class_names: the target label space (``label_probs`` gets one column per name).

    Example:
        >>> FarOODGenerator(image_shape=[1, 28, 28], class_names=["a", "b"]).kind
        'far-ood'
    """

    name = "far-ood"
    version = "1"
    kind = "far-ood"
    defaults = MappingProxyType({"target": None, "image_shape": None, "class_names": None})

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        target, shape, names = params["target"], params["image_shape"], params["class_names"]
        if target is not None:
            if not isinstance(target, str) or not target:
                raise InvalidInputError(f"far-ood: target must be a data set name, got {target!r}")
            if shape is not None or names is not None:
                raise InvalidInputError(
                    "far-ood: pass either target or image_shape + class_names, not both"
                )
            return params
        if shape is None or names is None:
            raise InvalidInputError(
                "far-ood: pass target (a data set name, e.g. target='mnist') or both "
                "image_shape=[C, H, W] and class_names=[...]"
            )
        shape = list(shape) if isinstance(shape, (list, tuple)) else shape
        if (
            not isinstance(shape, list)
            or len(shape) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
            or shape[0] not in (1, 3)
        ):
            raise InvalidInputError(
                f"far-ood: image_shape must be [C, H, W] with C = 1 or 3, got {shape!r}"
            )
        if (
            not isinstance(names, (list, tuple))
            or not names
            or not all(isinstance(n, str) and n for n in names)
        ):
            raise InvalidInputError(
                f"far-ood: class_names must be a non-empty list of strings, got {names!r}"
            )
        return {**params, "image_shape": shape, "class_names": list(names)}

    def _target(self) -> tuple[tuple[int, int, int], tuple[str, ...]]:
        if self._params["target"] is None:
            c, h, w = self._params["image_shape"]
            return (c, h, w), tuple(self._params["class_names"])
        from supervisor_testing.data import dataset_info

        info = dataset_info(self._params["target"])
        c, h, w = (int(d) for d in info.image_shape)
        return (c, h, w), tuple(info.class_names)

    def class_names(self, source: Dataset) -> tuple[str, ...]:
        return self._target()[1]

    def image_shape(self, source: Dataset) -> tuple[int, int, int]:
        return self._target()[0]

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        yield from self._batches(source, subsample_indices(len(source), num_samples, seed=seed))

    def generate_range(
        self, source: Dataset, *, seed: int, num_samples: int | None = None, start: int, stop: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        indices = subsample_indices(len(source), num_samples, seed=seed)
        yield from self._batches(source, indices[start:stop])

    def _batches(self, source: Dataset, indices: torch.Tensor) -> Iterator[dict[str, torch.Tensor]]:
        shape, class_names = self._target()
        for chunk in indices.split(self.batch_size):
            n = len(chunk)
            yield {
                "images": convert_images(source.images[chunk], shape),
                "labels": torch.full((n,), -1, dtype=torch.int64),
                "label_probs": torch.zeros(n, len(class_names), dtype=torch.float32),
                "source_index": chunk,
            }


FarOODGenerator.__module__ = "generators.invalid"
