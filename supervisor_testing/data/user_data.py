"""Data sets the user points at by path: an idx directory, an ``.npz`` file or an image folder.

The layout is recognised from the path itself: a file ending in ``.npz``; a directory with
the four official idx files or one idx images/labels pair; otherwise a directory with one
sub-folder per class.
"""

from __future__ import annotations

from pathlib import Path

from supervisor_testing.data.known_datasets import DatasetInfo
from supervisor_testing.data.sources import KINDS, DataSource
from supervisor_testing.errors import InvalidInputError

__all__ = ["describe_user_data", "detect_user_source"]


def detect_user_source(path: Path) -> DataSource:
    """The kind of user data at ``path``."""
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return DataSource("npz", path)
        raise InvalidInputError(
            f"{path}: a data file must be an .npz archive; for idx files pass their directory"
        )
    idx = DataSource("idx", path)
    if idx.exists():
        return idx
    folder = DataSource("image-folder", path)
    if any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        return folder
    layouts = "; ".join(KINDS[kind] for kind in ("idx", "npz", "image-folder"))
    raise InvalidInputError(f"{path}: not a recognised data layout. Expected one of: {layouts}")


def _idx_layout(path: Path) -> tuple[tuple[str, ...], tuple[int, int, int]]:
    from supervisor_testing.data.idx_format import (
        find_idx_pair,
        find_official_idx,
        read_idx,
        read_idx_header,
    )

    official = find_official_idx(path)
    if official is not None:
        images = official["train_images"]
        labels = [official["train_labels"], official["test_labels"]]
    else:
        images, pair_labels = find_idx_pair(path)
        labels = [pair_labels]
    _, shape = read_idx_header(images)
    if len(shape) not in (3, 4):
        raise InvalidInputError(f"{images}: idx images must be N x H x W or N x C x H x W")
    largest = -1
    for file in labels:
        values = read_idx(file)
        if values.size:
            largest = max(largest, int(values.max()))
    chw = (1, *shape[1:]) if len(shape) == 3 else tuple(shape[1:])
    return tuple(str(i) for i in range(largest + 1)), chw  # type: ignore[return-value]


def describe_user_data(path: Path) -> DatasetInfo:
    """Class names and image shape of user data, reading headers and labels only."""
    source = detect_user_source(path)
    if source.kind == "npz":
        from supervisor_testing.data.npz_format import read_npz_layout

        class_names, shape = read_npz_layout(path)
    elif source.kind == "idx":
        class_names, shape = _idx_layout(path)
    else:
        from supervisor_testing.data.image_folder import read_image_folder_layout

        class_names, shape = read_image_folder_layout(path)
    return DatasetInfo(
        name=str(path),
        description=f"user data: {KINDS[source.kind]}",
        class_names=class_names,
        image_shape=shape,
        sources=(source,),
    )
