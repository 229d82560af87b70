"""Corpus: a directory of safetensors shards plus ``corpus.json``, written atomically.

A corpus is what every generator makes and every evaluation reads. The format is designed
so that a corpus can be trusted when it is opened:

* ``corpus.json`` names the format version, the generator (name, version, params, seed),
  the source data set (name, split, content hash), the class names, the column schema and
  every shard with its sha256. Keys are sorted and nothing depends on time or on absolute
  paths, so the same content always gives the same bytes.
* Shards hold exactly ``shard_size`` samples (the last one fewer), whatever batch sizes the
  generator produced, so regenerating with the same seed gives byte-identical shards.
* A writer builds the corpus in a hidden temporary directory next to the target and renames
  it into place only after the manifest is written: a half-written corpus is never visible.
* Opening checks the manifest strictly, keeps every shard inside the corpus directory and,
  with ``verify=True``, compares each shard with its recorded sha256.

Required columns: ``images`` (uint8 ``N x C x H x W``), ``labels`` (int64 ``N``),
``label_probs`` (float32 ``N x K`` soft ground truth) and ``source_index`` (int64 ``N``).
Inputs outside the label space have label ``-1`` and all-zero ``label_probs``; every other
row of ``label_probs`` sums to one. Generators may add numeric columns (``severity``), and
categorical ones stored as int64 codes with their category names in the schema.

Example:
    >>> import tempfile, torch
    >>> corpus = write_corpus(
    ...     Path(tempfile.mkdtemp()) / "tiny",
    ...     {
    ...         "images": torch.zeros(2, 1, 4, 4, dtype=torch.uint8),
    ...         "labels": torch.tensor([0, 1]),
    ...         "label_probs": torch.eye(2),
    ...         "source_index": torch.tensor([0, 1]),
    ...     },
    ...     name="tiny",
    ...     kind="nominal",
    ...     class_names=("a", "b"),
    ...     generator=GeneratorInfo("nominal", "1"),
    ...     source=SourceInfo("toy", "test", "0" * 64),
    ... )
    >>> len(corpus), corpus.kind
    (2, 'nominal')
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

import torch

from supervisor_testing._version import __version__
from supervisor_testing.atomic import publish_directory
from supervisor_testing.errors import CorpusError, InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "MANIFEST_NAME",
    "REQUIRED_COLUMNS",
    "ColumnSpec",
    "Corpus",
    "CorpusManifest",
    "CorpusWriter",
    "GeneratorInfo",
    "ShardInfo",
    "SourceInfo",
    "corpus_from_dataset",
    "open_corpus",
    "write_corpus",
]

FORMAT = "supervisor-testing-corpus"
FORMAT_VERSION = 1
MANIFEST_NAME = "corpus.json"

#: What a corpus stresses; evaluations group results by it.
KINDS = (
    "nominal",
    "far-ood",
    "corrupted",
    "ambiguous",
    "adversarial",
    "edited",
    "domain",
    "domain-shift",
    "diffusion-edit",
)

REQUIRED_COLUMNS = ("images", "labels", "label_probs", "source_index")

#: Column dtypes a corpus may hold, with their safetensors header codes. bfloat16 is left
#: out because numpy (``export_npz``) cannot represent it.
_DTYPES: dict[str, tuple[torch.dtype, str]] = {
    "bool": (torch.bool, "BOOL"),
    "uint8": (torch.uint8, "U8"),
    "int8": (torch.int8, "I8"),
    "int16": (torch.int16, "I16"),
    "int32": (torch.int32, "I32"),
    "int64": (torch.int64, "I64"),
    "float16": (torch.float16, "F16"),
    "float32": (torch.float32, "F32"),
    "float64": (torch.float64, "F64"),
}
_DTYPE_NAMES = {torch_dtype: name for name, (torch_dtype, _) in _DTYPES.items()}
_HEADER_CODES = {code: name for name, (_, code) in _DTYPES.items()}
_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PROB_TOLERANCE = 1e-5
# A safetensors header larger than this is not one we wrote; refuse before allocating it.
_MAX_HEADER_BYTES = 1 << 24


def _shard_name(index: int) -> str:
    return f"shard-{index:05d}.safetensors"


def _dtype_name(dtype: torch.dtype | str) -> str:
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPE_NAMES:
            raise InvalidInputError(
                f"corpus columns cannot hold {dtype}; use one of {', '.join(_DTYPES)}"
            )
        return _DTYPE_NAMES[dtype]
    if dtype not in _DTYPES:
        raise InvalidInputError(f"unknown column dtype {dtype!r}; use one of {', '.join(_DTYPES)}")
    return dtype


# ---------------------------------------------------------------------------------------
# Manifest dataclasses


@dataclass(frozen=True)
class ColumnSpec:
    """Per-sample dtype and shape of one column; ``categories`` names int64 codes."""

    dtype: str
    shape: tuple[int, ...] = ()
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))
        shape = tuple(self.shape)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise InvalidInputError(f"column shape must hold positive ints, got {shape}")
        object.__setattr__(self, "shape", shape)
        if self.categories is not None:
            categories = tuple(self.categories)
            if self.dtype != "int64" or shape:
                raise InvalidInputError(
                    "a categorical column stores one int64 code per sample: "
                    "use ColumnSpec('int64', (), categories=...)"
                )
            if (
                not categories
                or not all(isinstance(c, str) and c for c in categories)
                or len(set(categories)) != len(categories)
            ):
                raise InvalidInputError(
                    f"categories must be distinct non-empty strings, got {categories!r}"
                )
            object.__setattr__(self, "categories", categories)

    @property
    def torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype][0]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "shape": list(self.shape)}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True)
class GeneratorInfo:
    """Which generator made a corpus, with which parameters and seed."""

    name: str
    version: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        try:
            # A JSON round trip both checks and canonicalises (tuples become lists), so
            # the params compare equal to what a reopened manifest holds.
            text = json.dumps(dict(self.params), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"generator params must be JSON-serialisable (str, int, float, bool, None, "
                f"lists, dicts): {exc}"
            ) from exc
        object.__setattr__(self, "params", MappingProxyType(json.loads(text)))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise InvalidInputError(f"seed must be a non-negative int, got {self.seed!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "params": json.loads(json.dumps(dict(self.params))),
            "seed": self.seed,
        }


@dataclass(frozen=True)
class SourceInfo:
    """The data set (and, for chained recipes, the recipe) a corpus was made from."""

    dataset: str
    split: str
    sha256: str
    recipe: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"dataset": self.dataset, "split": self.split, "sha256": self.sha256}
        if self.recipe is not None:
            out["recipe"] = self.recipe
        return out


@dataclass(frozen=True)
class ShardInfo:
    path: str
    num_samples: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "num_samples": self.num_samples, "sha256": self.sha256}


class _Reader:
    """Strict typed access to one JSON object, with messages that say where a field is."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise CorpusError(f"{where} must be a JSON object, got {type(data).__name__}")
        self.data = data
        self.where = where

    def check_keys(self, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        missing = [k for k in required if k not in self.data]
        if missing:
            raise CorpusError(f"{self.where}: missing field {missing[0]!r}")
        unknown = sorted(set(self.data) - set(required) - set(optional))
        if unknown:
            raise CorpusError(f"{self.where}: unknown field {unknown[0]!r}")

    def error(self, key: str, expected: str) -> CorpusError:
        value = self.data[key]
        return CorpusError(
            f"{self.where}: field {key!r} must be {expected}, got {type(value).__name__} "
            f"{value!r:.60}"
        )

    def text(self, key: str) -> str:
        value = self.data[key]
        if not isinstance(value, str):
            raise self.error(key, "a string")
        return value

    def integer(self, key: str, *, minimum: int = 0) -> int:
        value = self.data[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(key, f"an integer >= {minimum}")
        return value

    def digest(self, key: str) -> str:
        value = self.text(key)
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise self.error(key, "a sha256 hex digest")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.data[key]
        if not isinstance(value, list):
            raise self.error(key, "a list")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.array(key)
        if not all(isinstance(v, str) for v in value):
            raise self.error(key, "a list of strings")
        return tuple(value)

    def dims(self, key: str) -> tuple[int, ...]:
        value = self.array(key)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            raise self.error(key, "a list of positive integers")
        return tuple(value)

    def child(self, key: str) -> _Reader:
        return _Reader(self.data[key], f"{self.where}: field {key!r}")


def _check_shard_path(path: str, where: str) -> None:
    """Reject shard paths that could read files outside the corpus directory."""
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if (
        not path
        or posix.is_absolute()
        or windows.is_absolute()
        or windows.drive
        or ".." in posix.parts
        or ".." in windows.parts
    ):
        raise CorpusError(
            f"{where}: shard path {path!r} escapes the corpus directory; shard paths must be "
            f"relative names inside it"
        )


@dataclass(frozen=True)
class CorpusManifest:
    """The parsed ``corpus.json``; ``to_dict``/``from_dict`` round-trip it exactly."""

    name: str
    kind: str
    generator: GeneratorInfo
    source: SourceInfo
    class_names: tuple[str, ...]
    num_samples: int
    image_shape: tuple[int, int, int]
    columns: Mapping[str, ColumnSpec]
    shards: tuple[ShardInfo, ...]
    created_by: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "name": self.name,
            "kind": self.kind,
            "generator": self.generator.to_dict(),
            "source": self.source.to_dict(),
            "class_names": list(self.class_names),
            "num_samples": self.num_samples,
            "image_shape": list(self.image_shape),
            "columns": {name: spec.to_dict() for name, spec in self.columns.items()},
            "shards": [shard.to_dict() for shard in self.shards],
            "created_by": self.created_by,
        }

    def to_json(self) -> str:
        """Canonical text of ``corpus.json``: sorted keys, indent 2, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: object, *, where: str = MANIFEST_NAME) -> CorpusManifest:
        """Parse and validate a manifest; any problem is one :class:`CorpusError`."""
        top = _Reader(data, where)
        if top.data.get("format") != FORMAT:
            raise CorpusError(
                f"{where}: not a supervisor-testing corpus manifest (format "
                f"{top.data.get('format')!r}, expected {FORMAT!r})"
            )
        if "format_version" in top.data:
            version = top.integer("format_version")
            if version != FORMAT_VERSION:
                raise CorpusError(
                    f"{where}: corpus format version {version} is not supported (this is "
                    f"supervisor-testing {__version__}, which reads version {FORMAT_VERSION}); "
                    f"rebuild the corpus or upgrade supervisor-testing"
                )
        top.check_keys(
            (
                "format",
                "format_version",
                "name",
                "kind",
                "generator",
                "source",
                "class_names",
                "num_samples",
                "image_shape",
                "columns",
                "shards",
                "created_by",
            )
        )
        gen = top.child("generator")
        gen.check_keys(("name", "version", "params", "seed"))
        if not isinstance(gen.data["params"], dict):
            raise gen.error("params", "an object")
        src = top.child("source")
        src.check_keys(("dataset", "split", "sha256"), ("recipe",))
        columns_reader = top.child("columns")
        columns: dict[str, ColumnSpec] = {}
        for name in columns_reader.data:
            col = columns_reader.child(name)
            col.check_keys(("dtype", "shape"), ("categories",))
            dims = col.array("shape")
            if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
                raise col.error("shape", "a list of integers")
            try:
                columns[name] = ColumnSpec(
                    col.text("dtype"),
                    tuple(dims),
                    col.texts("categories") if "categories" in col.data else None,
                )
            except InvalidInputError as exc:
                raise CorpusError(f"{col.where}: {exc}") from exc
        shards = []
        for i, entry in enumerate(top.array("shards")):
            shard = _Reader(entry, f"{where}: shards[{i}]")
            shard.check_keys(("path", "num_samples", "sha256"))
            path = shard.text("path")
            _check_shard_path(path, where)
            shards.append(
                ShardInfo(path, shard.integer("num_samples", minimum=1), shard.digest("sha256"))
            )
        image_shape = top.dims("image_shape")
        if len(image_shape) != 3:
            raise top.error("image_shape", "[C, H, W]")
        try:
            generator = GeneratorInfo(
                gen.text("name"), gen.text("version"), gen.data["params"], gen.integer("seed")
            )
        except InvalidInputError as exc:
            raise CorpusError(f"{gen.where}: {exc}") from exc
        manifest = cls(
            name=top.text("name"),
            kind=top.text("kind"),
            generator=generator,
            source=SourceInfo(
                src.text("dataset"),
                src.text("split"),
                src.text("sha256"),
                src.text("recipe") if "recipe" in src.data else None,
            ),
            class_names=top.texts("class_names"),
            num_samples=top.integer("num_samples"),
            image_shape=image_shape,  # type: ignore[arg-type]
            columns=columns,
            shards=tuple(shards),
            created_by=top.text("created_by"),
        )
        manifest._check_consistency(where)
        return manifest

    def _check_consistency(self, where: str) -> None:
        if self.kind not in KINDS:
            raise CorpusError(f"{where}: unknown kind {self.kind!r}; known: {', '.join(KINDS)}")
        try:
            _check_metadata(self.name, self.class_names)
            expected = _required_schema(self.image_shape, len(self.class_names))
        except InvalidInputError as exc:
            raise CorpusError(f"{where}: {exc}") from exc
        for name, spec in expected.items():
            if self.columns.get(name) != spec:
                raise CorpusError(
                    f"{where}: required column {name!r} must be {spec.to_dict()}, "
                    f"got {self.columns[name].to_dict() if name in self.columns else 'nothing'}"
                )
        for name in self.columns:
            if name not in expected and not _COLUMN_NAME.match(name):
                raise CorpusError(f"{where}: invalid column name {name!r}")
        total = sum(shard.num_samples for shard in self.shards)
        if total != self.num_samples:
            raise CorpusError(
                f"{where}: num_samples is {self.num_samples} but the shards hold {total}"
            )
        paths = [shard.path for shard in self.shards]
        if len(set(paths)) != len(paths):
            raise CorpusError(f"{where}: a shard is listed twice")


def _check_metadata(name: str, class_names: Sequence[str]) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"corpus name must be a non-empty string, got {name!r}")
    if (
        not class_names
        or not all(isinstance(c, str) and c for c in class_names)
        or len(set(class_names)) != len(class_names)
    ):
        raise InvalidInputError(
            f"class_names must be distinct non-empty strings, got {tuple(class_names)!r}"
        )


def _required_schema(image_shape: Sequence[int], num_classes: int) -> dict[str, ColumnSpec]:
    return {
        "images": ColumnSpec("uint8", tuple(image_shape)),
        "labels": ColumnSpec("int64"),
        "label_probs": ColumnSpec("float32", (num_classes,)),
        "source_index": ColumnSpec("int64"),
    }


# ---------------------------------------------------------------------------------------
# Batch validation, shared by the writer and by verification of shards on disk


def _validate_columns(
    batch: Mapping[str, Any],
    schema: Mapping[str, ColumnSpec],
    num_classes: int,
    where: str,
) -> int:
    """Check a batch against the schema and the label rules; return its sample count."""
    missing = [name for name in schema if name not in batch]
    if missing:
        raise InvalidInputError(f"{where}: missing column {missing[0]!r}")
    unknown = sorted(set(batch) - set(schema))
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown column {unknown[0]!r}; declare it in extra_columns"
        )
    n = None
    for name, spec in schema.items():
        tensor = batch[name]
        if not isinstance(tensor, torch.Tensor):
            raise InvalidInputError(
                f"{where}: column {name!r} must be a torch.Tensor, got {type(tensor).__name__}"
            )
        if tensor.dtype != spec.torch_dtype:
            raise InvalidInputError(
                f"{where}: column {name!r} must be {spec.dtype}, got "
                f"{str(tensor.dtype).removeprefix('torch.')}; convert it with "
                f".to(torch.{spec.dtype})"
            )
        if tensor.ndim == 0 or tuple(tensor.shape[1:]) != spec.shape:
            expected = ", ".join(["N", *map(str, spec.shape)])
            raise InvalidInputError(
                f"{where}: column {name!r} must have shape ({expected}), got {tuple(tensor.shape)}"
            )
        if n is None:
            n = int(tensor.shape[0])
        elif tensor.shape[0] != n:
            raise InvalidInputError(
                f"{where}: columns disagree on the number of samples ({n} vs "
                f"{tensor.shape[0]} in {name!r})"
            )
        if spec.categories is not None and tensor.numel():
            lo, hi = int(tensor.min()), int(tensor.max())
            if lo < 0 or hi >= len(spec.categories):
                raise InvalidInputError(
                    f"{where}: categorical column {name!r} holds code {lo if lo < 0 else hi}, "
                    f"outside 0..{len(spec.categories) - 1}"
                )
    assert n is not None
    if n == 0:
        return 0
    labels, probs = batch["labels"], batch["label_probs"].double()
    if labels.min() < -1 or labels.max() >= num_classes:
        raise InvalidInputError(
            f"{where}: labels must lie in 0..{num_classes - 1}, or be -1 for inputs outside "
            f"the label space; got values in {int(labels.min())}..{int(labels.max())}"
        )
    if not torch.isfinite(probs).all():
        raise InvalidInputError(f"{where}: label_probs contains NaN or infinite values")
    if (probs < 0).any() or (probs > 1 + _PROB_TOLERANCE).any():
        raise InvalidInputError(f"{where}: label_probs must lie in [0, 1]")
    outside = labels == -1
    if (probs[outside] != 0).any():
        raise InvalidInputError(
            f"{where}: samples with label -1 (outside the label space) must have all-zero "
            f"label_probs"
        )
    sums = probs[~outside].sum(dim=1)
    if ((sums - 1).abs() > _PROB_TOLERANCE).any():
        worst = float(sums[(sums - 1).abs().argmax()])
        raise InvalidInputError(
            f"{where}: label_probs rows of labelled samples must sum to 1 (tolerance "
            f"{_PROB_TOLERANCE}); found a row summing to {worst:.6g}"
        )
    return n


# ---------------------------------------------------------------------------------------
# Writing


def _check_replaceable(path: Path, overwrite: bool) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if not overwrite:
        raise CorpusError(f"{path} already exists; pass overwrite=True to replace it")
    # overwrite=True deletes the old directory: only ever do that to a corpus (or nothing).
    if not path.is_dir() or path.is_symlink():
        raise CorpusError(f"{path} exists and is not a corpus directory; refusing to replace it")
    if not (path / MANIFEST_NAME).is_file() and any(path.iterdir()):
        raise CorpusError(
            f"{path} is a non-empty directory without {MANIFEST_NAME}; refusing to replace it "
            f"(remove it yourself or choose another path)"
        )


class CorpusWriter:
    """Validate batches and write them as a corpus, atomically.

    Use it as a context manager. Shards hold exactly ``shard_size`` samples (the last one
    fewer), so the bytes on disk do not depend on how the samples were batched. On a clean
    exit the manifest is written last and the directory renamed into place; on an exception
    nothing appears at ``path`` and an existing corpus there stays as it was.

    Args:
        path: the corpus directory to create.
        name: corpus name recorded in the manifest.
        kind: one of :data:`KINDS`.
        class_names: the label space (``label_probs`` has one column per name).
        generator: which generator made the samples.
        source: which data set they came from.
        extra_columns: schema of generator-specific columns.
        image_shape: ``(C, H, W)``; taken from the first batch when omitted.
        shard_size: samples per shard.
        overwrite: replace an existing corpus at ``path``.

    After the ``with`` block, :attr:`corpus` is the written :class:`Corpus`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        kind: str,
        class_names: Sequence[str],
        generator: GeneratorInfo,
        source: SourceInfo,
        extra_columns: Mapping[str, ColumnSpec] = MappingProxyType({}),
        image_shape: Sequence[int] | None = None,
        shard_size: int = 4096,
        overwrite: bool = False,
    ) -> None:
        if kind not in KINDS:
            raise InvalidInputError(f"unknown corpus kind {kind!r}; known: {', '.join(KINDS)}")
        _check_metadata(name, class_names)
        if not isinstance(generator, GeneratorInfo) or not isinstance(source, SourceInfo):
            raise InvalidInputError(
                "CorpusWriter needs a GeneratorInfo as generator= and a SourceInfo as source="
            )
        if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
            raise InvalidInputError(f"shard_size must be a positive int, got {shard_size!r}")
        for column, spec in extra_columns.items():
            if column in REQUIRED_COLUMNS or not _COLUMN_NAME.match(column):
                raise InvalidInputError(
                    f"extra column name {column!r} is reserved or invalid; use lowercase "
                    f"letters, digits and '_' other than {', '.join(REQUIRED_COLUMNS)}"
                )
            if not isinstance(spec, ColumnSpec):
                raise InvalidInputError(f"extra column {column!r} needs a ColumnSpec")
        self.path = Path(path)
        _check_replaceable(self.path, overwrite)
        self.name = name
        self.kind = kind
        self.class_names = tuple(class_names)
        self.generator = generator
        self.source = source
        self.extra_columns = dict(extra_columns)
        self.shard_size = shard_size
        self.overwrite = overwrite
        self._image_shape = tuple(image_shape) if image_shape is not None else None
        self._schema: dict[str, ColumnSpec] | None = None
        if self._image_shape is not None:
            self._set_schema(self._image_shape)
        self._buffer: list[dict[str, torch.Tensor]] = []
        self._buffered = 0
        self._shards: list[ShardInfo] = []
        self._tmp: Path | None = None
        self.corpus: Corpus | None = None

    def _set_schema(self, image_shape: Sequence[int]) -> None:
        if len(image_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in image_shape):
            raise InvalidInputError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
        self._image_shape = tuple(image_shape)
        self._schema = {
            **_required_schema(image_shape, len(self.class_names)),
            **self.extra_columns,
        }

    def __enter__(self) -> CorpusWriter:
        tmp = self.path.with_name(f".{self.path.name}.tmp-{secrets.token_hex(4)}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
        except OSError as exc:  # name the user's path, not the hidden temporary beside it
            raise InvalidInputError(
                f"cannot write a corpus at {self.path}: {exc.strerror or exc}; choose a path "
                f"in a writable folder"
            ) from exc
        self._tmp = tmp
        return self

    def add(self, batch: Mapping[str, torch.Tensor]) -> None:
        """Validate one batch (all required and declared extra columns) and buffer it."""
        if self._tmp is None:
            raise InvalidInputError("use CorpusWriter as a context manager: with CorpusWriter(...)")
        if self._schema is None:
            images = batch.get("images")
            if not isinstance(images, torch.Tensor) or images.ndim != 4:
                raise InvalidInputError(
                    f"corpus {self.name!r}: column 'images' must be a uint8 tensor "
                    f"N x C x H x W, got "
                    f"{tuple(images.shape) if isinstance(images, torch.Tensor) else images!r}"
                )
            self._set_schema(tuple(int(d) for d in images.shape[1:]))
        assert self._schema is not None
        n = _validate_columns(batch, self._schema, len(self.class_names), f"corpus {self.name!r}")
        if n == 0:
            return
        # Copy: a generator may reuse (and overwrite) its batch tensors after add() returns.
        self._buffer.append({k: batch[k].detach().to("cpu", copy=True) for k in self._schema})
        self._buffered += n
        if self._buffered >= self.shard_size:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        """Write every full shard in the buffer (and, when ``final``, the remainder)."""
        assert self._schema is not None and self._tmp is not None
        from safetensors.torch import save

        merged = _concat(self._buffer, list(self._schema))
        start = 0
        while self._buffered - start >= self.shard_size or (final and start < self._buffered):
            count = min(self.shard_size, self._buffered - start)
            data = save({k: v[start : start + count] for k, v in merged.items()})
            path = _shard_name(len(self._shards))
            (self._tmp / path).write_bytes(data)
            self._shards.append(ShardInfo(path, count, hashlib.sha256(data).hexdigest()))
            start += count
        self._buffered -= start
        self._buffer = [{k: v[start:].clone() for k, v in merged.items()}] if self._buffered else []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tmp is not None
        try:
            if exc_type is None:
                self._commit()
        finally:
            if self._tmp.exists():
                shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        if exc_type is None:
            self.corpus = Corpus.open(self.path, verify=False)

    def _commit(self) -> None:
        assert self._tmp is not None
        if self._schema is None:
            raise InvalidInputError(
                f"corpus {self.name!r} received no samples; pass image_shape to write an "
                f"empty corpus"
            )
        if self._buffered:
            self._flush(final=True)
        assert self._image_shape is not None
        manifest = CorpusManifest(
            name=self.name,
            kind=self.kind,
            generator=self.generator,
            source=self.source,
            class_names=self.class_names,
            num_samples=sum(s.num_samples for s in self._shards),
            image_shape=self._image_shape,  # type: ignore[arg-type]
            columns=self._schema,
            shards=tuple(self._shards),
            created_by=f"supervisor-testing {__version__}",
        )
        (self._tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
        _check_replaceable(self.path, self.overwrite)  # it may have appeared meanwhile
        try:
            publish_directory(self._tmp, self.path, replace=self.overwrite)
        except FileExistsError:
            raise CorpusError(
                f"{self.path} already exists; pass overwrite=True to replace it"
            ) from None


def write_corpus(
    path: str | os.PathLike[str],
    columns: Mapping[str, torch.Tensor],
    *,
    name: str,
    kind: str,
    class_names: Sequence[str],
    generator: GeneratorInfo,
    source: SourceInfo,
    extra_columns: Mapping[str, ColumnSpec] = MappingProxyType({}),
    image_shape: Sequence[int] | None = None,
    shard_size: int = 4096,
    overwrite: bool = False,
) -> Corpus:
    """Write in-memory columns as a corpus in one call (see :class:`CorpusWriter`)."""
    writer = CorpusWriter(
        path,
        name=name,
        kind=kind,
        class_names=class_names,
        generator=generator,
        source=source,
        extra_columns=extra_columns,
        image_shape=image_shape,
        shard_size=shard_size,
        overwrite=overwrite,
    )
    with writer:
        writer.add(columns)
    assert writer.corpus is not None
    return writer.corpus


# ---------------------------------------------------------------------------------------
# Reading


def _read_shard_header(path: Path, shard: ShardInfo) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Parse a safetensors header ourselves: precise errors and no data loaded."""
    where = f"shard {shard.path}"
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise CorpusError(f"{where} is truncated ({size} bytes); rebuild the corpus")
            (length,) = struct.unpack("<Q", prefix)
            if length > _MAX_HEADER_BYTES or 8 + length > size:
                raise CorpusError(
                    f"{where} is truncated or not a safetensors file; rebuild the corpus"
                )
            header = json.loads(f.read(length))
    except FileNotFoundError:
        raise CorpusError(f"{where} is missing; rebuild the corpus") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CorpusError(f"{where} has a corrupt header; rebuild the corpus") from None
    if not isinstance(header, dict):
        raise CorpusError(f"{where} has a corrupt header; rebuild the corpus")
    header.pop("__metadata__", None)
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    end = 0
    try:
        for name, entry in header.items():
            dtype = _HEADER_CODES.get(entry["dtype"], entry["dtype"])
            out[name] = (dtype, tuple(int(d) for d in entry["shape"]))
            end = max(end, int(entry["data_offsets"][1]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise CorpusError(f"{where} has a corrupt header; rebuild the corpus") from None
    if 8 + length + end != size:
        raise CorpusError(
            f"{where} is truncated: expected {8 + length + end} bytes, found {size}; "
            f"rebuild the corpus"
        )
    return out


class Corpus:
    """A corpus on disk, opened and checked; data is read lazily, shard by shard.

    Open with :meth:`Corpus.open` (or :func:`open_corpus`); create with
    :class:`CorpusWriter`, :func:`write_corpus` or a generator's ``build``.
    """

    def __init__(self, path: Path, manifest: CorpusManifest) -> None:
        self._path = path
        self._manifest = manifest

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, verify: bool = True) -> Corpus:
        """Open the corpus at ``path``.

        The manifest and every shard's header (column names, dtypes, shapes, size) are
        always checked; ``verify=True`` also compares every shard with its sha256 and
        validates labels and ``label_probs``, reading all data once.

        Raises:
            CorpusError: the corpus is missing, malformed, truncated, tampered with or names
                a path outside its directory.
        """
        root = Path(path)
        manifest_path = root / MANIFEST_NAME
        if not manifest_path.is_file():
            raise CorpusError(
                f"no corpus at {root}: {MANIFEST_NAME} is missing (a corpus is a directory "
                f"made by a generator or CorpusWriter)"
            )
        where = str(manifest_path)
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise CorpusError(f"{where} is not UTF-8 text; rebuild the corpus") from None
        except json.JSONDecodeError as exc:
            raise CorpusError(
                f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}); rebuild the corpus"
            ) from None
        try:
            manifest = CorpusManifest.from_dict(data, where=where)
        except CorpusError as exc:
            message = str(exc)
            raise CorpusError(
                message if "rebuild" in message else f"{message}; rebuild the corpus"
            ) from None
        corpus = cls(root, manifest)
        for shard in corpus._manifest.shards:
            corpus._check_shard(shard, full=verify)
        return corpus

    # -- metadata -----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def manifest(self) -> CorpusManifest:
        return self._manifest

    @property
    def name(self) -> str:
        return self._manifest.name

    @property
    def kind(self) -> str:
        return self._manifest.kind

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._manifest.class_names

    @property
    def num_classes(self) -> int:
        return self._manifest.num_classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self._manifest.image_shape

    @property
    def columns(self) -> Mapping[str, ColumnSpec]:
        return self._manifest.columns

    def __len__(self) -> int:
        return self._manifest.num_samples

    def __repr__(self) -> str:
        return (
            f"Corpus({self.name!r}, kind={self.kind!r}, num_samples={len(self)}, "
            f"path={str(self._path)!r})"
        )

    def sha256(self) -> str:
        """Content hash of the whole corpus: the manifest holds every shard's sha256."""
        return hashlib.sha256(self._manifest.to_json().encode("utf-8")).hexdigest()

    # -- integrity ----------------------------------------------------------------------

    def _shard_file(self, shard: ShardInfo) -> Path:
        file = self._path / shard.path
        root = self._path.resolve()
        # A symlinked shard could still point elsewhere even with a clean relative name.
        if not file.resolve().is_relative_to(root):
            raise CorpusError(
                f"{self._path / MANIFEST_NAME}: shard path {shard.path!r} escapes the corpus "
                f"directory"
            )
        return file

    def _check_shard(self, shard: ShardInfo, *, full: bool) -> None:
        file = self._shard_file(shard)
        where = f"corpus {self.name!r}, shard {shard.path}"
        header = _read_shard_header(file, shard)
        if set(header) != set(self.columns):
            missing = sorted(set(self.columns) - set(header))
            extra = sorted(set(header) - set(self.columns))
            raise CorpusError(
                f"{where} does not match the schema in {MANIFEST_NAME} (missing columns: "
                f"{missing or 'none'}, unknown columns: {extra or 'none'}); rebuild the corpus"
            )
        for name, spec in self.columns.items():
            dtype, shape = header[name]
            expected = (shard.num_samples, *spec.shape)
            if dtype != spec.dtype or shape != expected:
                raise CorpusError(
                    f"{where}: column {name!r} is {dtype} {list(shape)} but the schema in "
                    f"{MANIFEST_NAME} says {spec.dtype} {list(expected)}; rebuild the corpus"
                )
        if not full:
            return
        data = file.read_bytes()
        if hashlib.sha256(data).hexdigest() != shard.sha256:
            raise CorpusError(
                f"{where} does not match its sha256 in {MANIFEST_NAME}: the file was modified "
                f"or corrupted; rebuild the corpus"
            )
        from safetensors.torch import load

        try:
            tensors = load(data)
        except Exception as exc:  # safetensors raises its own untyped errors
            raise CorpusError(f"{where} cannot be read ({exc}); rebuild the corpus") from None
        try:
            _validate_columns(tensors, self.columns, self.num_classes, where)
        except InvalidInputError as exc:
            raise CorpusError(f"{exc}; rebuild the corpus") from None

    def verify(self) -> None:
        """Re-check every shard against its sha256 and the label rules."""
        for shard in self._manifest.shards:
            self._check_shard(shard, full=True)

    # -- data ---------------------------------------------------------------------------

    def _column_names(self, columns: Sequence[str] | None) -> list[str]:
        if columns is None:
            return list(self.columns)
        if isinstance(columns, str):
            columns = [columns]
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise InvalidInputError(
                f"corpus {self.name!r} has no column {unknown[0]!r}; it has: "
                f"{', '.join(self.columns)}"
            )
        return list(columns)

    def batches(
        self, batch_size: int = 256, *, columns: Sequence[str] | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Stream the corpus in order, ``batch_size`` samples at a time.

        Every batch has exactly ``batch_size`` samples except possibly the last; batches
        cross shard boundaries where needed. Only the rows of the current batch are read
        from disk, so memory stays bounded by the batch size.
        """
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        names = self._column_names(columns)
        from safetensors import safe_open

        pending: list[dict[str, torch.Tensor]] = []
        pending_n = 0
        for shard in self._manifest.shards:
            with safe_open(str(self._shard_file(shard)), framework="pt") as f:
                start = 0
                while start < shard.num_samples:
                    take = min(batch_size - pending_n, shard.num_samples - start)
                    pending.append({c: f.get_slice(c)[start : start + take] for c in names})
                    pending_n += take
                    start += take
                    if pending_n == batch_size:
                        yield _concat(pending, names)
                        pending, pending_n = [], 0
        if pending:
            yield _concat(pending, names)

    def load(self, columns: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """All samples of the requested columns (all columns by default) in memory."""
        names = self._column_names(columns)
        from safetensors import safe_open

        parts: list[dict[str, torch.Tensor]] = []
        for shard in self._manifest.shards:
            with safe_open(str(self._shard_file(shard)), framework="pt") as f:
                parts.append({c: f.get_tensor(c) for c in names})
        if not parts:
            return {
                c: torch.empty((0, *self.columns[c].shape), dtype=self.columns[c].torch_dtype)
                for c in names
            }
        return _concat(parts, names)

    def categories(self, column: str) -> tuple[str, ...]:
        """Category names of a categorical column, indexed by code."""
        spec = self.columns[self._column_names([column])[0]]
        if spec.categories is None:
            raise InvalidInputError(f"column {column!r} of corpus {self.name!r} is not categorical")
        return spec.categories

    def decode(self, column: str, codes: torch.Tensor | Sequence[int]) -> list[str]:
        """Category names for the int64 ``codes`` of a categorical column."""
        names = self.categories(column)
        values = codes.tolist() if isinstance(codes, torch.Tensor) else list(codes)
        bad = [c for c in values if not 0 <= c < len(names)]
        if bad:
            raise InvalidInputError(
                f"code {bad[0]} is outside 0..{len(names) - 1} for column {column!r}"
            )
        return [names[c] for c in values]

    def to_dataset(self) -> Dataset:
        """The corpus as a labelled :class:`Dataset` (for chaining generators).

        The data set keeps the source's name and split, so a model or supervisor keyed on
        ``mnist`` still recognises a corpus made from MNIST.

        Raises:
            CorpusError: some samples lie outside the label space (label -1).
        """
        from supervisor_testing.data.dataset import Dataset

        data = self.load(["images", "labels"])
        if (data["labels"] == -1).any():
            raise CorpusError(
                f"corpus {self.name!r} holds inputs outside the label space (label -1); "
                f"only labelled corpora can become a Dataset"
            )
        return Dataset(
            name=self._manifest.source.dataset,
            split=self._manifest.source.split,
            images=data["images"],
            labels=data["labels"],
            class_names=self.class_names,
            source=f"corpus {self.name} ({self.sha256()[:12]})",
        )

    # -- export -------------------------------------------------------------------------

    def export_png(self, dest: str | os.PathLike[str], *, batch_size: int = 1024) -> Path:
        """Write ``{index:06d}.png`` per sample and ``labels.csv`` into ``dest``.

        ``labels.csv`` holds ``index, file, label, label_name``, one ``prob_<class>`` column
        per class, ``source_index`` and the extra columns in name order (categorical ones
        decoded, vector ones flattened as ``name[i]``). Returns ``dest``.
        """
        import numpy as np
        from PIL import Image

        channels = self.image_shape[0]
        if channels not in (1, 3):
            raise CorpusError(
                f"export_png writes grayscale or RGB images; corpus {self.name!r} has "
                f"{channels} channels (use export_npz)"
            )
        out = Path(dest)
        out.mkdir(parents=True, exist_ok=True)
        extras = [c for c in self.columns if c not in REQUIRED_COLUMNS]
        header = ["index", "file", "label", "label_name"]
        header += [f"prob_{name}" for name in self.class_names]
        header.append("source_index")
        for column in extras:
            spec = self.columns[column]
            size = math.prod(spec.shape)
            header += [column] if not spec.shape else [f"{column}[{i}]" for i in range(size)]
        index = 0
        with (out / "labels.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for batch in self.batches(batch_size):
                images = batch["images"].permute(0, 2, 3, 1).numpy()
                for i in range(images.shape[0]):
                    file = f"{index:06d}.png"
                    # 2-d uint8 arrays become mode "L", H x W x 3 ones "RGB".
                    pixels = np.ascontiguousarray(
                        images[i, :, :, 0] if channels == 1 else images[i]
                    )
                    Image.fromarray(pixels).save(out / file)
                    label = int(batch["labels"][i])
                    row: list[object] = [
                        index,
                        file,
                        label,
                        self.class_names[label] if label >= 0 else "",
                    ]
                    row += [_format_number(v) for v in batch["label_probs"][i].tolist()]
                    row.append(int(batch["source_index"][i]))
                    for column in extras:
                        value = batch[column][i]
                        if self.columns[column].categories is not None:
                            row += self.decode(column, [int(value)])
                        else:
                            row += [_format_number(v) for v in value.reshape(-1).tolist()]
                    writer.writerow(row)
                    index += 1
        return out

    def export_npz(self, dest: str | os.PathLike[str]) -> Path:
        """Write every column into one compressed ``.npz`` (no pickled objects)."""
        import numpy as np

        out = Path(dest)
        if out.suffix != ".npz":
            out = out.with_name(out.name + ".npz")
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: tensor.numpy() for name, tensor in self.load().items()}
        np.savez_compressed(out, **arrays)
        return out


def _format_number(value: float | int | bool) -> str:
    if isinstance(value, float):
        return format(value, ".9g")  # enough digits to round-trip float32
    return str(int(value))


def _concat(parts: list[dict[str, torch.Tensor]], names: Sequence[str]) -> dict[str, torch.Tensor]:
    if len(parts) == 1:
        return parts[0]
    return {c: torch.cat([p[c] for p in parts]) for c in names}


def open_corpus(path: str | os.PathLike[str], *, verify: bool = True) -> Corpus:
    """Same as :meth:`Corpus.open`."""
    return Corpus.open(path, verify=verify)


def corpus_from_dataset(
    dataset: Dataset,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> Corpus:
    """A nominal corpus of ``dataset`` (one-hot ``label_probs``), seeded-subsampled to
    ``num_samples`` when given; made by the registered ``nominal`` generator."""
    from supervisor_testing.generation import create_generator

    return create_generator("nominal").build(
        dataset, path, seed=seed, num_samples=num_samples, name=name, overwrite=overwrite
    )
