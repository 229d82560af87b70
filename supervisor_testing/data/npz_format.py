"""User data as one ``.npz`` file: ``images``, ``labels`` and optional ``class_names``.

``images`` is uint8 ``N x H x W`` or ``N x C x H x W``; ``labels`` holds integers from 0;
``class_names`` is an array of strings indexed by label. Files are read with
``allow_pickle=False``: an archive that needs pickle (object arrays) is refused, because
unpickling runs code from the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from supervisor_testing.data.labelled_images import LabelledImages
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = ["load_npz", "read_npz_layout"]

_REQUIRED = ("images", "labels")


def _check_keys(keys: list[str], path: Path) -> None:
    missing = [key for key in _REQUIRED if key not in keys]
    if missing:
        raise InvalidInputError(
            f"{path}: an image .npz needs arrays 'images' and 'labels' (and optionally "
            f"'class_names'); missing {missing}, found {sorted(keys)}"
        )


def _class_names(npz: np.lib.npyio.NpzFile, path: Path) -> tuple[str, ...] | None:
    if "class_names" not in npz.files:
        return None
    names = npz["class_names"]
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise InvalidInputError(
            f"{path}: 'class_names' must be a 1-d array of strings, got {names.dtype} "
            f"with shape {names.shape}"
        )
    return tuple(str(n.decode() if isinstance(n, bytes) else n) for n in names)


def _open(path: Path) -> np.lib.npyio.NpzFile:
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInputError(f"{path}: not a readable .npz archive ({exc})") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise InvalidInputError(f"{path}: holds a single array, not an .npz archive of arrays")
    return npz


def load_npz(path: str | Path) -> LabelledImages:
    """Images, labels and class names from an ``.npz`` archive."""
    path = Path(path)
    with _open(path) as npz:
        _check_keys(npz.files, path)
        try:
            images, labels = npz["images"], npz["labels"]
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InvalidInputError(
                f"{path}: cannot read 'images'/'labels' without pickle ({exc}); store them as "
                "plain numeric arrays"
            ) from exc
        class_names = _class_names(npz, path)
    return LabelledImages.from_arrays(images, labels, class_names=class_names, source=f"npz:{path}")


def read_npz_layout(path: str | Path) -> tuple[tuple[str, ...], tuple[int, int, int]]:
    """Class names and ``C x H x W`` of an ``.npz`` without reading its images."""
    path = Path(path)
    with _open(path) as npz:
        _check_keys(npz.files, path)
        labels = npz["labels"]
        class_names = _class_names(npz, path)
    with zipfile.ZipFile(path) as archive, archive.open("images.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    if dtype != np.uint8 or len(shape) not in (3, 4):
        raise InvalidInputError(
            f"{path}: images must be uint8 N x H x W or N x C x H x W, got {dtype} {shape}"
        )
    chw = (1, *shape[1:]) if len(shape) == 3 else tuple(shape[1:])
    if class_names is None:
        class_names = tuple(str(i) for i in range(int(labels.max()) + 1 if len(labels) else 0))
    return class_names, chw  # type: ignore[return-value]
