"""DetectionResult from scores and from corpora, checked against independent computations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.evaluate import DetectionResult, evaluate, evaluate_scores, score_corpus
from supervisor_testing.supervisors import Supervisor, as_model_input


def _scores(seed: int = 0):
    rng = np.random.default_rng(seed)
    nominal = rng.normal(0.0, 1.0, 400).round(1)  # rounding makes ties
    stress = rng.normal(1.5, 1.0, 300).round(1)
    calibration = rng.normal(0.0, 1.0, 400).round(1)
    return stress, nominal, calibration


def test_point_estimates_match_independent_computation():
    stress, nominal, calibration = _scores()
    result = evaluate_scores(stress, nominal, calibration, fpr=0.05, resamples=200)
    y = np.r_[np.zeros(len(nominal)), np.ones(len(stress))]
    s = np.r_[nominal, stress]
    assert result.auroc.value == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert result.aupr.value == pytest.approx(average_precision_score(y, s), abs=1e-12)
    # the threshold is the smallest calibration score with at most 5% of calibration above it
    candidates = [t for t in np.unique(calibration) if np.mean(calibration > t) <= 0.05]
    assert result.threshold == min(candidates)
    assert result.tpr.value == np.mean(stress > result.threshold)
    assert result.realised_fpr == np.mean(nominal > result.threshold)
    assert result.calibration_fpr <= 0.05
    assert result.tpr_name == "TPR@5%FPR(nominal)"


def test_intervals_bracket_estimates_and_are_seeded():
    stress, nominal, calibration = _scores()
    a = evaluate_scores(stress, nominal, calibration, resamples=300, seed=3)
    b = evaluate_scores(stress, nominal, calibration, resamples=300, seed=3)
    c = evaluate_scores(stress, nominal, calibration, resamples=300, seed=4)
    assert a == b
    assert a.auroc != c.auroc
    for estimate in (a.auroc, a.aupr, a.tpr):
        assert estimate.low <= estimate.value <= estimate.high
        assert estimate.level == 0.95


def test_delong_interval_option():
    stress, nominal, calibration = _scores()
    result = evaluate_scores(stress, nominal, calibration, auroc_ci="delong", resamples=100)
    assert result.auroc.method == "delong"
    assert result.auroc.low < result.auroc.value < result.auroc.high
    with pytest.raises(InvalidInputError, match="auroc_ci"):
        evaluate_scores(stress, nominal, calibration, auroc_ci="wilson")  # type: ignore[arg-type]


def test_without_calibration_nominal_is_split_in_disjoint_halves():
    stress, nominal, _ = _scores()
    result = evaluate_scores(stress, nominal, resamples=100, seed=7)
    assert result.n_calibration + result.n_nominal == len(nominal)
    assert abs(result.n_calibration - result.n_nominal) <= 1
    assert np.isin(result.nominal_scores, nominal).all()


def test_json_round_trip():
    stress, nominal, calibration = _scores()
    result = evaluate_scores(stress, nominal, calibration, supervisor="msp", resamples=100)
    data = json.loads(result.to_json())
    assert data["tpr_name"] == "TPR@5%FPR(nominal)"
    assert "stress_scores" not in data
    assert DetectionResult.from_dict(data) == result


def test_nan_scores_are_refused():
    stress, nominal, calibration = _scores()
    stress[3] = np.nan
    with pytest.raises(InvalidInputError, match="stress"):
        evaluate_scores(stress, nominal, calibration)


class _Brightness(Supervisor):
    """Scores an image by its mean brightness: a transparent supervisor for tests."""

    name = "brightness"

    def score(self, x):
        return as_model_input(x).mean(dim=(1, 2, 3))


class _Broken(Supervisor):
    name = "broken"

    def score(self, x):
        return torch.full((len(x),), float("nan"))


class _WrongShape(Supervisor):
    name = "wrong-shape"

    def score(self, x):
        return torch.zeros(len(x), 2)


def _corpus(tmp_path, name, images):
    from supervisor_testing.corpus import GeneratorInfo, SourceInfo, write_corpus

    n = len(images)
    labels = torch.zeros(n, dtype=torch.int64)
    probs = torch.zeros(n, 2)
    probs[:, 0] = 1
    return write_corpus(
        tmp_path / name,
        {
            "images": images,
            "labels": labels,
            "label_probs": probs,
            "source_index": torch.arange(n),
        },
        name=name,
        kind="nominal",
        class_names=("a", "b"),
        generator=GeneratorInfo(name="test", version="1", params={}, seed=0),
        source=SourceInfo(dataset="synthetic", split="test", sha256="0" * 64),
    )


@pytest.fixture
def corpora(tmp_path):
    g = torch.Generator().manual_seed(0)
    dark = torch.randint(0, 120, (300, 1, 4, 4), generator=g, dtype=torch.uint8)
    bright = torch.randint(80, 256, (200, 1, 4, 4), generator=g, dtype=torch.uint8)
    return _corpus(tmp_path, "dark", dark), _corpus(tmp_path, "bright", bright)


def test_evaluate_streams_corpora(corpora):
    nominal, stress = corpora
    supervisor = _Brightness(torch.nn.Identity())
    result = evaluate(supervisor, stress, nominal, resamples=100, batch_size=64)
    expected_stress = stress.load()["images"].float().div(255).mean(dim=(1, 2, 3)).numpy()
    np.testing.assert_allclose(np.sort(result.stress_scores), np.sort(expected_stress), rtol=1e-6)
    assert result.supervisor == "brightness" and result.stress == "bright"
    assert result.auroc.value > 0.9


def test_bad_supervisor_output_is_a_clear_error(corpora):
    _, stress = corpora
    with pytest.raises(InvalidInputError, match=r"'broken' output on .* NaN"):
        score_corpus(_Broken(torch.nn.Identity()), stress)
    with pytest.raises(InvalidInputError, match="one score per input"):
        score_corpus(_WrongShape(torch.nn.Identity()), stress)


def test_score_corpus_on_chosen_indices(corpora):
    _, stress = corpora
    supervisor = _Brightness(torch.nn.Identity())
    everything = score_corpus(supervisor, stress, batch_size=64)
    chosen = np.array([150, 3, 64, 63, 199, 3])  # unsorted, duplicated, across batches
    picked = score_corpus(supervisor, stress, indices=chosen, batch_size=64)
    np.testing.assert_array_equal(picked, everything[[3, 63, 64, 150, 199]])
