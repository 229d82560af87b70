"""Run a comparative study cell by cell, resumably.

A cell is (architecture, seed, supervisor, input kind). Each finished cell is written as
its own JSON file the moment it is done, so an interrupted study continues from what it
has and never recomputes a finished cell. The study directory remembers its config; a
resume may add (or drop) architectures, seeds, supervisors and kinds, and only the new
cells are computed, but one with other settings (data set, samples, FPR, bootstrap,
ensemble size, recipes) is refused rather than mixing two studies' numbers. Each computed
cell also records the hashes of the recipes behind its numbers, so a cell whose corpus
recipe has been edited since is recomputed, not mixed with cells of the new corpus.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.study.config import ENSEMBLE_PREFIX, StudyConfig

#: MC-dropout supervisors need dropout layers; a model without them has n/a cells
MC_DROPOUT_PREFIX = "mc-dropout"

if TYPE_CHECKING:
    from torch import nn

    from supervisor_testing.executors import Executor

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
    """Refuse a directory whose finished cells were made with other settings; adding or
    dropping architectures, seeds, supervisors or kinds is a resume, not a new study, and
    so is naming a recipe (``extra``) for a kind that has no finished cell yet."""
    marker = out / STUDY_FILE
    payload = {
        "config": config.to_dict(),
        "digest": config.digest(),
        "settings_digest": config.settings_digest(),
    }
    if marker.exists():
        try:
            known = json.loads(marker.read_text())
            before = known["config"]
            if not isinstance(before, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise InvalidInputError(
                f"{marker} is not a study record; choose another --out"
            ) from None
        settings = config.settings()
        changed = [k for k, v in settings.items() if k != "extra" and before.get(k) != v]
        changed += [
            f"the recipe of {kind!r}"
            for kind in _recipe_changes(before.get("extra") or {}, settings["extra"])
            if any((out / "cells").glob(f"*/*/*/{kind}.json"))
        ]
        if changed:
            raise InvalidInputError(
                f"{out} holds a study with a different configuration ({', '.join(changed)}"
                " differ); choose another --out (nothing there was changed)"
            )
        if known.get("digest") == payload["digest"]:
            return
    out.mkdir(parents=True, exist_ok=True)
    _write_json(marker, payload)


def _recipe_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The kinds whose recipe differs between two ``extra`` tables."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from supervisor_testing.atomic import atomic_write_bytes

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


def _check_shapes(train: Any, corpora: dict[str, Any]) -> None:
    """One clear error, before any supervisor runs, for a corpus the models cannot take
    (otherwise a matrix-shape error surfaces deep inside the first forward pass)."""
    expected = tuple(train.image_shape)
    for role, corpus in corpora.items():
        if tuple(corpus.image_shape) != expected:
            shape, want = ("x".join(map(str, s)) for s in (corpus.image_shape, expected))
            raise InvalidInputError(
                f"corpus {corpus.name!r} ({role}) holds {shape} images, but models trained "
                f"on {train.name!r} take {want}; point {role!r} at a recipe made for "
                f"{train.name!r} (a far-ood recipe's `target`, or the study's `extra`)"
            )


def _not_applicable(cell: Cell, model: nn.Module) -> str | None:
    """Why ``cell`` has no number, or ``None`` when it has one to compute."""
    if cell.kind == "adversarial" and cell.supervisor.startswith(ENSEMBLE_PREFIX):
        return "the attack targets the model under study, one member of the ensemble"
    if cell.supervisor.startswith(MC_DROPOUT_PREFIX):
        from supervisor_testing.supervisors.dropout_sampler import dropout_layers

        try:
            dropout_layers(model)
        except InvalidInputError:
            return f"{cell.architecture} has no dropout layers to sample"
    return None


def _recipe_hashes(config: StudyConfig, cells: list[Cell]) -> dict[tuple, dict[str, str]]:
    """Per (architecture, seed, kind): the hashes of the stress, nominal and calibration
    recipes a cell's numbers come from (a model-dependent recipe differs per model)."""
    from supervisor_testing.recipes import load_recipe, recipe_hash

    shared = {
        "nominal": recipe_hash(load_recipe(config.nominal_recipe)),
        "calibration": recipe_hash(load_recipe(config.calibration_recipe)),
    }
    recipes = {kind: load_recipe(config.recipe_for(kind)) for kind in config.kinds}
    hashes = {}
    for arch, seed, kind in {(c.architecture, c.seed, c.kind) for c in cells}:
        adapted = _model_recipe(recipes[kind], arch, seed, config.dataset)
        hashes[arch, seed, kind] = {"stress": recipe_hash(adapted), **shared}
    return hashes


def _stale_cells(out: Path, finished: list[Cell], hashes: dict[tuple, dict[str, str]]) -> set[Cell]:
    """Finished cells computed from a recipe that has changed since. A record from before
    cells recorded their recipes cannot be checked and is kept."""
    stale = set()
    for cell in finished:
        try:
            recorded = json.loads(cell.path(out).read_text()).get("recipes")
        except (OSError, ValueError, AttributeError):
            stale.add(cell)  # unreadable: compute it again
            continue
        if recorded is not None and recorded != hashes[cell.architecture, cell.seed, cell.kind]:
            stale.add(cell)
    return stale


def _supervisor_params(config: StudyConfig, name: str, seed: int) -> dict[str, Any]:
    """Study-wide supervisor settings: the ensemble's size, and member seeds that never
    repeat the model under study (the default ``first_seed=1`` would, for seed 1)."""
    if name.startswith(ENSEMBLE_PREFIX):
        return {"members": config.ensemble_members, "first_seed": seed + 1}
    return {}


def _subsample(n: int, limit: int, seed: int) -> np.ndarray | None:
    if n <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def run_study(
    config: StudyConfig,
    out: str | Path,
    *,
    progress: bool = False,
    executor: Executor | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) ``config`` into ``out``; returns every cell's record.

    With ``executor``, each model x supervisor runs as a task there (see
    :mod:`supervisor_testing.study.distributed`); the records are the same.

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
    hashes = _recipe_hashes(config, cells)
    todo = {cell for cell in cells if not cell.path(out).exists()}
    stale = _stale_cells(out, [c for c in cells if c not in todo], hashes)
    if stale:
        kinds = ", ".join(sorted({c.kind for c in stale}))
        warnings.warn(
            f"recomputing {len(stale)} finished cell(s) of {kinds}: a recipe behind them "
            "has changed since they were computed",
            stacklevel=2,
        )
        todo |= stale
    if executor is not None:
        from supervisor_testing.study.distributed import run_cells

        run_cells(config, out, [c for c in cells if c in todo], executor=executor,
                  progress=progress)  # fmt: skip
        return [json.loads(cell.path(out).read_text()) for cell in cells]
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
                # only the kinds this model still has cells for: a study grown by one kind
                # never rebuilds (or, after a generator change, remakes) the others
                pending_kinds = {c.kind for c in todo if (c.architecture, c.seed) == (arch, seed)}
                for kind in [k for k in config.kinds if k in pending_kinds]:
                    recipe = _model_recipe(
                        load_recipe(config.recipe_for(kind)), arch, seed, config.dataset
                    )
                    stress[kind] = build_recipe(recipe, progress=progress)
                _check_shapes(train, {"nominal": nominal, "calibration": calibration, **stress})
                for name in names:
                    pending = [c for c in todo if (c.architecture, c.seed, c.supervisor) ==
                               (arch, seed, name)]  # fmt: skip
                    # n/a cells are recorded before the fit, so a supervisor with nothing
                    # else pending (an ensemble resuming at its adversarial cell) never fits.
                    reasons = {c: _not_applicable(c, model) for c in pending}
                    for cell in [c for c in pending if reasons[c]]:
                        record = {**dataclasses.asdict(cell), "status": "n/a",
                                  "reason": reasons[cell], "seconds": 0.0}  # fmt: skip
                        _write_json(cell.path(out), record)
                        bar.update(1)
                    pending = [c for c in pending if not reasons[c]]
                    if not pending:
                        continue
                    bar.set_postfix_str(f"{arch} seed {seed} {name}", refresh=True)
                    started, cpu_started = time.perf_counter(), time.process_time()
                    params = _supervisor_params(config, name, seed)
                    supervisor = create_supervisor(name, model, **params)
                    if supervisor.requires_fit:
                        supervisor.fit(train)
                    nominal_scores = score_corpus(supervisor, nominal)
                    calibration_scores = score_corpus(supervisor, calibration)
                    shared_seconds = time.perf_counter() - started
                    shared_cpu = time.process_time() - cpu_started
                    for cell in sorted(pending, key=lambda c: config.kinds.index(c.kind)):
                        started, cpu_started = time.perf_counter(), time.process_time()
                        record = dataclasses.asdict(cell)
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
                        record.update(
                            status="ok",
                            result=result.to_dict(),
                            recipes=hashes[arch, seed, cell.kind],
                        )
                        # the fit and the nominal scores are shared by the model's cells
                        record["seconds"] = (
                            time.perf_counter() - started + shared_seconds / len(pending)
                        )
                        record["cpu_seconds"] = (
                            time.process_time() - cpu_started + shared_cpu / len(pending)
                        )
                        _write_json(cell.path(out), record)
                        bar.update(1)
    finally:
        bar.close()
    return [json.loads(cell.path(out).read_text()) for cell in cells]
