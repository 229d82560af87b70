"""Write files and directories so that a reader never sees half of one.

Caches are read by concurrent test workers and by Dask workers, downloads and builds are
interrupted, and two processes may race to fill the same cache entry. Every write
therefore goes to a temporary sibling of its destination (same directory, so the same file
system) and is renamed into place: a rename within one file system is atomic, so the
destination is either the old content, the new content, or absent.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> atomic_write_text(root / "a.txt", "hello")
    >>> with atomic_directory(root / "d") as staging:
    ...     _ = (staging / "x").write_text("x")
    >>> sorted(p.name for p in root.iterdir())
    ['a.txt', 'd']
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_directory",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "publish_directory",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    ``mode`` sets the file's permissions before it becomes visible (``mkstemp`` creates
    files readable by their owner only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if mode is not None:
            tmp_path.chmod(mode)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None
) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def publish_directory(staging: Path, target: Path, *, replace: bool) -> None:
    """Rename the finished ``staging`` directory to ``target``.

    An existing ``target`` is moved aside and removed only once ``staging`` is in place, so
    a failure leaves the old directory where it was.

    Raises:
        FileExistsError: ``target`` exists (or appeared meanwhile) and ``replace`` is false.
    """
    if not target.exists() and not target.is_symlink():
        try:
            os.rename(staging, target)
            return
        except OSError as exc:  # lost a race: another writer created it meanwhile
            if not target.exists():
                raise
            if not replace:
                raise FileExistsError(target) from exc
    elif not replace:
        raise FileExistsError(target)
    old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[Path]:
    """Yield an empty staging directory beside ``path``; publish it there if the block
    succeeds (see :func:`publish_directory`), remove it if not.

    Raises:
        FileExistsError: ``path`` exists and ``replace`` is false.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        publish_directory(staging, target, replace=replace)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
