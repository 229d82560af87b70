"""Metamorphic properties: each passes a correct supervisor and catches a broken one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from broken_supervisors import (
    BatchNormInTrainMode,
    PixelTemplate,
    ReadsBytesAsFloats,
    UnseededMCDropout,
    WrongSign,
    identity_batch_norm,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from generators.ambiguous import AmbiguousGenerator
from generators.corruptions import corrupt
from supervisor_testing import create_supervisor
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.properties import (
    PropertyViolation,
    assert_ambiguity_ordering,
    assert_batch_invariant,
    assert_deterministic,
    assert_dtype_invariant,
    assert_severity_monotone,
    assert_translation_invariant,
    check_ambiguity_ordering,
    check_batch_invariant,
    check_deterministic,
    check_dtype_invariant,
    check_severity_monotone,
    check_translation_invariant,
    shift_one_pixel,
)
from supervisor_testing.strategies import ambiguous, batches, nominal
from supervisor_testing.supervisors import Supervisor

REPO = Path(__file__).resolve().parents[1]

# Pair models small enough to train in about a second (as in test_ambiguous.py): relaxed
# acceptance, and a wide label band because such models label the band loosely.
FAST_PAIRS = {
    "pairs": [[3, 5], [4, 9]],
    "epochs": 25,
    "batch_size": 64,
    "max_tries": 1,
    "disc_accuracy_range": [0.0, 1.0],
    "min_class_accuracy": 0.0,
    "max_label_diff": 0.9,
}

# Scoring is slow next to hypothesis's 200 ms default deadline on a loaded machine.
DRAWS = settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Single images through tiny models: a second thread only adds waiting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def msp(mlp: nn.Module) -> Supervisor:
    return create_supervisor("max-softmax", mlp)


@pytest.fixture(scope="session")
def batch_norm_model(digits_train: Dataset, mlp: nn.Module) -> nn.Module:
    return nn.Sequential(identity_batch_norm(digits_train), mlp).eval()


# -- severity monotonicity ----------------------------------------------------------------


def test_severity_monotone_holds_for_msp_and_catches_a_wrong_sign(msp, mlp, digits_test):
    result = assert_severity_monotone(msp, digits_test, corruption="fog")
    assert result.holds and result.samples == 64
    assert len(result.details["comparisons"]) == 10  # every pair of the five levels
    with pytest.raises(PropertyViolation, match="severity monotonicity violated for fog"):
        assert_severity_monotone(WrongSign(mlp), digits_test, corruption="fog")


def test_severity_statistic_matches_an_independent_computation(msp, digits_test):
    result = check_severity_monotone(
        msp, digits_test, corruption="contrast", severities=(1, 4), samples=None, seed=3
    )
    low, high = (
        msp.score(corrupt(digits_test.images, "contrast", severity=s, seed=3)).double().numpy()
        for s in (1, 4)
    )
    pooled = np.sqrt((low.var(ddof=1) + high.var(ddof=1)) / 2)
    assert result.statistic == pytest.approx(((high - low) / pooled).mean(), rel=1e-6)
    assert result.samples == len(digits_test)


def test_a_drop_within_tolerance_is_not_a_violation(mlp, digits_test):
    # A wrong-sign supervisor drops by about 1.7 SDs on fog: a tolerance of 3 SDs allows it.
    result = check_severity_monotone(WrongSign(mlp), digits_test, corruption="fog", tolerance=3.0)
    assert result.holds and -3.0 < result.statistic < -0.5


def test_hypothesis_form_of_severity_monotonicity(msp, digits_test):
    @DRAWS
    @given(
        batch=batches(nominal(digits_test, model=msp), size=(48, 64)),
        severity=st.integers(2, 5),
    )
    def severity_does_not_lower_the_score(batch, severity):
        assert_severity_monotone(msp, batch, corruption="fog", severities=(1, severity))

    severity_does_not_lower_the_score()


# -- ambiguity ordering -------------------------------------------------------------------


@pytest.fixture(scope="session")
def ambiguous_corpus(tmp_path_factory, digits_train):
    generator = AmbiguousGenerator(**FAST_PAIRS)
    path = tmp_path_factory.mktemp("ambiguous") / "digits-ambiguous"
    return generator.build(digits_train, path, seed=0, num_samples=64)


def test_ambiguity_ordering_holds_for_msp_and_catches_a_wrong_sign(
    msp, mlp, ambiguous_corpus, digits_test
):
    result = assert_ambiguity_ordering(msp, ambiguous_corpus, digits_test)
    pair_classes = {3, 4, 5, 9}
    assert result.details["nominal"] == sum(int(c) in pair_classes for c in digits_test.labels)
    with pytest.raises(PropertyViolation, match="ambiguity ordering violated"):
        assert_ambiguity_ordering(WrongSign(mlp), ambiguous_corpus, digits_test)


def test_ambiguity_auroc_matches_sklearn(msp, ambiguous_corpus, digits_test):
    from sklearn.metrics import roc_auc_score

    result = check_ambiguity_ordering(msp, ambiguous_corpus, digits_test)
    keep = torch.isin(digits_test.labels, torch.tensor([3, 4, 5, 9]))
    amb = msp.score(ambiguous_corpus.load(["images"])["images"]).numpy()
    nom = msp.score(digits_test.images[keep]).numpy()
    expected = roc_auc_score(np.r_[np.zeros(len(nom)), np.ones(len(amb))], np.r_[nom, amb])
    assert result.statistic == pytest.approx(expected, abs=1e-12)


def test_hypothesis_form_of_ambiguity_ordering(msp, digits_train, digits_test):
    pairs = ambiguous(AmbiguousGenerator(**FAST_PAIRS), source=digits_train, model=msp)

    @DRAWS
    @given(batch=batches(pairs, size=(24, 32)))
    def ambiguous_inputs_score_higher(batch):
        assert {s.params["pair"] for s in batch} <= {(3, 5), (4, 9)}
        assert_ambiguity_ordering(msp, batch, digits_test)

    ambiguous_inputs_score_higher()


# -- invariance ---------------------------------------------------------------------------


def test_batch_invariance_catches_batch_norm_in_train_mode(batch_norm_model, digits_test):
    correct = create_supervisor("max-logit", batch_norm_model)
    assert_batch_invariant(correct, digits_test)
    with pytest.raises(PropertyViolation, match="batch invariance violated"):
        assert_batch_invariant(BatchNormInTrainMode(batch_norm_model), digits_test)


def test_hypothesis_form_of_batch_invariance(batch_norm_model, digits_test):
    correct = create_supervisor("max-logit", batch_norm_model)
    broken = BatchNormInTrainMode(batch_norm_model)

    @DRAWS
    @given(batch=batches(nominal(digits_test), size=(1, 8)))
    def scores_ignore_the_batch(batch):
        assert_batch_invariant(correct, batch)
        # Even one image is caught: the property adds companions of its own.
        assert not check_batch_invariant(broken, batch).holds

    scores_ignore_the_batch()


def test_dtype_invariance_catches_unscaled_bytes(msp, mlp, digits_test):
    result = assert_dtype_invariant(msp, digits_test)
    assert result.details["float32"]["rms"] == 0.0  # k / 255 is the same either way
    assert 0 < result.details["float16"]["rms"] < 1e-2
    with pytest.raises(PropertyViolation, match="dtype invariance violated"):
        assert_dtype_invariant(ReadsBytesAsFloats(mlp), digits_test)


def test_translation_invariance_catches_a_position_bound_score(msp, mlp, digits_train, digits_test):
    result = assert_translation_invariant(msp, digits_test)
    assert abs(result.statistic) < 0.5
    template = digits_train.images.float().div(255).mean(0)
    with pytest.raises(PropertyViolation, match="translation invariance violated"):
        assert_translation_invariant(PixelTemplate(mlp, template), digits_test)


def test_one_pixel_shift_moves_each_image_by_one_pixel_and_depends_on_its_key_only():
    images = torch.zeros(6, 1, 8, 8, dtype=torch.uint8)
    images[:, :, 3:5, 3:5] = 200
    shifted = shift_one_pixel(images, seed=1, indices=torch.arange(6))
    for before, after in zip(images, shifted, strict=True):
        moves = [
            torch.equal(torch.roll(before, shifts=s, dims=d), after)
            for s in (-1, 1)
            for d in (1, 2)
        ]
        assert sum(moves) == 1  # the blob stays clear of the border, so roll == shift
    alone = shift_one_pixel(images[4:5], seed=1, indices=torch.tensor([4]))
    assert torch.equal(alone[0], shifted[4])


# -- determinism --------------------------------------------------------------------------


def test_determinism_catches_an_unseeded_sampler(mlp, digits_test):
    seeded = create_supervisor("mc-dropout-mean-softmax", mlp, samples=20)
    assert_deterministic(seeded, digits_test)
    with pytest.raises(PropertyViolation, match="determinism violated"):
        assert_deterministic(UnseededMCDropout(mlp), digits_test)


def test_hypothesis_form_of_determinism(mlp, digits_test):
    broken = UnseededMCDropout(mlp)

    @DRAWS
    @given(batch=batches(nominal(digits_test), size=(4, 16)))
    def same_input_same_score(batch):
        assert_deterministic(create_supervisor("max-softmax", mlp), batch)
        assert not check_deterministic(broken, batch).holds

    same_input_same_score()


# -- bad input ----------------------------------------------------------------------------


def test_properties_refuse_images_the_model_cannot_read(msp):
    wrong = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    for check in (check_batch_invariant, check_deterministic, check_dtype_invariant):
        with pytest.raises(InvalidInputError, match=r"cannot read .*\(1, 16, 16\)"):
            check(msp, wrong)
    with pytest.raises(InvalidInputError, match="cannot read"):
        check_severity_monotone(msp, wrong, corruption="fog")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"severities": (3,)}, "at least two severities"),
        ({"severities": (0, 2)}, "outside 1..5"),
        ({"alpha": 1.5}, "alpha must lie in"),
        ({"tolerance": -1}, "tolerance must be"),
        ({"samples": 0}, "samples must be a positive int"),
    ],
)
def test_severity_options_are_checked(msp, digits_test, options, message):
    with pytest.raises(InvalidInputError, match=message):
        check_severity_monotone(msp, digits_test, corruption="fog", **options)


def test_properties_refuse_no_inputs(msp):
    with pytest.raises(InvalidInputError, match="holds no images"):
        check_translation_invariant(msp, torch.zeros(0, 1, 8, 8, dtype=torch.uint8))


def test_determinism_needs_two_scorings(msp, digits_test):
    with pytest.raises(InvalidInputError, match="repeats must be an int >= 2"):
        check_deterministic(msp, digits_test, repeats=1)


# -- README -------------------------------------------------------------------------------


def _readme_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Property-based testing", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the README's property-based testing section holds one example"
    return blocks[0]


def test_readme_property_based_testing_example_runs():
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(_readme_section(), "README.md", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert len(tests) >= 2
    for test in tests:
        test()
