"""Run a comparative study cell by cell, resumably.

A cell is (architecture, seed, supervisor, input kind). Each finished cell is written as
its own JSON file the moment it is done, so an interrupted study continues from what it
has and never recomputes a finished cell. The study directory remembers its config; a
resume with a different config is refused rather than mixing two studies' numbers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.study.config import ENSEMBLE_PREFIX, StudyConfig

__all__ = ["Cell", "run_study"]

STUDY_FILE = "study.json"


@dataclass(frozen=True)
class Cell:
    architecture: str
    seed: int
    supervisor: str
    kind: str

    def path(self, root: Path) -> Path:
        return (
            root
            / "cells"
            / self.architecture
            / f"seed{self.seed}"
            / self.supervisor
            / (f"{self.kind}.json")
        )


def _cells(config: StudyConfig, supervisor_names: list[str]) -> Iterator[Cell]:
    for arch in config.architectures:
        for seed in config.seeds:
            for supervisor in supervisor_names:
                for kind in config.kinds:
                    yield Cell(arch, seed, supervisor, kind)


def _claim_directory(config: StudyConfig, out: Path) -> None:
    marker = out / STUDY_FILE
    payload = {"config": config.to_dict(), "digest": config.digest()}
    if marker.exists():
        try:
            known = json.loads(marker.read_text())["digest"]
        except (ValueError, KeyError):
            raise InvalidInputError(
                f"{marker} is not a study record; choose another --out"
            ) from None
        if known != payload["digest"]:
            raise InvalidInputError(
                f"{out} holds a study with a different configuration; choose another --out "
                "(nothing there was changed)"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    _write_json(marker, payload)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from supervisor_testing.data.atomic_write import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def _model_recipe(recipe: Any, architecture: str, seed: int, dataset: str) -> Any:
    """Point a model-dependent recipe (one whose generator takes ``model``) at this cell's
    model, so adversarial inputs attack the model under study."""
    params = dict(recipe.generator_params)
    if "model" not in params:
        return recipe
    params["model"] = architecture
    for key in ("model_seed", "train_seed"):
        if key in params:
            params[key] = seed
    if "train_data" in params:
        params["train_data"] = dataset
    return dataclasses.replace(
        recipe, name=f"{recipe.name}-{architecture}-s{seed}", generator_params=params,
        path=recipe.path,
    )  # fmt: skip


def _subsample(n: int, limit: int, seed: int) -> np.ndarray | None:
    if n <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def run_study(
    config: StudyConfig, out: str | Path, *, progress: bool = False
) -> list[dict[str, Any]]:
    """Run (or resume) ``config`` into ``out``; returns every cell's record.

    Raises:
        InvalidInputError: ``out`` holds a different study, or a kind has no recipe.
    """
    from tqdm.auto import tqdm

    from supervisor_testing.data import load_dataset
    from supervisor_testing.evaluate import evaluate_scores, score_corpus
    from supervisor_testing.models import train_model
    from supervisor_testing.recipes import build_recipe, list_recipes, load_recipe, resolve_corpus
    from supervisor_testing.supervisors import create_supervisor, list_supervisors, supervisors

    out = Path(out)
    names = [supervisors.resolve(n) for n in config.supervisors] or list_supervisors()
    known_recipes = set(list_recipes())
    missing = [k for k in config.kinds if config.recipe_for(k) not in known_recipes]
    if missing:
        raise InvalidInputError(
            "no recipe for input kind(s) "
            + ", ".join(f"{k} (expected corpora/{config.recipe_for(k)}.toml)" for k in missing)
        )
    _claim_directory(config, out)

    cells = list(_cells(config, names))
    todo = {cell for cell in cells if not cell.path(out).exists()}
    train = load_dataset(config.dataset, "train") if todo else None
    nominal = calibration = None
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc="study", unit="cell",
               disable=not progress)  # fmt: skip
    try:
        for arch in config.architectures:
            for seed in config.seeds:
                if not any(c.architecture == arch and c.seed == seed for c in todo):
                    continue
                model = train_model(train, arch, seed=seed, progress=progress).module
                if nominal is None:
                    nominal = resolve_corpus(config.nominal_recipe, progress=progress)
                    calibration = resolve_corpus(config.calibration_recipe, progress=progress)
                stress = {}
                for kind in config.kinds:
                    recipe = _model_recipe(
                        load_recipe(config.recipe_for(kind)), arch, seed, config.dataset
                    )
                    stress[kind] = build_recipe(recipe, progress=progress)
                for name in names:
                    pending = [c for c in todo if (c.architecture, c.seed, c.supervisor) ==
                               (arch, seed, name)]  # fmt: skip
                    if not pending:
                        continue
                    started = time.perf_counter()
                    supervisor = create_supervisor(name, model)
                    if supervisor.requires_fit:
                        supervisor.fit(train)
                    nominal_scores = score_corpus(supervisor, nominal)
                    calibration_scores = score_corpus(supervisor, calibration)
                    shared_seconds = time.perf_counter() - started
                    for cell in sorted(pending, key=lambda c: config.kinds.index(c.kind)):
                        started = time.perf_counter()
                        record: dict[str, Any] = dataclasses.asdict(cell)
                        if cell.kind == "adversarial" and name.startswith(ENSEMBLE_PREFIX):
                            record["status"] = "n/a"
                        else:
                            corpus = stress[cell.kind]
                            chosen = _subsample(len(corpus), config.samples, seed)
                            result = evaluate_scores(
                                score_corpus(supervisor, corpus, indices=chosen),
                                nominal_scores,
                                calibration_scores,
                                supervisor=name,
                                stress=corpus.name,
                                nominal=nominal.name,
                                fpr=config.fpr,
                                resamples=config.resamples,
                                seed=seed,
                                keep_scores=False,
                            )
                            record.update(status="ok", result=result.to_dict())
                        record["seconds"] = (
                            time.perf_counter() - started + shared_seconds / len(pending)
                        )
                        _write_json(cell.path(out), record)
                        bar.update(1)
    finally:
        bar.close()
    return [json.loads(cell.path(out).read_text()) for cell in cells]
