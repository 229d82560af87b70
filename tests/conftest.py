"""Shared fixtures: a persistent cache for trained models, a scratch cache for the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("SUPERVISOR_TESTING_CACHE", str(REPO / ".cache"))


@pytest.fixture
def scratch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache at an empty directory for tests that exercise caching itself."""
    monkeypatch.setenv("SUPERVISOR_TESTING_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
