"""Baselines: the stored record, refusals across models and corpora, regressions, model hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from supervisor_testing._version import __version__
from supervisor_testing.baselines import (
    BaselineStore,
    Provenance,
    find_regressions,
    parse_tolerances,
)
from supervisor_testing.errors import BaselineMismatchError, InvalidInputError
from supervisor_testing.evaluate import DetectionResult, evaluate_scores
from supervisor_testing.models import model_sha256

PROVENANCE = Provenance("a" * 64, "b" * 64, "c" * 64, None, seed=0)


def make_result(shift: float = 1.5, fpr: float = 0.05) -> DetectionResult:
    rng = np.random.default_rng(0)
    return evaluate_scores(
        rng.normal(shift, 1.0, 200),
        rng.normal(0.0, 1.0, 300),
        supervisor="toy",
        stress="shifted",
        nominal="standard",
        fpr=fpr,
        resamples=100,
    )


def test_parse_tolerances() -> None:
    assert parse_tolerances("auroc:0.02, tpr:0.05") == {"auroc": 0.02, "tpr": 0.05}
    assert parse_tolerances(["auroc:0.02", "AUPR:0"]) == {"auroc": 0.02, "aupr": 0.0}
    for bad in ("auroc", "auroc:x", "fpr:0.1", "auroc:-0.1", "auroc:inf", ""):
        with pytest.raises(InvalidInputError, match=r"auroc:0\.02"):
            parse_tolerances(bad)


def test_a_saved_baseline_reads_back_with_its_provenance(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    result = make_result()
    path = store.save(result, PROVENANCE)
    assert path == tmp_path / ("a" * 16) / "toy--shifted--standard.json"
    assert path.stat().st_mode & 0o777 == 0o644
    record = json.loads(path.read_text())
    assert record["created_by"] == f"supervisor-testing {__version__}"
    assert record["provenance"]["model_sha256"] == "a" * 64
    assert record["result"]["threshold"] == result.threshold
    assert "stress_scores" not in record["result"]
    baseline = store.load(result, PROVENANCE)
    assert baseline is not None and baseline.result == result and baseline.provenance == PROVENANCE
    comparison = store.compare(make_result(shift=1.0), PROVENANCE)
    assert comparison is not None
    worse = make_result(shift=1.0)
    assert comparison.changes["auroc"] == pytest.approx(worse.auroc.value - result.auroc.value)
    assert comparison.changes["auroc"] < 0


def test_a_baseline_of_another_model_corpus_or_fpr_is_refused(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    result = make_result()
    assert store.load(result, PROVENANCE) is None  # none recorded: missing, not refused
    store.save(result, PROVENANCE)
    with pytest.raises(BaselineMismatchError, match="recorded for model aaaaaaaaaaaaaaaa"):
        store.load(result, replace(PROVENANCE, model_sha256="d" * 64))
    with pytest.raises(BaselineMismatchError, match="stress corpus sha256 bbbbbbbbbbbb then"):
        store.load(result, replace(PROVENANCE, stress_sha256="e" * 64))
    with pytest.raises(BaselineMismatchError, match="calibration corpus"):
        store.load(result, replace(PROVENANCE, calibration_sha256="f" * 64))
    with pytest.raises(BaselineMismatchError, match=r"nominal FPR 0\.05 then, 0\.1 now"):
        store.load(make_result(fpr=0.1), PROVENANCE)


def test_a_corrupt_baseline_file_is_a_clear_error(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    path = store.save(make_result(), PROVENANCE)
    path.write_text('{\n  "format": \n')
    with pytest.raises(InvalidInputError, match=rf"{path}:3: baseline is not valid JSON"):
        store.load(make_result(), PROVENANCE)


def test_regressions_beyond_the_tolerance() -> None:
    result = make_result()
    changes = {"auroc": -0.03, "aupr": 0.0, "tpr": -0.02}
    assert find_regressions(result, changes, {"auroc": 0.05, "tpr": 0.02}) == []
    [line] = find_regressions(result, changes, {"auroc": 0.02, "tpr": 0.02})
    assert line.startswith("auroc dropped by 0.0300 (baseline ")
    assert line.endswith(f"now {result.auroc.value:.4f}), more than the tolerated 0.02")


def test_model_hash_depends_on_the_weights_only() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    copy = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    copy.load_state_dict(model.state_dict())
    assert model_sha256(model) == model_sha256(copy)
    assert model_sha256(model.to(torch.float64)) != model_sha256(copy)  # dtype is content
    model = model.to(torch.float32)
    assert model_sha256(model) == model_sha256(copy)
    with torch.no_grad():
        copy[0].weight[0, 0] += 1e-6
    assert model_sha256(model) != model_sha256(copy)
    # Independent of the order the entries were registered in.
    a, b = nn.Module(), nn.Module()
    a.register_buffer("x", torch.ones(2))
    a.register_buffer("y", torch.zeros(3, dtype=torch.bfloat16))
    b.register_buffer("y", torch.zeros(3, dtype=torch.bfloat16))
    b.register_buffer("x", torch.ones(2))
    assert model_sha256(a) == model_sha256(b)
    assert len(model_sha256(a)) == 64 and model_sha256(a) != hashlib.sha256().hexdigest()
