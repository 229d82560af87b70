"""The demo's code path end to end, on digits and one small far-OOD corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from far_ood_recipe import mnist_as_digits
from PIL import Image

from supervisor_testing.data import dataset_info
from supervisor_testing.demo import DEMO_SUPERVISORS, run_demo

FAR_OOD = mnist_as_digits("demo-smoke-far-ood", samples=120)


def _markdown_rows(text: str) -> list[list[str]]:
    """The cells of the Markdown results table, header and separator left out."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def _cell(estimate: dict[str, float]) -> str:
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"


def test_the_demo_writes_its_summary_results_and_grids(tmp_path: Path, monkeypatch) -> None:
    if not dataset_info("mnist").available:
        pytest.skip("MNIST is not installed (make data fetches it)")
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "demo-smoke-far-ood.toml").write_text(FAR_OOD)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(recipes))

    out = tmp_path / "demo"
    summary = run_demo(out, dataset="digits", stress=["demo-smoke-far-ood"])

    payload = json.loads((out / "results.json").read_text())
    assert payload["plan"]["nominal"] == "digits-test"
    assert payload["plan"]["calibration"] == "digits-calibration"
    assert payload["plan"]["supervisors"] == list(DEMO_SUPERVISORS)
    assert 0.5 < payload["model_test_accuracy"] <= 1.0
    results = payload["results"]
    assert [(r["supervisor"], r["stress"]) for r in results] == [
        (name, "demo-smoke-far-ood") for name in DEMO_SUPERVISORS
    ]
    assert all(r["n_stress"] == 120 for r in results)

    markdown = summary.markdown_path.read_text()
    assert summary.markdown_path == out / "demo.md"
    assert f"test accuracy {payload['model_test_accuracy']:.4f}" in markdown
    rows = _markdown_rows(markdown)
    assert len(rows) == len(results)
    for row, result in zip(rows, results, strict=True):
        assert row[:2] == [result["supervisor"], result["stress"]]
        assert row[2:5] == [_cell(result["auroc"]), _cell(result["aupr"]), _cell(result["tpr"])]
        assert float(row[5]) == pytest.approx(result["realised_fpr"], abs=5e-4)
        assert row[6] == f"{result['n_stress']} / {result['n_nominal']}"
    assert summary.table.splitlines()[2].split()[:2] == [DEMO_SUPERVISORS[0], results[0]["stress"]]

    for name in ("digits-test", "demo-smoke-far-ood"):
        grid = out / f"{name}.png"
        assert f"![{name}]({grid.name})" in markdown
        with Image.open(grid) as image:
            assert image.width > 8 and image.height > 8
    assert "diffusion" not in markdown  # the MNIST-only note belongs to the default demo
