"""Run a study's cells as tasks on an executor (``run_study(..., executor=...)``).

The unit of work is one model and one supervisor: fitting the supervisor and scoring the
nominal and calibration corpora are shared by that supervisor's input-kind cells, so a
task per (architecture, seed, supervisor) makes each of its cells once, without
refitting per kind. A task runs :func:`run_study` itself on a one-unit configuration in a
scratch directory and returns the records; this process writes each cell file, so the
study directory and its resume rules are exactly those of a sequential run.

Before the units, shared corpora are built here and each model (with its model-dependent
corpora) is trained by one task, so that workers sharing a cache do not train the same
model at once.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supervisor_testing.executors import Executor
    from supervisor_testing.study.config import StudyConfig
    from supervisor_testing.study.runner import Cell

__all__ = ["run_cells"]


def _prepare_model(config: StudyConfig, architecture: str, seed: int) -> None:
    """Train (or load) one model and build the corpora that depend on it, into the cache."""
    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import train_model
    from supervisor_testing.recipes import build_recipe, load_recipe
    from supervisor_testing.study.runner import _model_recipe

    train_model(load_dataset(config.dataset, "train"), architecture, seed=seed)
    for kind in config.kinds:
        recipe = load_recipe(config.recipe_for(kind))
        adapted = _model_recipe(recipe, architecture, seed, config.dataset)
        if adapted is not recipe:
            build_recipe(adapted)


def _run_unit(
    config: StudyConfig, architecture: str, seed: int, supervisor: str
) -> list[dict[str, Any]]:
    """Every kind cell of one model and one supervisor, as :func:`run_study` records."""
    from supervisor_testing.study.runner import run_study

    unit = dataclasses.replace(
        config, architectures=(architecture,), seeds=(seed,), supervisors=(supervisor,)
    )
    with tempfile.TemporaryDirectory(prefix="suptest-study-unit-") as scratch:
        return run_study(unit, scratch)


def run_cells(
    config: StudyConfig,
    out: Path,
    cells: Sequence[Cell],
    *,
    executor: Executor,
    progress: bool = False,
) -> None:
    """Compute ``cells`` (the unfinished ones of a claimed study directory) on
    ``executor`` and write each record as its task finishes."""
    from tqdm.auto import tqdm

    from supervisor_testing.recipes import build_recipe, load_recipe, resolve_corpus
    from supervisor_testing.study.runner import _model_recipe, _write_json

    if not cells:
        return
    resolve_corpus(config.nominal_recipe, progress=progress)
    resolve_corpus(config.calibration_recipe, progress=progress)
    for kind in config.kinds:
        recipe = load_recipe(config.recipe_for(kind))
        first = cells[0]
        if _model_recipe(recipe, first.architecture, first.seed, config.dataset) is recipe:
            build_recipe(recipe, progress=progress)

    models = sorted({(c.architecture, c.seed) for c in cells})
    for _ in executor.run(_prepare_model, [(config, arch, seed) for arch, seed in models]):
        pass

    pending = {(c.architecture, c.seed, c.supervisor, c.kind): c for c in cells}
    units = sorted({(c.architecture, c.seed, c.supervisor) for c in cells})
    with tqdm(total=len(cells), desc="study", unit="cell", disable=not progress) as bar:
        tasks = [(config, *unit) for unit in units]
        for _, records in executor.run(_run_unit, tasks):
            for record in records:
                key = (record["architecture"], record["seed"], record["supervisor"], record["kind"])
                cell = pending.pop(key, None)
                if cell is not None:  # a unit also returns the cells finished earlier
                    _write_json(cell.path(out), record)
                    bar.update(1)
