"""Atomic writes for the data layer; the one implementation lives in
:mod:`supervisor_testing.atomic`, re-exported here for existing imports."""

from __future__ import annotations

from supervisor_testing.atomic import atomic_path, atomic_write_bytes

__all__ = ["atomic_path", "atomic_write_bytes"]
