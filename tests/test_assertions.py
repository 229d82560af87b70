"""Assertions on DetectionResult: the bound they compare and the evidence they print."""

from __future__ import annotations

import numpy as np
import pytest

from supervisor_testing.assertions import (
    SupervisionAssertionError,
    default_bound,
    set_default_bound,
)
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.evaluate import DetectionResult, evaluate_scores


@pytest.fixture(scope="module")
def result() -> DetectionResult:
    rng = np.random.default_rng(0)
    return evaluate_scores(
        rng.normal(1.5, 1.0, 300),
        rng.normal(0.0, 1.0, 400),
        rng.normal(0.0, 1.0, 400),
        supervisor="toy",
        stress="shifted",
        nominal="standard",
        resamples=300,
    )


def test_requirements_compare_the_lower_bound_by_default(result: DetectionResult) -> None:
    between = (result.auroc.low + result.auroc.value) / 2
    with pytest.raises(SupervisionAssertionError):
        result.assert_auroc(min=between)
    assert result.assert_auroc(min=between, bound="value") is result
    assert result.assert_auroc(min=result.auroc.low) is result  # a bound equal to the bar holds
    tpr_between = (result.tpr.low + result.tpr.value) / 2
    with pytest.raises(SupervisionAssertionError):
        result.assert_detects(min_tpr=tpr_between, at_fpr=0.05)
    result.assert_detects(min_tpr=tpr_between, bound="value").assert_aupr(min=0.0)


def test_a_failure_shows_estimate_interval_threshold_fpr_and_corpora(
    result: DetectionResult,
) -> None:
    with pytest.raises(SupervisionAssertionError) as failure:
        result.assert_detects(at_fpr=0.05, min_tpr=0.99)
    lines = str(failure.value).splitlines()
    assert lines[0] == (
        f"toy misses 'shifted': TPR@5%FPR(nominal) lower 95% bound {result.tpr.low:.4f} "
        "< required 0.9900"
    )
    assert lines[2] == (
        f"  TPR@5%FPR(nominal): point estimate {result.tpr.value:.4f}, 95% bootstrap interval "
        f"[{result.tpr.low:.4f}, {result.tpr.high:.4f}]"
    )
    assert lines[3].startswith(
        f"  threshold: alarm when score > {result.threshold:.6g}, set on 400"
    )
    assert lines[4] == (
        f"  realised FPR: {result.realised_fpr:.4f} on 400 nominal test inputs (target 0.05)"
    )
    assert lines[5] == "  corpus: stress 'shifted' (300 inputs) against nominal 'standard'"


def test_the_session_default_bound_can_be_changed_and_restored(result: DetectionResult) -> None:
    between = (result.auroc.low + result.auroc.value) / 2
    previous = set_default_bound("value")
    try:
        assert default_bound() == "value"
        result.assert_auroc(min=between)
    finally:
        assert set_default_bound(previous) == "value"
    assert default_bound() == "low"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.assert_detects(min_tpr=0.5, at_fpr=0.01), "evaluate with fpr=0.01"),
        (lambda r: r.assert_detects(min_tpr=1.5), "min_tpr must be a number in [0, 1]"),
        (lambda r: r.assert_auroc(min=0.5, bound="median"), "bound must be one of"),
        (lambda r: set_default_bound("lowest"), "bound must be one of"),
    ],
)
def test_bad_arguments_are_input_errors(result: DetectionResult, call, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[")):
        call(result)
