"""Study cells for deep ensembles: n/a on adversarial inputs, members never the model itself."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from far_ood_recipe import mnist_as_digits

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.study import (
    StudyConfig,
    load_study_config,
    run_study,
    write_study_report,
)

ADVERSARIAL = """
name = "digits-adversarial"
description = "Digits test images attacked with FGSM against the study's model."
seed = 0
samples = 40

[source]
dataset = "digits"
split = "test"

[generator]
name = "adversarial"

[generator.params]
model = "mlp"
train_data = "digits"
model_seed = 0
attacks = ["fgsm"]
"""

FAR_OOD = mnist_as_digits(samples=40)


@pytest.fixture
def recipes(tmp_path, monkeypatch):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-adversarial.toml").write_text(ADVERSARIAL)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    return folder


def _spy_on_supervisors(monkeypatch) -> list[tuple[str, dict]]:
    import supervisor_testing.supervisors as zoo

    calls: list[tuple[str, dict]] = []
    real = zoo.create_supervisor

    def spy(name, model, **params):
        calls.append((name, params))
        return real(name, model, **params)

    monkeypatch.setattr(zoo, "create_supervisor", spy)
    return calls


def test_ensembles_are_na_on_adversarial_and_never_fit_for_it(recipes, tmp_path, monkeypatch):
    calls = _spy_on_supervisors(monkeypatch)
    config = StudyConfig(
        dataset="digits",
        architectures=("mlp",),
        seeds=(0, 1),
        supervisors=("deep-ensemble-entropy", "msp"),
        kinds=("adversarial",),
        samples=40,
        resamples=20,
        ensemble_members=2,
    )
    out = tmp_path / "study"
    records = run_study(config, out)
    by_supervisor = {(r["supervisor"], r["seed"]): r for r in records}
    for seed in (0, 1):
        ensemble = by_supervisor["deep-ensemble-entropy", seed]
        assert ensemble["status"] == "n/a" and "result" not in ensemble
        msp = by_supervisor["max-softmax", seed]
        assert msp["status"] == "ok" and msp["result"]["n_stress"] == 40
        # the adversarial corpus attacked this run's model, not the recipe's seed-0 one
        assert msp["result"]["stress"] == f"digits-adversarial-mlp-s{seed}"
    # nothing but n/a cells: the ensemble was never built, let alone fitted
    assert [name for name, _ in calls] == ["max-softmax", "max-softmax"]
    summary = write_study_report(records, out, config=config.to_dict())
    assert summary.cell("deep-ensemble-entropy", "adversarial") == "n/a"
    assert summary.cell("max-softmax", "adversarial") != "n/a"
    # compute is reported for computed cells only: an n/a cell costs nothing
    assert set(summary.compute) == {"max-softmax"}
    wall, cpu = summary.compute["max-softmax"]
    msp_cells = [by_supervisor["max-softmax", seed] for seed in (0, 1)]
    assert wall == pytest.approx(sum(r["seconds"] for r in msp_cells) / 2)
    assert cpu == pytest.approx(sum(r["cpu_seconds"] for r in msp_cells) / 2) and cpu > 0
    assert "| max-softmax | " in (out / "study.md").read_text().split("CPU s / cell")[1]
    assert (
        json.loads((out / "cells/mlp/seed1/deep-ensemble-entropy/adversarial.json").read_text())[
            "status"
        ]
        == "n/a"
    )


def test_ensemble_members_follow_the_config_and_skip_the_run_seed(tmp_path, monkeypatch):
    calls = _spy_on_supervisors(monkeypatch)
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-far-ood-mnist.toml").write_text(FAR_OOD)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    config = StudyConfig(
        dataset="digits",
        architectures=("mlp",),
        seeds=(1, 4),
        supervisors=("deep-ensemble-variation-ratio",),
        kinds=("invalid",),
        samples=40,
        resamples=20,
        ensemble_members=3,
        extra={"invalid": "digits-far-ood-mnist"},
    )
    records = run_study(config, tmp_path / "study")
    assert [r["status"] for r in records] == ["ok", "ok"]
    # run s takes seeds s+1 .. s+M-1 (the default first_seed=1 would repeat run 1's model)
    assert calls == [
        ("deep-ensemble-variation-ratio", {"members": 3, "first_seed": 2}),
        ("deep-ensemble-variation-ratio", {"members": 3, "first_seed": 5}),
    ]
    for record in records:
        assert 0.0 <= record["result"]["auroc"]["value"] <= 1.0 and record["seconds"] > 0


def test_ensemble_members_must_be_an_ensemble(tmp_path):
    with pytest.raises(InvalidInputError, match="ensemble_members must be at least 2, got 1"):
        StudyConfig(dataset="digits", ensemble_members=1)
    path = tmp_path / "study.toml"
    path.write_text('dataset = "digits"\nensemble_members = 3\n')
    assert load_study_config(path).ensemble_members == 3
    path.write_text('dataset = "digits"\nensemble_members = "three"\n')
    with pytest.raises(
        InvalidInputError, match="'ensemble_members' must be an integer, got 'three'"
    ):
        load_study_config(path)


def test_a_study_grows_by_seeds_and_supervisors_without_recomputing(tmp_path, monkeypatch):
    import supervisor_testing.evaluate as evaluation

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-far-ood-mnist.toml").write_text(FAR_OOD)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    evaluated: list[str] = []
    real = evaluation.evaluate_scores

    def counting(*args, **kwargs):
        evaluated.append(kwargs["supervisor"])
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate_scores", counting)
    small = StudyConfig(
        dataset="digits",
        architectures=("mlp",),
        seeds=(0,),
        supervisors=("msp",),
        kinds=("invalid",),
        samples=40,
        resamples=20,
        extra={"invalid": "digits-far-ood-mnist"},
    )
    out = tmp_path / "study"
    (first,) = run_study(small, out)
    grown = dataclasses.replace(small, seeds=(0, 1), supervisors=("msp", "energy"))
    records = run_study(grown, out)
    assert len(records) == 4 and first in records
    assert sorted(evaluated) == ["energy", "energy", "max-softmax", "max-softmax"]
    marker = out / "study.json"
    assert json.loads(marker.read_text())["config"]["seeds"] == [0, 1]

    before = marker.read_text()
    with pytest.raises(InvalidInputError, match=r"different configuration \(samples differ\)"):
        run_study(dataclasses.replace(grown, samples=30), out)
    assert marker.read_text() == before and len(evaluated) == 4


MNIST_NOMINAL = """
name = "mnist-few"
description = "40 MNIST test digits: 28x28 images that a digits model cannot take."
seed = 0
samples = 40

[source]
dataset = "mnist"
split = "test"

[generator]
name = "nominal"
"""


def test_a_corpus_the_models_cannot_take_is_one_clear_cli_error(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from supervisor_testing.cli import main

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "mnist-few.toml").write_text(MNIST_NOMINAL)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    config = tmp_path / "study.toml"
    config.write_text(
        'dataset = "digits"\narchitectures = ["mlp"]\nseeds = [0]\nsupervisors = ["msp"]\n'
        'kinds = ["invalid"]\nsamples = 40\n[extra]\ninvalid = "mnist-few"\n'
    )
    out = tmp_path / "study"
    result = CliRunner().invoke(
        main, ["--quiet", "study", "--config", str(config), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert "corpus 'mnist-few' (invalid) holds 1x28x28 images" in result.output
    assert "take 1x8x8" in result.output
    assert not list((out / "cells").rglob("*.json"))  # nothing half-made to resume from


def test_compute_averages_cpu_over_the_records_that_measured_it():
    from supervisor_testing.study import summarise

    def record(seed, seconds, cpu=None, status="ok"):
        out = {"architecture": "mlp", "seed": seed, "supervisor": "pcs", "kind": "invalid",
               "status": status, "seconds": seconds}  # fmt: skip
        if status == "ok":
            out["result"] = {"auroc": {"value": 0.8, "low": 0.7, "high": 0.9}}
        if cpu is not None:
            out["cpu_seconds"] = cpu
        return out

    # an older record without CPU time, two with it, and an n/a cell that costs nothing
    summary = summarise(
        [record(0, 6.0), record(1, 3.0, 1.0), record(2, 3.0, 2.0), record(3, 0.0, 0.0, "n/a")]
    )
    assert summary.compute["pcs"] == pytest.approx((4.0, 1.5))
    assert summary.seconds_per_cell == pytest.approx(4.0)
    only_old = summarise([record(0, 6.0)])
    assert np.isnan(only_old.compute["pcs"][1])
    assert "| pcs | 6.0 | n/a |" in only_old.compute_markdown()


def test_every_mnist_kind_names_a_shipped_recipe():
    from supervisor_testing.recipes import list_recipes
    from supervisor_testing.study import KIND_RECIPES

    config = StudyConfig(dataset="mnist", kinds=tuple(KIND_RECIPES))
    assert config.recipe_for("diffusion-edit") == "mnist-diffusion-edit"
    shipped = set(list_recipes())
    for kind in ("ambiguous", "corrupted", "invalid", "adversarial", "domain-shift"):
        assert config.recipe_for(kind) in shipped, kind
    assert StudyConfig(dataset="fashion-mnist").recipe_for("invalid") in shipped


def test_a_study_grown_by_a_kind_builds_only_that_kind(tmp_path, monkeypatch):
    import supervisor_testing.recipes as recipes

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-far-ood-mnist.toml").write_text(FAR_OOD)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    config = StudyConfig(
        dataset="digits",
        architectures=("mlp",),
        seeds=(0,),
        supervisors=("msp",),
        kinds=("invalid",),
        samples=40,
        resamples=20,
        # the nominal test split stands in for a second kind: any recipe made for digits
        extra={"invalid": "digits-far-ood-mnist", "corrupted": "digits-test"},
    )
    out = tmp_path / "study"
    run_study(config, out)
    built: list[str] = []
    real = recipes.build_recipe

    def spy(recipe, **kwargs):
        built.append(recipe if isinstance(recipe, str) else recipe.name)
        return real(recipe, **kwargs)

    monkeypatch.setattr(recipes, "build_recipe", spy)
    records = run_study(dataclasses.replace(config, kinds=("invalid", "corrupted")), out)
    assert [r["kind"] for r in records] == ["invalid", "corrupted"]
    assert "digits-test" in built and "digits-far-ood-mnist" not in built


def test_mc_dropout_is_na_on_a_model_without_dropout():
    from torch import nn

    from supervisor_testing.study.runner import Cell, _not_applicable

    plain = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with_dropout = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10))
    cell = Cell("resnet", 0, "mc-dropout-entropy", "ambiguous")
    assert "resnet has no dropout layers" in _not_applicable(cell, plain)
    assert _not_applicable(cell, with_dropout) is None
    assert _not_applicable(Cell("resnet", 0, "max-softmax", "ambiguous"), plain) is None
    ensemble = Cell("mlp", 0, "deep-ensemble-entropy", "adversarial")
    assert "one member of the ensemble" in _not_applicable(ensemble, with_dropout)
