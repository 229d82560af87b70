"""Build a corpus shard by shard, on any executor, resumably.

A corpus of ``N`` samples is cut by sample index into shards of ``shard_size``; each shard
is one task that makes its rows with :meth:`Generator.generate_range` and writes them
atomically. Generators seed every sample from (seed, sample identity), so a shard's
bytes depend only on (recipe, seed, shard range): the executor, the number of workers and
the order in which tasks finish cannot change them, and the corpus equals the one
:class:`~supervisor_testing.corpus.CorpusWriter` streams in one process.

Shards collect in ``.<name>.partial/`` beside the target, with ``build.json`` recording
what is being built and the sha256 of every finished shard. The manifest is written last,
once every shard is known, and the directory is renamed into place. An interrupted build
rerun with the same arguments verifies the finished shards by hash and makes only the
others; a partial build of a different corpus is refused and left as it is.

Example:
    >>> import tempfile
    >>> from supervisor_testing.data import load_dataset
    >>> from supervisor_testing.generation import create_generator
    >>> corpus = build_sharded(
    ...     create_generator("nominal"),
    ...     load_dataset("digits", "test"),
    ...     Path(tempfile.mkdtemp()) / "digits-test",
    ...     seed=0,
    ...     num_samples=100,
    ...     shard_size=32,
    ... )
    >>> [shard.num_samples for shard in corpus.manifest.shards]
    [32, 32, 32, 4]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from supervisor_testing._version import __version__
from supervisor_testing.atomic import atomic_write_bytes, atomic_write_text, publish_directory
from supervisor_testing.corpus import (
    MANIFEST_NAME,
    ColumnSpec,
    Corpus,
    CorpusManifest,
    GeneratorInfo,
    ShardInfo,
    SourceInfo,
    _check_replaceable,
    _concat,
    _required_schema,
    _shard_name,
    _validate_columns,
)
from supervisor_testing.errors import CorpusError, InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset
    from supervisor_testing.executors import Executor
    from supervisor_testing.generation import Generator

__all__ = ["BUILD_FILE", "DEFAULT_SHARD_SIZE", "build_sharded", "partial_path"]

DEFAULT_SHARD_SIZE = 4096
BUILD_FILE = "build.json"
_BUILD_FORMAT = "supervisor-testing-partial-build"


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Where the unfinished build of the corpus at ``path`` keeps its shards."""
    target = Path(path)
    return target.with_name(f".{target.name}.partial")


def _check_shard_size(shard_size: object) -> int:
    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
        raise InvalidInputError(
            f"shard size must be a positive number of samples, got {shard_size!r} "
            f"(default {DEFAULT_SHARD_SIZE})"
        )
    return shard_size


def _sha256_file(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def make_shards(
    generator: Generator,
    source: Dataset,
    *,
    seed: int,
    num_samples: int | None,
    start: int,
    stop: int | None,
    first_shard: int,
    shard_size: int,
    staging: str,
    schema: Mapping[str, ColumnSpec],
    num_classes: int,
    name: str,
    skip: Sequence[int] = (),
) -> list[tuple[int, int, str]]:
    """One task: make rows ``start..stop-1`` and write them as consecutive shards from
    ``first_shard`` on (``stop=None``: every row, for generators without ranges).

    Shards listed in ``skip`` were verified earlier and are not written again. Returns
    ``(shard index, samples, sha256)`` for every shard of the range.
    """
    from safetensors.torch import save

    if stop is None:
        batches = generator.generate(source, seed=seed, num_samples=num_samples)
    else:
        batches = generator.generate_range(
            source, seed=seed, num_samples=num_samples, start=start, stop=stop
        )
    names = list(schema)
    done: list[tuple[int, int, str]] = []
    pending: list[dict[str, torch.Tensor]] = []
    buffered = 0

    def flush(final: bool) -> None:
        nonlocal pending, buffered
        merged = _concat(pending, names)
        offset = 0
        while buffered - offset >= shard_size or (final and offset < buffered):
            count = min(shard_size, buffered - offset)
            index = first_shard + len(done)
            # The same slicing and call as CorpusWriter, so the bytes are the same.
            data = save({k: merged[k][offset : offset + count] for k in names})
            if index not in skip:
                atomic_write_bytes(Path(staging) / _shard_name(index), data)
            done.append((index, count, hashlib.sha256(data).hexdigest()))
            offset += count
        buffered -= offset
        pending = [{k: v[offset:] for k, v in merged.items()}] if buffered else []

    for batch in batches:
        n = _validate_columns(batch, schema, num_classes, f"corpus {name!r}")
        if n == 0:
            continue
        pending.append({k: batch[k].detach().to("cpu") for k in names})
        buffered += n
        if buffered >= shard_size:
            flush(final=False)
    if buffered:
        flush(final=True)
    if stop is not None and sum(count for _, count, _ in done) != stop - start:
        raise CorpusError(
            f"corpus {name!r}: generator {generator.name!r} made "
            f"{sum(c for _, c, _ in done)} samples for rows {start}..{stop - 1}; its "
            f"generate_range or expected_samples is wrong"
        )
    return done


def _identity(
    *,
    name: str,
    kind: str,
    generator: GeneratorInfo,
    source: SourceInfo,
    class_names: Sequence[str],
    image_shape: Sequence[int],
    schema: Mapping[str, ColumnSpec],
    shard_size: int,
    num_samples: int | None,
) -> dict[str, Any]:
    """Everything that decides a shard's bytes; a resume must match it exactly."""
    return {
        "format": _BUILD_FORMAT,
        "name": name,
        "kind": kind,
        "generator": generator.to_dict(),
        "source": source.to_dict(),
        "class_names": list(class_names),
        "image_shape": list(image_shape),
        "columns": {k: v.to_dict() for k, v in schema.items()},
        "shard_size": shard_size,
        "num_samples": num_samples,
    }


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    shown = []
    for key in keys[:3]:
        shown.append(
            f"{key} {json.dumps(old.get(key))[:80]} here, {json.dumps(new.get(key))[:80]} now"
        )
    return "; ".join(shown)


def _load_partial(
    staging: Path, identity: dict[str, Any], *, overwrite: bool
) -> dict[int, tuple[int, str]]:
    """Finished shards of an earlier build of the same corpus, verified by hash."""
    if not staging.exists():
        return {}
    record_path = staging / BUILD_FILE
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        known = {k: v for k, v in record.items() if k != "shards"}
        shards = {int(k): (int(v[0]), str(v[1])) for k, v in record["shards"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        known, shards = None, {}
    if known != identity:
        if overwrite:
            shutil.rmtree(staging)
            return {}
        what = (
            f"it differs in: {_differences(known, identity)}"
            if isinstance(known, dict)
            else f"{BUILD_FILE} is missing or unreadable"
        )
        raise CorpusError(
            f"{staging} holds an unfinished build of a different corpus ({what}). Nothing "
            f"was deleted: finish it with the command that started it, choose another "
            f"output path, or pass overwrite (--overwrite) to discard it"
        )
    verified = {}
    for index, (count, digest) in shards.items():
        if _sha256_file(staging / _shard_name(index)) == digest:
            verified[index] = (count, digest)
    return verified


def _save_record(staging: Path, identity: dict[str, Any], done: dict[int, tuple[int, str]]) -> None:
    record = {**identity, "shards": {str(k): list(v) for k, v in sorted(done.items())}}
    atomic_write_text(staging / BUILD_FILE, json.dumps(record, sort_keys=True, indent=1) + "\n")


def build_sharded(
    generator: Generator,
    source: Dataset,
    path: str | os.PathLike[str],
    *,
    seed: int,
    num_samples: int | None = None,
    name: str | None = None,
    recipe: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
    executor: Executor | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> Corpus:
    """Build the corpus ``generator.build`` would, one shard per task on ``executor``.

    Args:
        generator, source, path, seed, num_samples, name, recipe, overwrite, progress: as
            for :meth:`Generator.build`.
        executor: where the shard tasks run (default: in this process).
        shard_size: samples per shard; the concatenated samples do not depend on it, and
            with the same shard size every shard is byte-identical whatever the executor.

    Generators without :attr:`Generator.supports_ranges` run as a single task that still
    writes and records shard by shard.

    Raises:
        InvalidInputError: ``shard_size`` is not a positive int, or the generator's
            parameters do not fit the source.
        CorpusError: ``path`` exists (without ``overwrite``), or an unfinished build of a
            different corpus sits beside it; nothing is deleted in either case.
    """
    from tqdm.auto import tqdm

    from supervisor_testing.executors import LocalExecutor

    shard_size = _check_shard_size(shard_size)
    target = Path(path)
    name = name or target.name
    info = GeneratorInfo(generator.name, generator.version, generator.params, seed)
    source_info = SourceInfo(source.name, source.split, source.sha256(), recipe)
    class_names = tuple(generator.class_names(source))
    image_shape = tuple(generator.image_shape(source))
    schema = {**_required_schema(image_shape, len(class_names)), **generator.extra_columns()}
    total = generator.expected_samples(source, num_samples)
    ranged = generator.supports_ranges and total is not None
    identity = _identity(
        name=name,
        kind=generator.kind,
        generator=info,
        source=source_info,
        class_names=class_names,
        image_shape=image_shape,
        schema=schema,
        shard_size=shard_size,
        num_samples=total,
    )
    _check_replaceable(target, overwrite)
    staging = partial_path(target)
    done = _load_partial(staging, identity, overwrite=overwrite)
    created = not staging.exists()
    staging.mkdir(parents=True, exist_ok=True)
    _save_record(staging, identity, done)

    common = {
        "seed": seed,
        "num_samples": num_samples,
        "shard_size": shard_size,
        "staging": str(staging),
        "schema": schema,
        "num_classes": len(class_names),
        "name": name,
    }
    plans: list[tuple[int, int | None, int, tuple[int, ...]]]
    if ranged:
        assert total is not None
        starts = range(0, total, shard_size)
        todo = [k for k in range(len(starts)) if k not in done]
        plans = [(starts[k], min(starts[k] + shard_size, total), k, ()) for k in todo]
    elif total is not None and done and sum(c for c, _ in done.values()) == total:
        plans = []
    else:
        # One task makes every row; it skips writing the shards verified earlier.
        plans = [(0, None, 0, tuple(sorted(done)))]
    owned = executor is None
    executor = executor or LocalExecutor()
    try:
        shared_source = executor.share(source) if plans else source
        tasks = [
            (generator, shared_source, start, stop, first, skip, common)
            for start, stop, first, skip in plans
        ]
        with tqdm(
            total=total,
            initial=sum(c for c, _ in done.values()),
            desc=name,
            unit="img",
            disable=not progress,
        ) as bar:
            for _, shards in executor.run(_run_task, tasks):
                for index, count, digest in shards:
                    if index not in done:
                        bar.update(count)
                    done[index] = (count, digest)
                _save_record(staging, identity, done)
    except BaseException:
        # A build that failed before its first shard (a bad num_samples, say) leaves
        # nothing behind; one that made shards keeps them for the resume.
        if created and not done:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if owned:
            executor.close()
    return _commit(staging, target, identity, done, schema, info, source_info, overwrite)


def _run_task(
    generator: Generator,
    source: Dataset,
    start: int,
    stop: int | None,
    first_shard: int,
    skip: Sequence[int],
    common: dict[str, Any],
) -> list[tuple[int, int, str]]:
    return make_shards(
        generator, source, start=start, stop=stop, first_shard=first_shard, skip=skip, **common
    )


def _commit(
    staging: Path,
    target: Path,
    identity: dict[str, Any],
    done: dict[int, tuple[int, str]],
    schema: Mapping[str, ColumnSpec],
    info: GeneratorInfo,
    source_info: SourceInfo,
    overwrite: bool,
) -> Corpus:
    """Write the manifest last, then rename the finished directory into place."""
    if sorted(done) != list(range(len(done))):
        raise CorpusError(f"{staging}: shards {sorted(done)} are not consecutive; rebuild")
    shards = tuple(ShardInfo(_shard_name(k), done[k][0], done[k][1]) for k in sorted(done))
    total = sum(s.num_samples for s in shards)
    if identity["num_samples"] is not None and total != identity["num_samples"]:
        raise CorpusError(
            f"{staging}: the shards hold {total} samples, expected {identity['num_samples']}"
        )
    manifest = CorpusManifest(
        name=identity["name"],
        kind=identity["kind"],
        generator=info,
        source=source_info,
        class_names=tuple(identity["class_names"]),
        num_samples=total,
        image_shape=tuple(identity["image_shape"]),  # type: ignore[arg-type]
        columns=schema,
        shards=shards,
        created_by=f"supervisor-testing {__version__}",
    )
    # Temporary files of tasks whose worker died, and shards of an abandoned larger
    # build, must not travel into the corpus.
    keep = {shard.path for shard in shards} | {BUILD_FILE}
    for file in staging.iterdir():
        if file.name not in keep:
            if file.is_dir():
                shutil.rmtree(file)
            else:
                file.unlink()
    atomic_write_text(staging / MANIFEST_NAME, manifest.to_json())
    (staging / BUILD_FILE).unlink()
    _check_replaceable(target, overwrite)  # it may have appeared meanwhile
    try:
        publish_directory(staging, target, replace=overwrite)
    except FileExistsError:
        raise CorpusError(f"{target} already exists; pass overwrite=True to replace it") from None
    return Corpus.open(target, verify=False)
