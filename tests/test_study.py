"""The comparative study on the digits data set: cells, resume, refusal, summary."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from far_ood_recipe import mnist_as_digits

from supervisor_testing.errors import InvalidInputError, UnknownNameError
from supervisor_testing.study import (
    StudyConfig,
    load_study_config,
    run_study,
    summarise,
    write_study_report,
)
from supervisor_testing.study import runner as study_runner

RECIPE = mnist_as_digits(samples=120)


@pytest.fixture
def recipes(tmp_path, monkeypatch):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-far-ood-mnist.toml").write_text(RECIPE)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    return folder


def _config(**overrides) -> StudyConfig:
    settings = dict(
        dataset="digits",
        architectures=("mlp",),
        seeds=(0, 1),
        supervisors=("msp", "energy"),
        kinds=("invalid",),
        samples=60,
        resamples=50,
        extra={"invalid": "digits-far-ood-mnist"},
    )
    settings.update(overrides)
    return StudyConfig(**settings)


def test_study_runs_every_cell_and_resumes_without_recomputing(recipes, tmp_path, monkeypatch):
    config = _config()
    out = tmp_path / "study"
    records = run_study(config, out)
    assert len(records) == 1 * 2 * 2 * 1
    assert {(r["seed"], r["supervisor"]) for r in records} == {
        (0, "max-softmax"), (0, "energy"), (1, "max-softmax"), (1, "energy"),
    }  # fmt: skip
    for record in records:
        result = record["result"]
        assert record["status"] == "ok" and result["n_stress"] == 60
        assert 0 <= result["auroc"]["low"] <= result["auroc"]["value"] <= result["auroc"]["high"]

    def fail(*args, **kwargs):
        raise AssertionError("a finished cell was recomputed")

    monkeypatch.setattr("supervisor_testing.evaluate.evaluate_scores", fail)
    assert run_study(config, out) == records

    summary = summarise(records)
    i = summary.supervisors.index("energy")
    values = [r["result"]["auroc"]["value"] for r in records if r["supervisor"] == "energy"]
    assert summary.mean[i, 0] == pytest.approx(np.mean(values))
    assert summary.std[i, 0] == pytest.approx(np.std(values, ddof=1))

    report = write_study_report(records, out, config=config.to_dict())
    assert (out / "auroc-heatmap.png").read_bytes().startswith(b"\x89PNG")
    text = (out / "study.md").read_text()
    assert "| energy |" in text and "± " in text
    assert report.leaders()["invalid"] in ("max-softmax", "energy")
    assert json.loads((out / "results.json").read_text())["config"]["dataset"] == "digits"


def test_resume_with_another_config_is_refused(recipes, tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    marker = out / study_runner.STUDY_FILE
    marker.write_text(json.dumps({"config": {}, "digest": "something-else"}))
    with pytest.raises(InvalidInputError, match="different configuration"):
        run_study(_config(), out)
    assert json.loads(marker.read_text())["digest"] == "something-else"  # nothing changed


def test_a_recipe_may_be_named_for_a_kind_without_finished_cells(recipes, tmp_path):
    out = tmp_path / "study"
    config = _config(seeds=(0,), supervisors=("msp",))
    records = run_study(config, out)
    more = {**config.extra, "diffusion-edit": "digits-edits"}  # no diffusion-edit cell yet
    assert run_study(_config(seeds=(0,), supervisors=("msp",), extra=more), out) == records
    marker = (out / study_runner.STUDY_FILE).read_text()
    (recipes / "another-far-ood.toml").write_text(mnist_as_digits("another-far-ood", samples=120))
    moved = {"invalid": "another-far-ood"}  # the finished invalid cells came from the old one
    with pytest.raises(InvalidInputError, match="the recipe of 'invalid' differ"):
        run_study(_config(seeds=(0,), supervisors=("msp",), extra=moved), out)
    assert (out / study_runner.STUDY_FILE).read_text() == marker  # nothing changed


def test_cells_of_an_edited_recipe_are_recomputed_on_resume(recipes, tmp_path, monkeypatch):
    out = tmp_path / "study"
    config = _config(seeds=(0,))
    records = run_study(config, out)
    assert all(set(r["recipes"]) == {"stress", "nominal", "calibration"} for r in records)
    edited = RECIPE.replace("seed = 0", "seed = 1")
    assert edited != RECIPE
    (recipes / "digits-far-ood-mnist.toml").write_text(edited)
    evaluated = []
    evaluate = importlib.import_module("supervisor_testing.evaluate").evaluate_scores

    def counted(*args, **kwargs):
        evaluated.append(kwargs["supervisor"])
        return evaluate(*args, **kwargs)

    monkeypatch.setattr("supervisor_testing.evaluate.evaluate_scores", counted)
    with pytest.warns(UserWarning, match="recomputing 2 finished cell"):
        again = run_study(config, out)
    assert sorted(evaluated) == ["energy", "max-softmax"]
    assert [r["recipes"]["stress"] for r in again] != [r["recipes"]["stress"] for r in records]
    assert [r["result"]["auroc"] for r in again] != [r["result"]["auroc"] for r in records]
    evaluated.clear()
    assert run_study(config, out) == again and not evaluated  # now current: kept


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"dataset": "cifar"}, InvalidInputError, "unknown data set 'cifar'"),
        ({"kinds": ("ambiguous", "weird")}, InvalidInputError, "unknown input kind"),
        ({"supervisors": ("nope",)}, UnknownNameError, "unknown supervisor 'nope'"),
        ({"architectures": ("vgg",)}, InvalidInputError, "unknown architecture 'vgg'"),
    ],
)
def test_bad_study_configs(overrides, error, message):
    with pytest.raises(error, match=message):
        _config(**overrides)


def test_missing_recipe_for_a_kind_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(tmp_path))
    with pytest.raises(InvalidInputError, match=r"no recipe for input kind\(s\) invalid"):
        run_study(_config(extra={"invalid": "no-such-recipe"}), tmp_path / "out")


def test_config_file(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('dataset = "digits"\narchitectures = ["mlp"]\nseeds = [3]\nsamples = 20\n')
    config = load_study_config(path)
    assert config.seeds == (3,) and config.architectures == ("mlp",)
    path.write_text("dataset = [\n")
    with pytest.raises(InvalidInputError, match="malformed TOML"):
        load_study_config(path)
    path.write_text("colour = 3\n")
    with pytest.raises(InvalidInputError, match="unknown key 'colour'"):
        load_study_config(path)


def _record(arch: str, supervisor: str, kind: str, auroc: float | None) -> dict:
    cell = {"architecture": arch, "seed": 0, "supervisor": supervisor, "kind": kind}
    if auroc is None:
        return {**cell, "status": "n/a", "reason": "test", "seconds": 0.0}
    value = {"value": auroc, "low": auroc - 0.01, "high": auroc + 0.01}
    return {**cell, "status": "ok", "result": {"auroc": value}, "seconds": 1.0}


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)  # no ties in the values below


def test_kind_agreement_is_spearman_over_supervisors_that_have_both(tmp_path):
    rng = np.random.default_rng(3)
    names = [f"s{i}" for i in range(7)]
    table = {kind: rng.permutation(np.linspace(0.5, 0.95, 7)) for kind in ("a", "b", "c")}
    records = [
        _record("mlp", name, kind, None if (kind, name) == ("c", "s0") else float(values[i]))
        for kind, values in table.items()
        for i, name in enumerate(names)
    ]
    rho, counts = summarise(records).kind_agreement()
    expected = np.corrcoef(_ranks(table["a"]), _ranks(table["b"]))[0, 1]
    assert rho[0, 1] == pytest.approx(expected) and rho[1, 0] == pytest.approx(expected)
    assert counts[0, 1] == 7 and counts[0, 2] == 6  # s0 is n/a on kind c
    expected_ac = np.corrcoef(_ranks(table["a"][1:]), _ranks(table["c"][1:]))[0, 1]
    assert rho[0, 2] == pytest.approx(expected_ac)
    assert np.allclose(np.diag(rho), 1.0)

    two_archs = records + [{**r, "architecture": "cnn"} for r in records if r["status"] == "ok"]
    write_study_report(
        two_archs,
        tmp_path,
        config={"dataset": "digits", "architectures": ["mlp", "cnn"], "seeds": [0],
                "samples": 10},
    )  # fmt: skip
    text = (tmp_path / "study.md").read_text()
    assert f"| a | 1.00 (7) | {expected:.2f} (7) |" in text
    assert "Rank agreement with `mlp` alone" in text and "`cnn` alone" in text
