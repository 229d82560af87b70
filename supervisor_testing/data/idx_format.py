"""The idx file format of MNIST and Fashion-MNIST: read, validate and write.

An idx file is a magic number (two zero bytes, a type code, the number of dimensions),
one big-endian ``uint32`` per dimension, then the values in C order, big-endian. Files may
be gzip-compressed; compression is recognised by its magic bytes rather than the file
name, so a misnamed file still reads. Every malformation (wrong magic, truncated data,
trailing bytes, a corrupt gzip stream) raises :class:`InvalidInputError` naming the file.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from supervisor_testing.atomic import atomic_write_bytes
from supervisor_testing.data.labelled_images import LabelledImages
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = [
    "OFFICIAL_IDX_FILES",
    "find_idx_pair",
    "find_official_idx",
    "load_idx",
    "read_idx",
    "read_idx_header",
    "save_idx",
    "write_idx",
]

_GZIP_MAGIC = b"\x1f\x8b"
_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}

#: The four files of an official train/test distribution (MNIST, Fashion-MNIST), by role.
OFFICIAL_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _open_bytes(path: Path, limit: int | None = None) -> bytes:
    """The (decompressed) bytes of ``path``, at most ``limit`` of them."""
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return raw.read() if limit is None else raw.read(limit)
            with gzip.GzipFile(fileobj=raw) as stream:
                return stream.read() if limit is None else stream.read(limit)
    except FileNotFoundError as exc:
        raise DatasetNotFoundError(f"{path}: no such file") from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InvalidInputError(
            f"{path}: the gzip stream is corrupt or truncated ({exc}); download the file again"
        ) from exc


def _parse_header(data: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    if len(data) < 4:
        raise InvalidInputError(f"{path}: {len(data)} bytes is too short for an idx file")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _TYPES or ndim == 0:
        raise InvalidInputError(
            f"{path}: bad magic number 0x{data[:4].hex()}: not an idx file (expected two zero "
            "bytes, a type code 0x08..0x0E and the number of dimensions, e.g. 0x00000803)"
        )
    end = 4 + 4 * ndim
    if len(data) < end:
        raise InvalidInputError(f"{path}: truncated header ({len(data)} of {end} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:end])
    return _TYPES[code], tuple(int(d) for d in shape), end


def read_idx_header(path: str | Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The value type and shape an idx file declares, reading only its header."""
    path = Path(path)
    head = _open_bytes(path, limit=4)
    ndim = head[3] if len(head) == 4 else 0
    dtype, shape, _ = _parse_header(_open_bytes(path, limit=4 + 4 * ndim), path)
    return dtype.newbyteorder("="), shape


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an idx file (plain or gzip), in native byte order."""
    path = Path(path)
    data = _open_bytes(path)
    dtype, shape, offset = _parse_header(data, path)
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - offset
    if found < expected:
        raise InvalidInputError(
            f"{path}: truncated: the header declares shape {shape} ({expected} bytes of "
            f"values) but only {found} bytes follow; download the file again"
        )
    if found > expected:
        raise InvalidInputError(
            f"{path}: {found - expected} bytes follow the {expected} bytes of values the "
            f"header declares for shape {shape}; the file is not a valid idx file"
        )
    values = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an idx file, gzip-compressed when ``path`` ends in ``.gz``.

    Compressed output carries no time stamp, so the same array gives the same bytes.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise InvalidInputError(
            f"{path}: idx stores 1- to 255-d arrays of uint8, int8, int16, int32, float32 or "
            f"float64, got {array.ndim}-d {array.dtype}"
        )
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    data = header + np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(path, data)


def load_idx(images_path: str | Path, labels_path: str | Path) -> LabelledImages:
    """Images and labels from an idx pair (``N x H x W`` or ``N x C x H x W`` uint8 images).

    Classes are named ``"0"`` .. ``"K-1"`` where ``K`` is the largest label plus one.
    """
    images_path, labels_path = Path(images_path), Path(labels_path)
    images = read_idx(images_path)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise InvalidInputError(
            f"{images_path}: an idx image file holds uint8 N x H x W (or N x C x H x W), "
            f"found {images.dtype} with shape {images.shape}; is it the labels file?"
        )
    labels = read_idx(labels_path)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidInputError(
            f"{labels_path}: an idx label file holds one integer per image, found "
            f"{labels.dtype} with shape {labels.shape}; is it the images file?"
        )
    if len(labels) != len(images):
        raise InvalidInputError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; the two files do not belong together"
        )
    return LabelledImages.from_arrays(images, labels, source=f"idx:{images_path.parent}")


def save_idx(
    images_path: str | Path, labels_path: str | Path, images: np.ndarray, labels: np.ndarray
) -> None:
    """Write images (``N x [C x] H x W`` uint8) and labels as an idx pair.

    Single-channel images are stored as the standard 3-d ``N x H x W``; labels as uint8
    when they fit, else int32. A ``.gz`` suffix compresses.
    """
    arrays = LabelledImages.from_arrays(np.asarray(images), np.asarray(labels), source="save_idx")
    stored = arrays.images[:, 0] if arrays.images.shape[1] == 1 else arrays.images
    small = not len(arrays.labels) or arrays.labels.max() <= 255
    write_idx(images_path, stored)
    write_idx(labels_path, arrays.labels.astype(np.uint8 if small else np.int32))


def _existing(directory: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx", 1)  # the "train-images.idx3-ubyte" spelling
    for name in (f"{stem}.gz", stem, f"{dotted}.gz", dotted):
        if (directory / name).is_file():
            return directory / name
    return None


def find_official_idx(directory: str | Path) -> dict[str, Path] | None:
    """The four official files in ``directory`` by role, or None unless all four are there."""
    directory = Path(directory)
    found = {role: _existing(directory, stem) for role, stem in OFFICIAL_IDX_FILES.items()}
    if any(path is None for path in found.values()):
        return None
    return found  # type: ignore[return-value]


def find_idx_pair(directory: str | Path) -> tuple[Path, Path]:
    """The one images file and one labels file among the idx files in ``directory``.

    Files are told apart by their headers (images have 3 or 4 dimensions, labels 1), so
    any names containing ``idx`` or ``ubyte`` work.
    """
    directory = Path(directory)
    images: list[Path] = []
    labels: list[Path] = []
    for path in sorted(directory.iterdir()):
        lowered = path.name.lower()
        if path.name.startswith(".") or not path.is_file():
            continue
        if "idx" not in lowered and "ubyte" not in lowered:
            continue
        _, shape = read_idx_header(path)
        if len(shape) in (3, 4):
            images.append(path)
        elif len(shape) == 1:
            labels.append(path)
    if len(images) != 1 or len(labels) != 1:
        names = ", ".join(p.name for p in images + labels) or "none"
        raise InvalidInputError(
            f"{directory}: expected one idx images file and one idx labels file (or the four "
            f"official train-/t10k- files), found: {names}"
        )
    return images[0], labels[0]
