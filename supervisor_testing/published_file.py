"""Write the files people and tools read (reports, baselines) atomically and world-readable.

``atomic_write_bytes`` goes through ``mkstemp``, which creates files readable by their owner
only; a report published as a CI artifact or served from a web server, or a baseline
shared on a team drive, should read like any other file the user writes.
"""

from __future__ import annotations

from pathlib import Path

from supervisor_testing.atomic import atomic_write_bytes

__all__ = ["write_published"]


def write_published(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, with mode 0644."""
    path = Path(path)
    atomic_write_bytes(path, text.encode("utf-8"), mode=0o644)
    return path
