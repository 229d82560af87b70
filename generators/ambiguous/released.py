"""Import the ambiguous data sets the AmbiGuess authors released, from local files.

Three of their export formats are read (nothing is downloaded):

* CSV (``mnist-test.csv``): a pandas index column, then ``dataset``, ``split``, ``class_1``,
  ``class_2``, ``p(class_1)``, ``p(class_2)``, ``det_label``, ``autoencoder_id`` and one
  column per pixel, ``x_(row, col)``, row-major.
* NumPy (a folder such as ``npy-arrays/``): ``<name>-images.npy`` (uint8 ``N x H x W``),
  ``<name>-prob-labels.npy`` (``N x K``) and ``<name>-det-labels.npy`` (``N``), one set
  per split, ``<name>`` ending in the split (e.g. ``fmnist-train``, ``fmnist-test``).
* Parquet (the Hugging Face data sets ``mweiss/mnist_ambiguous`` and
  ``mweiss/fashion_mnist_ambiguous``): a ``.parquet`` file, or a folder of one split's
  ``*.parquet`` shards, with ``image`` (Hugging Face's ``{bytes: PNG, path}`` struct, or a
  nested list of uint8 rows), ``label`` (the hard label), ``p_label`` (one probability per
  class, two of them non-zero), ``text_label`` (not read) and, optionally, ``is_ambiguous``:
  the ``*_mixed`` splits shuffle nominal images in, and only the ambiguous rows are kept.

The result is an ``ambiguous`` corpus like the generator's, with the ``pair`` column and an
``autoencoder_id`` column (-1 where the format does not say).
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
import warnings
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supervisor_testing.corpus import ColumnSpec, Corpus, GeneratorInfo, SourceInfo, write_corpus
from supervisor_testing.errors import InvalidInputError

__all__ = ["import_released_corpus"]

_CSV_FIELDS = ("class_1", "class_2", "p(class_1)", "p(class_2)", "det_label", "autoencoder_id")


def _file_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidInputError(f"{path} is empty; expected the released CSV") from None
        missing = [c for c in _CSV_FIELDS if c not in header]
        pixels = [i for i, c in enumerate(header) if c.startswith("x_(")]
        if missing or not pixels:
            raise InvalidInputError(
                f"{path} is not an AmbiGuess CSV export (missing columns: "
                f"{', '.join(missing) or 'the x_(row, col) pixels'})"
            )
        where = {c: header.index(c) for c in _CSV_FIELDS}
        rows = [row for row in reader if row]
    if not rows:
        raise InvalidInputError(f"{path} holds no samples")
    try:
        fields = {c: np.array([float(r[where[c]]) for r in rows]) for c in _CSV_FIELDS}
        images = np.array([[int(float(r[i])) for i in pixels] for r in rows])
    except (ValueError, IndexError) as exc:
        raise InvalidInputError(f"{path}: a row is malformed ({exc})") from None
    side = math.isqrt(len(pixels))
    if side * side != len(pixels) or images.min() < 0 or images.max() > 255:
        raise InvalidInputError(f"{path}: pixels must be a square image of values in 0..255")
    pairs = np.stack([fields["class_1"], fields["class_2"]], axis=1).astype(np.int64)
    probs = np.stack([fields["p(class_1)"], fields["p(class_2)"]], axis=1)
    return {
        "images": images.reshape(-1, 1, side, side).astype(np.uint8),
        "pairs": pairs,
        "pair_probs": probs,
        "labels": fields["det_label"].astype(np.int64),
        "autoencoder_id": fields["autoencoder_id"].astype(np.int64),
    }


def _names_split(stem: str, split: str) -> bool:
    """Whether an export's ``<name>`` is ``split`` or ends in it after a separator."""
    return re.search(rf"(^|[-_.]){re.escape(split)}$", stem) is not None


def _pick_stem(folder: Path, split: str) -> str:
    """The ``<name>`` of the file set for ``split``: the export holds one per split.

    A lone set whose name states no split is taken as is (nothing to choose between).
    """
    from supervisor_testing.data.dataset import SPLITS

    stems = [f.name.removesuffix("-images.npy") for f in sorted(folder.glob("*-images.npy"))]
    listed = ", ".join(f"{s}-images.npy" for s in stems)
    if not stems:
        raise InvalidInputError(
            f"{folder} holds no <name>-images.npy; pass the released npy-arrays folder (with "
            "the -images.npy, -prob-labels.npy and -det-labels.npy of a split) or .csv file"
        )
    matching = [s for s in stems if _names_split(s, split)]
    if len(matching) == 1:
        return matching[0]
    if not matching and len(stems) == 1 and not any(_names_split(stems[0], s) for s in SPLITS):
        return stems[0]
    if matching:
        raise InvalidInputError(
            f"{folder} holds several {split!r} exports "
            f"({', '.join(f'{s}-images.npy' for s in matching)}); move all but one of them, "
            "with their -prob-labels.npy and -det-labels.npy, to another folder"
        )
    offered = sorted({s for s in SPLITS for stem in stems if _names_split(stem, s)})
    hint = (
        f"pass split= one of {', '.join(map(repr, offered))}"
        if offered
        else "rename the files to <name>-<split>-images.npy and so on"
    )
    raise InvalidInputError(f"{folder} holds no {split!r} export (found {listed}); {hint}")


def _read_numpy(folder: Path, split: str) -> tuple[dict[str, np.ndarray], list[Path]]:
    stem = _pick_stem(folder, split)
    files = [folder / f"{stem}-{part}.npy" for part in ("images", "prob-labels", "det-labels")]
    absent = [f.name for f in files if not f.is_file()]
    if absent:
        raise InvalidInputError(f"{folder} lacks {', '.join(absent)}")
    images, soft, labels = (np.load(f, allow_pickle=False) for f in files)
    if (
        images.ndim != 3
        or soft.ndim != 2
        or labels.shape != (len(images),)
        or soft.shape[0] != len(images)
    ):
        raise InvalidInputError(f"{folder}: arrays have inconsistent shapes")
    if ((soft > 0).sum(axis=1) != 2).any():
        raise InvalidInputError(f"{folder}: every prob-labels row needs two non-zero classes")
    pairs = np.sort(np.argsort(-soft, axis=1, kind="stable")[:, :2], axis=1)
    return {
        "images": images[:, None].astype(np.uint8),
        "pairs": pairs.astype(np.int64),
        "pair_probs": np.take_along_axis(soft, pairs, axis=1),
        "labels": labels.astype(np.int64),
        "autoencoder_id": np.full(len(images), -1, dtype=np.int64),
    }, files


_PARQUET_FIELDS = ("image", "label", "p_label")
# Hugging Face names a split's shards ``<split>-00000-of-00003.parquet``.
_HF_SHARD = re.compile(r"^(?P<split>.+)-\d{5}-of-\d{5}")


def _import_pyarrow() -> Any:
    """``pyarrow.parquet``, imported only for parquet input: the other formats need none."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInputError(
            "reading the released parquet files needs pyarrow; install it with "
            "pip install 'supervisor-testing[released]'"
        ) from None
    return pq


def _check_one_split(folder: Path, shards: list[Path]) -> None:
    """Refuse a folder that mixes Hugging Face splits: concatenating them would duplicate rows."""
    splits = {m["split"] for m in map(_HF_SHARD.match, (s.name for s in shards)) if m}
    if len(splits) > 1:
        raise InvalidInputError(
            f"{folder} holds the shards of several splits ({', '.join(sorted(splits))}); "
            "pass one .parquet file or a folder with one split's shards"
        )


def _decode_image(value: Any, where: str, shape: tuple[int, int]) -> np.ndarray:
    """One ``image`` cell as uint8 ``H x W``: PNG bytes in Hugging Face's struct, or pixels."""
    if isinstance(value, dict):
        if not value.get("bytes"):
            raise InvalidInputError(
                f"{where}: the image holds no embedded bytes (only a path, {value.get('path')!r}); "
                "export the data set with its images embedded"
            )
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(BytesIO(value["bytes"])) as image:
                pixels = np.asarray(image)
        except (UnidentifiedImageError, OSError) as exc:
            raise InvalidInputError(f"{where}: the image bytes do not decode ({exc})") from None
        if pixels.dtype != np.uint8 or pixels.ndim != 2:
            raise InvalidInputError(
                f"{where}: the image is not 8-bit grey (decoded {pixels.dtype} "
                f"{'x'.join(map(str, pixels.shape))})"
            )
    else:
        try:
            pixels = np.array(value, dtype=np.int64)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{where}: the image is neither a {{bytes, path}} struct nor rows of pixels"
            ) from None
        if pixels.ndim == 2 and (pixels.min() < 0 or pixels.max() > 255):
            raise InvalidInputError(f"{where}: pixel values must lie in 0..255")
    if pixels.shape != shape:
        raise InvalidInputError(
            f"{where}: the image is {'x'.join(map(str, pixels.shape))}, but the data set's "
            f"images are {shape[0]}x{shape[1]}; pass the matching dataset="
        )
    return pixels.astype(np.uint8)


def _read_parquet(
    source: Path, shards: list[Path], *, num_classes: int, image_shape: tuple[int, ...]
) -> dict[str, np.ndarray]:
    pq = _import_pyarrow()
    if len(image_shape) != 3 or image_shape[0] != 1:
        raise InvalidInputError(
            f"the released parquet images are grey, but the data set's images are "
            f"{'x'.join(map(str, image_shape))}; pass the matching dataset="
        )
    shape = (image_shape[1], image_shape[2])
    images, soft, labels = [], [], []
    total = 0
    for shard in shards:
        try:
            table = pq.read_table(shard)
        except Exception as exc:  # pyarrow raises several types for a file it cannot read
            raise InvalidInputError(f"{shard} is not a readable parquet file ({exc})") from None
        missing = [c for c in _PARQUET_FIELDS if c not in table.column_names]
        if missing:
            raise InvalidInputError(
                f"{shard} is not an AmbiGuess parquet export (missing columns: "
                f"{', '.join(missing)})"
            )
        total += table.num_rows
        if "is_ambiguous" in table.column_names:
            # A missing flag counts as nominal: only rows marked ambiguous are kept.
            keep = [i for i, v in enumerate(table["is_ambiguous"].to_pylist()) if v is True]
            table = table.take(keep)
        else:
            keep = list(range(table.num_rows))
        cells = zip(
            keep,
            table["image"].to_pylist(),
            table["p_label"].to_pylist(),
            table["label"].to_pylist(),
            strict=True,
        )
        for row, image, probs, label in cells:
            where = f"{shard.name} row {row}"
            p = np.array(probs if probs is not None else [], dtype=np.float64)
            nonzero = np.flatnonzero(p)
            if len(p) != num_classes or not np.isfinite(p).all() or (p < 0).any():
                raise InvalidInputError(
                    f"{where}: p_label needs {num_classes} non-negative probabilities, one per "
                    f"class (got {len(p)}); pass the matching dataset="
                )
            if len(nonzero) != 2 or abs(p.sum() - 1) > 1e-3:
                raise InvalidInputError(
                    f"{where}: p_label needs exactly two non-zero classes summing to 1 "
                    f"(got {len(nonzero)} non-zero, sum {p.sum():.4g})"
                )
            if label not in nonzero.tolist():
                raise InvalidInputError(
                    f"{where}: label {label} is not one of its pair's classes "
                    f"({nonzero[0]}, {nonzero[1]})"
                )
            images.append(_decode_image(image, where, shape))
            soft.append(p)
            labels.append(label)
    if not labels:
        raise InvalidInputError(f"{source} holds no ambiguous rows")
    if total > len(labels):
        warnings.warn(
            f"{source}: skipped {total - len(labels)} of {total} rows that are not ambiguous "
            "(is_ambiguous false, as in a *_mixed split); the importer keeps ambiguous rows only",
            stacklevel=3,
        )
    probs = np.stack(soft)
    pairs = np.sort(np.argsort(-probs, axis=1, kind="stable")[:, :2], axis=1)
    return {
        "images": np.stack(images)[:, None],
        "pairs": pairs.astype(np.int64),
        "pair_probs": np.take_along_axis(probs, pairs, axis=1),
        "labels": np.array(labels, dtype=np.int64),
        "autoencoder_id": np.full(len(labels), -1, dtype=np.int64),
    }


def import_released_corpus(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    dataset: str = "mnist",
    split: str = "test",
    name: str | None = None,
    overwrite: bool = False,
) -> Corpus:
    """Convert a released AmbiGuess CSV, NumPy or parquet export into a corpus at ``out``.

    Args:
        path: the ``.csv`` file, the folder with the ``.npy`` arrays, a ``.parquet`` file,
            or a folder of one split's ``*.parquet`` shards (read in name order).
        dataset: the data set whose classes the files index (names the label space).
        split: the split imported: in a NumPy folder, it picks the file set whose name
            ends in it (``<name>-test-images.npy`` ...); recorded as the source split.

    Parquet rows whose ``is_ambiguous`` is false (a ``*_mixed`` split's nominal images) are
    skipped with a warning.

    Raises:
        InvalidInputError: the files are missing or not in a released format, a NumPy
            folder holds no file set (or several) for ``split``, a parquet row is malformed
            (the message names it), or pyarrow, needed for parquet, is not installed.
    """
    from supervisor_testing.data import dataset_info

    source = Path(path)
    info = dataset_info(dataset)
    class_names = tuple(info.class_names)
    k = len(class_names)
    params: dict[str, Any] = {"file": source.name}
    if source.is_dir():
        files = sorted(source.glob("*.parquet"))
        if files:
            _check_one_split(source, files)
            params["shards"] = [f.name for f in files]
        else:  # no parquet: the NumPy export
            data, files = _read_numpy(source, split)
    elif source.is_file():
        files = [source]
        if source.suffix.lower() != ".parquet":
            data = _read_csv(source)
    else:
        raise InvalidInputError(
            f"{source} does not exist; pass the released .csv, .parquet or npy folder"
        )
    if files[0].suffix.lower() == ".parquet":
        data = _read_parquet(source, files, num_classes=k, image_shape=tuple(info.image_shape))
    pairs = np.sort(data["pairs"], axis=1)
    swapped = data["pairs"][:, 0] > data["pairs"][:, 1]
    probs = np.where(swapped[:, None], data["pair_probs"][:, ::-1], data["pair_probs"])
    if pairs.min() < 0 or pairs.max() >= k or (pairs[:, 0] == pairs[:, 1]).any():
        raise InvalidInputError(
            f"{source}: class indices must be two different values in 0..{k - 1}"
        )
    labels = data["labels"]
    if not ((labels == pairs[:, 0]) | (labels == pairs[:, 1])).all():
        raise InvalidInputError(f"{source}: a hard label is not one of its pair's classes")
    probs = probs / probs.sum(axis=1, keepdims=True)  # the CSV prints rounded values
    label_probs = np.zeros((len(labels), k), dtype=np.float32)
    np.put_along_axis(label_probs, pairs, probs.astype(np.float32), axis=1)
    columns = {
        "images": torch.from_numpy(data["images"]),
        "labels": torch.from_numpy(labels),
        "label_probs": torch.from_numpy(label_probs),
        "source_index": torch.full((len(labels),), -1, dtype=torch.int64),
        "pair": torch.from_numpy(pairs),
        "autoencoder_id": torch.from_numpy(data["autoencoder_id"]),
    }
    return write_corpus(
        out,
        columns,
        name=name or Path(out).name,
        kind="ambiguous",
        class_names=class_names,
        generator=GeneratorInfo("ambiguess-release", "1", params),
        source=SourceInfo(dataset, split, _file_sha256(files)),
        extra_columns={
            "pair": ColumnSpec("int64", (2,)),
            "autoencoder_id": ColumnSpec("int64"),
        },
        overwrite=overwrite,
    )
