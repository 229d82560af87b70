"""Shared fixtures: a persistent cache for trained models, a scratch cache for the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Locally hypothesis explores new examples on every run; CI replays a fixed derandomized
# set so that a release gate never turns red on a draw nobody can reproduce from the log.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("SUPERVISOR_TESTING_CACHE", str(REPO / ".cache"))


@pytest.fixture
def scratch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache at an empty directory for tests that exercise caching itself."""
    monkeypatch.setenv("SUPERVISOR_TESTING_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def digits_train():
    """sklearn's bundled digits, train split: the fast data set most tests use."""
    from supervisor_testing.data import load_dataset

    return load_dataset("digits", "train")


@pytest.fixture(scope="session")
def digits_test():
    from supervisor_testing.data import load_dataset

    return load_dataset("digits", "test")


@pytest.fixture(scope="session")
def mlp(digits_train):
    """The README's reference digits classifier (cached on disk after the first run)."""
    from supervisor_testing.models import train_model

    return train_model(digits_train, "mlp", seed=0).module
