"""Detection metrics against scikit-learn, brute force and direct textbook formulas."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from supervisor_testing import metrics
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.metrics import (
    Interval,
    TprAtFpr,
    aupr,
    auroc,
    auroc_bootstrap,
    bootstrap_interval,
    delong_interval,
    delong_variance,
    metric_name_tpr,
    roc_curve,
    threshold_at_fpr,
    tpr_at_fpr,
)

small_int_scores = st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=40)


def _labelled(nominal: np.ndarray, stress: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.concatenate([np.zeros(len(nominal)), np.ones(len(stress))])
    return labels, np.concatenate([nominal, stress]).astype(np.float64)


def _tied(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, n).astype(float), rng.integers(1, 5, m).astype(float)


def _continuous(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, n), rng.normal(0.8, 1.3, m)


SAMPLES = [
    pytest.param(*_tied(0, 500, 300), id="tied-500-300"),
    pytest.param(*_tied(1, 7, 2000), id="tied-7-2000"),
    pytest.param(*_tied(2, 1, 1), id="tied-1-1"),
    pytest.param(*_continuous(3, 1000, 1000), id="continuous-1000-1000"),
    pytest.param(*_continuous(4, 13, 400), id="continuous-13-400"),
]


# --- agreement with scikit-learn -------------------------------------------------------


@pytest.mark.parametrize(("nominal", "stress"), SAMPLES)
def test_auroc_equals_sklearn(nominal: np.ndarray, stress: np.ndarray) -> None:
    labels, scores = _labelled(nominal, stress)
    assert auroc(nominal, stress) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize(("nominal", "stress"), SAMPLES)
def test_aupr_equals_sklearn(nominal: np.ndarray, stress: np.ndarray) -> None:
    labels, scores = _labelled(nominal, stress)
    expected = sk.average_precision_score(labels, scores)
    assert aupr(nominal, stress) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("nominal", "stress"), SAMPLES)
def test_roc_curve_equals_sklearn(nominal: np.ndarray, stress: np.ndarray) -> None:
    labels, scores = _labelled(nominal, stress)
    expected = sk.roc_curve(labels, scores, drop_intermediate=False)
    for ours, theirs in zip(roc_curve(nominal, stress), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(nominal=small_int_scores, stress=small_int_scores)
def test_auroc_and_aupr_equal_sklearn_on_any_small_integer_scores(
    nominal: list[int], stress: list[int]
) -> None:
    labels, scores = _labelled(np.array(nominal), np.array(stress))
    assert auroc(nominal, stress) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    expected_ap = sk.average_precision_score(labels, scores)
    assert aupr(nominal, stress) == pytest.approx(expected_ap, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(nominal=small_int_scores, stress=small_int_scores)
def test_auroc_is_antisymmetric(nominal: list[int], stress: list[int]) -> None:
    assert auroc(nominal, stress) == pytest.approx(1.0 - auroc(stress, nominal), abs=1e-15)


def test_auroc_counts_ties_as_one_half() -> None:
    assert auroc([1.0, 1.0], [1.0, 1.0, 1.0]) == 0.5
    assert auroc([0.0, 1.0], [1.0, 2.0]) == (0.5 + 1 + 1 + 1) / 4
    assert auroc([0.0], [1.0]) == 1.0
    assert auroc([1.0], [0.0]) == 0.0


def test_accepts_tensors_lists_and_integer_arrays_alike() -> None:
    nominal, stress = _continuous(5, 50, 60)
    expected = auroc(nominal, stress)
    assert auroc(torch.tensor(nominal, dtype=torch.float64), torch.tensor(stress)) == expected
    assert auroc(list(nominal), tuple(stress)) == expected
    tied_nominal, tied_stress = _tied(6, 30, 30)
    assert auroc(tied_nominal.astype(np.int32), torch.tensor(tied_stress, dtype=torch.int64)) == (
        auroc(tied_nominal, tied_stress)
    )
    # bfloat16 has no numpy dtype, so it exercises the tensor conversion path.
    assert auroc(torch.tensor([0.0, 1.0], dtype=torch.bfloat16), [2.0]) == 1.0


# --- thresholds and TPR at a nominal FPR ------------------------------------------------


def _brute_force_threshold(calibration: list[float], fpr: float) -> float:
    n = len(calibration)
    qualifying = [t for t in calibration if sum(s > t for s in calibration) / n <= fpr]
    return min(qualifying)


@settings(max_examples=200, deadline=None)
@given(
    calibration=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=30),
    fpr=st.floats(min_value=0.001, max_value=0.999),
)
def test_threshold_is_the_smallest_calibration_score_within_fpr(
    calibration: list[int], fpr: float
) -> None:
    threshold = threshold_at_fpr(calibration, fpr=fpr)
    scores = np.array(calibration, dtype=float)
    assert threshold in scores
    assert np.mean(scores > threshold) <= fpr
    assert threshold == _brute_force_threshold([float(s) for s in calibration], fpr)


def test_threshold_is_not_fooled_by_float_noise_in_fpr_times_n() -> None:
    # 0.29 * 100 == 28.999999999999996, but 29 of 100 above is exactly a 0.29 fraction.
    calibration = np.arange(100, dtype=float)
    assert threshold_at_fpr(calibration, fpr=0.29) == 70.0
    assert threshold_at_fpr(calibration, fpr=0.05) == 94.0


def test_threshold_below_resolution_is_the_maximum() -> None:
    assert threshold_at_fpr([3.0, 1.0, 2.0], fpr=0.1) == 3.0


def test_tied_calibration_scores_never_push_fpr_over_target() -> None:
    calibration = [0.0] * 90 + [5.0] * 10
    threshold = threshold_at_fpr(calibration, fpr=0.05)
    assert threshold == 5.0  # 0.0 would put 10% above it


def test_tpr_at_fpr_reports_the_realised_rates() -> None:
    rng = np.random.default_rng(7)
    calibration = rng.normal(size=400)
    nominal = rng.normal(size=300)
    stress = rng.normal(1.5, size=200)
    result = tpr_at_fpr(stress, nominal, calibration, fpr=0.1)

    threshold = _brute_force_threshold(list(calibration), 0.1)
    assert result == TprAtFpr(
        tpr=sum(s > threshold for s in stress) / 200,
        threshold=threshold,
        target_fpr=0.1,
        realised_fpr=sum(s > threshold for s in nominal) / 300,
        calibration_fpr=sum(s > threshold for s in calibration) / 400,
    )
    assert result.calibration_fpr <= 0.1
    assert result.realised_fpr != result.calibration_fpr  # a different split, a different rate


@pytest.mark.parametrize("fpr", [0.0, 1.0, -0.1, 1.5, math.nan, True, "0.05"])
def test_fpr_outside_the_open_unit_interval_is_rejected(fpr: object) -> None:
    with pytest.raises(InvalidInputError, match="fpr"):
        threshold_at_fpr([1.0, 2.0], fpr=fpr)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="fpr"):
        tpr_at_fpr([1.0], [1.0], [1.0], fpr=fpr)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fpr", "name"),
    [
        (0.05, "TPR@5%FPR(nominal)"),
        (0.005, "TPR@0.5%FPR(nominal)"),
        (0.01, "TPR@1%FPR(nominal)"),
        (0.1, "TPR@10%FPR(nominal)"),
        (0.29, "TPR@29%FPR(nominal)"),
        (0.001, "TPR@0.1%FPR(nominal)"),
        (1e-5, "TPR@0.001%FPR(nominal)"),
        (0.123, "TPR@12.3%FPR(nominal)"),
    ],
)
def test_metric_name_has_no_float_noise(fpr: float, name: str) -> None:
    assert metric_name_tpr(fpr) == name


# --- bootstrap intervals ----------------------------------------------------------------


def _auroc_generic(nominal: np.ndarray, stress: np.ndarray) -> float:
    # A wrapper so bootstrap_interval takes its generic path rather than the fast one.
    return auroc(nominal, stress)


def test_bootstrap_is_reproducible_per_seed_and_contains_the_estimate() -> None:
    nominal, stress = _continuous(8, 300, 250)
    first = bootstrap_interval(_auroc_generic, nominal, stress, resamples=300, seed=1)
    again = bootstrap_interval(_auroc_generic, nominal, stress, resamples=300, seed=1)
    other = bootstrap_interval(_auroc_generic, nominal, stress, resamples=300, seed=2)
    assert first == again
    assert first != other
    assert first.method == "bootstrap"
    assert first.level == 0.95
    assert first.low < auroc(nominal, stress) < first.high
    assert 0.0 <= first.low < first.high <= 1.0


def test_bootstrap_resamples_each_sample_separately_with_replacement() -> None:
    seen: list[tuple[int, ...]] = []

    def record(*drawn: np.ndarray) -> float:
        seen.append(tuple(len(a) for a in drawn))
        assert set(drawn[0]) <= {0.0, 1.0, 2.0}
        assert set(drawn[1]) <= {10.0, 11.0}
        return 0.0

    bootstrap_interval(record, [0.0, 1.0, 2.0], [10.0, 11.0], [5.0] * 4, resamples=20)
    assert seen == [(3, 2, 4)] * 20


def test_bootstrap_percentiles_match_numpy_on_the_recorded_statistics() -> None:
    values: list[float] = []

    def mean(sample: np.ndarray) -> float:
        values.append(float(sample.mean()))
        return values[-1]

    interval = bootstrap_interval(mean, np.arange(50.0), level=0.9, resamples=200, seed=3)
    assert (interval.low, interval.high) == tuple(np.quantile(values, [0.05, 0.95]))


@pytest.mark.parametrize(("nominal", "stress"), SAMPLES)
def test_vectorised_auroc_bootstrap_equals_the_generic_path(
    nominal: np.ndarray, stress: np.ndarray
) -> None:
    for seed in (0, 11):
        generic = bootstrap_interval(
            _auroc_generic, nominal, stress, level=0.9, resamples=200, seed=seed
        )
        assert auroc_bootstrap(nominal, stress, level=0.9, resamples=200, seed=seed) == generic
        assert bootstrap_interval(auroc, nominal, stress, level=0.9, resamples=200, seed=seed) == (
            generic
        )


def test_vectorised_bootstrap_is_chunk_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    nominal, stress = _tied(9, 120, 80)
    whole = auroc_bootstrap(nominal, stress, resamples=50, seed=4)
    monkeypatch.setattr(metrics, "_BOOTSTRAP_CHUNK_CELLS", 700)  # several resamples per chunk
    assert auroc_bootstrap(nominal, stress, resamples=50, seed=4) == whole
    monkeypatch.setattr(metrics, "_BOOTSTRAP_CHUNK_CELLS", 1)  # one resample per chunk
    assert auroc_bootstrap(nominal, stress, resamples=50, seed=4) == whole


def test_bootstrap_of_tpr_at_fpr_resamples_the_calibration_split_too() -> None:
    rng = np.random.default_rng(10)
    stress, nominal, calibration = (
        rng.normal(1, size=200),
        rng.normal(size=200),
        rng.normal(size=200),
    )

    def tpr(s: np.ndarray, n: np.ndarray, c: np.ndarray) -> float:
        return tpr_at_fpr(s, n, c, fpr=0.05).tpr

    interval = bootstrap_interval(tpr, stress, nominal, calibration, resamples=200, seed=0)
    assert interval == bootstrap_interval(tpr, stress, nominal, calibration, resamples=200)
    assert interval.low <= tpr(stress, nominal, calibration) <= interval.high


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"level": 1.0}, "level"),
        ({"level": 0}, "level"),
        ({"resamples": 0}, "resamples"),
        ({"resamples": 10.5}, "resamples"),
    ],
)
def test_bootstrap_options_are_validated(options: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        bootstrap_interval(_auroc_generic, [1.0, 2.0], [3.0], **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=message):
        auroc_bootstrap([1.0, 2.0], [3.0], **options)  # type: ignore[arg-type]


def test_bootstrap_needs_a_sample() -> None:
    with pytest.raises(InvalidInputError, match="at least one sample"):
        bootstrap_interval(_auroc_generic)


# --- DeLong -----------------------------------------------------------------------------


def _naive_delong_variance(nominal: np.ndarray, stress: np.ndarray) -> float:
    """DeLong et al. (1988) structural components from the full n x m kernel table."""
    kernel = (stress[None, :] > nominal[:, None]) + 0.5 * (stress[None, :] == nominal[:, None])
    stress_components = kernel.mean(axis=0)  # V10: one per stress score
    nominal_components = kernel.mean(axis=1)  # V01: one per nominal score
    s10 = np.sum((stress_components - stress_components.mean()) ** 2) / (len(stress) - 1)
    s01 = np.sum((nominal_components - nominal_components.mean()) ** 2) / (len(nominal) - 1)
    return s10 / len(stress) + s01 / len(nominal)


@pytest.mark.parametrize(("nominal", "stress"), [p for p in SAMPLES if "1-1" not in str(p.id)])
def test_delong_variance_equals_the_direct_formula(nominal: np.ndarray, stress: np.ndarray) -> None:
    expected = _naive_delong_variance(nominal, stress)
    assert delong_variance(nominal, stress) == pytest.approx(expected, rel=1e-10, abs=1e-15)


def test_delong_interval_is_centred_on_the_estimate_and_clipped() -> None:
    nominal, stress = _continuous(12, 200, 150)
    estimate = auroc(nominal, stress)
    interval = delong_interval(nominal, stress, level=0.9)
    half_width = 1.6448536269514722 * math.sqrt(_naive_delong_variance(nominal, stress))
    assert interval.method == "delong"
    assert interval.level == 0.9
    assert interval.low == pytest.approx(estimate - half_width, abs=1e-12)
    assert interval.high == pytest.approx(estimate + half_width, abs=1e-12)

    nearly_separated = delong_interval([0.0, 1.0, 2.0, 3.0], [2.5, 4.0, 5.0, 6.0])
    assert nearly_separated.high == 1.0
    assert isinstance(nearly_separated.low, float)


def test_delong_needs_two_scores_per_sample() -> None:
    with pytest.raises(InvalidInputError, match="at least 2"):
        delong_variance([1.0], [2.0, 3.0])


# --- invalid input ----------------------------------------------------------------------

BAD_SCORES = [
    pytest.param([0.1, math.nan, math.nan, math.nan], "3 NaN values", id="nan"),
    pytest.param([0.1, math.inf], "1 infinite values", id="inf"),
    pytest.param(torch.tensor([math.nan, -math.inf]), "1 NaN values and 1 infinite", id="tensor"),
    pytest.param([], "empty", id="empty"),
    pytest.param(np.zeros((3, 2)), r"1-d .*\(3, 2\)", id="2-d"),
    pytest.param(np.float64(1.0), "1-d", id="0-d"),
    pytest.param(["a", "b"], "real numbers", id="strings"),
    pytest.param([1.0, None], "real numbers", id="none"),
    pytest.param([[1.0], [2.0, 3.0]], "could not be read", id="ragged"),
]


@pytest.mark.parametrize(("bad", "problem"), BAD_SCORES)
def test_bad_scores_raise_naming_the_argument(bad: object, problem: str) -> None:
    good = [0.0, 1.0]
    with pytest.raises(InvalidInputError, match=f"^stress scores .*{problem}"):
        auroc(good, bad)
    with pytest.raises(InvalidInputError, match=f"^nominal scores .*{problem}"):
        aupr(bad, good)
    with pytest.raises(InvalidInputError, match=f"^nominal scores .*{problem}"):
        roc_curve(bad, good)
    with pytest.raises(InvalidInputError, match=f"^calibration scores .*{problem}"):
        tpr_at_fpr(good, good, bad)
    with pytest.raises(InvalidInputError, match=f"^calibration scores .*{problem}"):
        threshold_at_fpr(bad, fpr=0.05)
    with pytest.raises(InvalidInputError, match=f"^stress scores .*{problem}"):
        delong_interval(good, bad)
    with pytest.raises(InvalidInputError, match=rf"^samples\[1\] scores .*{problem}"):
        bootstrap_interval(_auroc_generic, good, bad)
    with pytest.raises(InvalidInputError, match=rf"^samples\[1\] scores .*{problem}"):
        auroc_bootstrap(good, bad)


def test_nan_message_says_what_to_do() -> None:
    with pytest.raises(InvalidInputError) as caught:
        auroc([0.0], [math.nan] * 3)
    assert str(caught.value) == (
        "stress scores contain 3 NaN values; a supervisor must return finite scores"
    )


def test_interval_and_result_are_frozen() -> None:
    interval = Interval(low=0.1, high=0.2, level=0.95, method="delong")
    with pytest.raises(AttributeError):
        interval.low = 0.0  # type: ignore[misc]
    result = tpr_at_fpr([1.0], [0.0], [0.0, 0.5], fpr=0.5)
    with pytest.raises(AttributeError):
        result.tpr = 0.0  # type: ignore[misc]


def test_docstring_examples_run() -> None:
    failures, attempted = doctest.testmod(metrics)
    assert attempted > 0
    assert failures == 0
