"""A small user project for the plugin, gate and report tests.

It is what a user of the package would write: a classifier of their own (a seeded linear
layer on 4x4 images), supervisors registered with the decorator, a conftest that provides
the model, and tiny synthetic corpora on disk. Nominal images are dark and stress images
bright, so the ``brightness`` supervisor separates them perfectly and ``coin-flip`` not
at all; every number is reproducible from the seeds.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from supervisor_testing.corpus import Corpus, GeneratorInfo, SourceInfo, write_corpus

TOY_MODEL = '''
import os

import torch
from torch import nn


def build():
    """The user's classifier; TOY_MODEL_SEED stands for retrained weights."""
    torch.manual_seed(int(os.environ.get("TOY_MODEL_SEED", "0")))
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
'''

MY_SUPERVISORS = '''
import os

import torch

from supervisor_testing import Supervisor, register_supervisor
from supervisor_testing.supervisors import as_model_input


# clobber=True: pytester's in-process runs import this module afresh each time.
@register_supervisor("brightness", clobber=True)
class Brightness(Supervisor):
    """Flags bright inputs; BRIGHTNESS_NOISE degrades it, as a bad change would."""

    name = "brightness"

    def score(self, x):
        scores = as_model_input(x).mean(dim=(1, 2, 3))
        noise = float(os.environ.get("BRIGHTNESS_NOISE", "0"))
        if noise:
            generator = torch.Generator().manual_seed(len(x))
            scores = scores + noise * torch.randn(len(x), generator=generator)
        return scores


@register_supervisor("coin-flip", clobber=True)
class CoinFlip(Supervisor):
    """Random scores: a supervisor that detects nothing."""

    name = "coin-flip"

    def score(self, x):
        return torch.rand(len(x), generator=torch.Generator().manual_seed(len(x)))
'''

CONFTEST = """
import pytest

import my_supervisors  # noqa: F401  (registers brightness and coin-flip)
import toy_model


@pytest.fixture(scope="session")
def supervisor_model():
    return toy_model.build()
"""

PYTEST_INI = """
[pytest]
supervisor_corpus_dir = corpora
supervisor_nominal = dark-test
supervisor_calibration = dark-cal
supervisor_stress = bright
supervisor_resamples = 200
"""

CORPUS_SIZES = {"dark-test": 200, "dark-cal": 200, "bright": 150}


def coin_flip_scores(n: int) -> torch.Tensor:
    """What the ``coin-flip`` supervisor returns for a batch of ``n`` inputs."""
    return torch.rand(n, generator=torch.Generator().manual_seed(n))


def _write(path: Path, name: str, images: torch.Tensor, *, classes: int = 2) -> Corpus:
    n = len(images)
    nominal = name.startswith("dark")
    labels = torch.zeros(n, dtype=torch.int64) if nominal else torch.full((n,), -1)
    probs = torch.zeros(n, classes)
    if nominal:
        probs[:, 0] = 1
    return write_corpus(
        path / name,
        {"images": images, "labels": labels, "label_probs": probs, "source_index": torch.arange(n)},
        name=name,
        kind="nominal" if nominal else "far-ood",
        class_names=tuple(f"c{i}" for i in range(classes)),
        generator=GeneratorInfo("synthetic", "1", {}, 0),
        source=SourceInfo("synthetic", "test", "0" * 64),
    )


def write_corpora(directory: Path) -> dict[str, Corpus]:
    """Dark nominal test / calibration corpora, bright stress, and a 3-class corpus."""
    generator = torch.Generator().manual_seed(0)

    def images(n: int, low: int, high: int) -> torch.Tensor:
        return torch.randint(low, high, (n, 1, 4, 4), generator=generator, dtype=torch.uint8)

    corpora = {
        "dark-test": _write(directory, "dark-test", images(200, 0, 120)),
        "dark-cal": _write(directory, "dark-cal", images(200, 0, 120)),
        "bright": _write(directory, "bright", images(150, 80, 256)),
    }
    corpora["three-classes"] = _write(directory, "three-classes", images(40, 80, 256), classes=3)
    return corpora


def write_project(root: Path, corpora_source: Path) -> Path:
    """The user's project in ``root``: model, supervisors, conftest, ini file, corpora."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "toy_model.py").write_text(textwrap.dedent(TOY_MODEL).lstrip())
    (root / "my_supervisors.py").write_text(textwrap.dedent(MY_SUPERVISORS).lstrip())
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST).lstrip())
    (root / "pytest.ini").write_text(textwrap.dedent(PYTEST_INI).lstrip())
    shutil.copytree(corpora_source, root / "corpora", dirs_exist_ok=True)
    return root


@pytest.fixture(autouse=True)
def isolated_supervisor_registry() -> Iterator[None]:
    """Forget the supervisors a test registers (its in-process pytest runs import the user's
    modules), so tests that list every registered supervisor see only the installed ones.

    Only names unknown before the test are removed: built-ins imported meanwhile keep the
    names and aliases their modules registered, which a second import would not redo.
    """
    from supervisor_testing.supervisors import supervisors

    installed = set(supervisors.names())  # reads the entry points: every installed name
    yield
    # The registry has no public way to unregister; tests may reach into it.
    for name in set(supervisors._factories) - installed:
        del supervisors._factories[name]
    for alias, name in list(supervisors._aliases.items()):
        if name not in installed:
            del supervisors._aliases[alias]
