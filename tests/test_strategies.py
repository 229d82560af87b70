"""hypothesis strategies: draws replay the generators exactly, shrink to the simplest
failing input, and bad input fails when a strategy is built."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest
import torch
from broken_supervisors import BatchNormInTrainMode, WrongSign
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from torch import nn

from generators.adversarial import create_attack, minimal_epsilons
from generators.ambiguous import AmbiguousGenerator
from generators.corruptions import CorruptionGenerator, corrupt
from generators.corruptions.functional import IMPLEMENTATIONS
from generators.domains import render_domain
from supervisor_testing import create_supervisor
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError, UnknownNameError
from supervisor_testing.generation import generators
from supervisor_testing.properties import check_batch_invariant
from supervisor_testing.strategies import (
    SIMPLEST_FIRST,
    Batch,
    Sample,
    adversarial,
    ambiguous,
    batches,
    corrupted,
    corruptions,
    domain_shifted,
    edited,
    generated,
    nominal,
)
from supervisor_testing.supervisors.base import as_model_input

# find() explores, then shrinks; neither may hit the deadline on a loaded machine.
SEARCH = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
DRAWS = settings(
    max_examples=5, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
FAST_PAIRS = {
    "pairs": [[3, 5], [4, 9]],
    "epochs": 25,
    "batch_size": 64,
    "max_tries": 1,
    "disc_accuracy_range": [0.0, 1.0],
    "min_class_accuracy": 0.0,
    "max_label_diff": 0.9,
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Single images through tiny models: a second thread only adds waiting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- replay -------------------------------------------------------------------------------


def test_simplest_first_orders_every_corruption():
    assert sorted(SIMPLEST_FIRST) == sorted(IMPLEMENTATIONS)


def test_a_corrupted_draw_is_the_generator_corpus_row(digits_test, tmp_path):
    sample = find(
        corrupted(digits_test, corruption="fog", severity=(1, 5)),
        lambda s: s.params["severity"] == 4 and s.index >= 10 and s.params["seed"] > 0,
        settings=SEARCH,
    )
    seed, index = sample.params["seed"], sample.index
    assert torch.equal(sample.clean, digits_test.images[index])
    assert sample.label == int(digits_test.labels[index])
    # the row index keys the randomness, as in a corpus: corrupting the whole set gives it
    whole = corrupt(digits_test.images, "fog", severity=4, seed=seed)[index]
    assert torch.equal(sample.image, whole)
    corpus = CorruptionGenerator(corruptions="fog", severities=[4]).build(
        digits_test, tmp_path / "fog", seed=seed
    )
    assert torch.equal(corpus.load(["images"])["images"][index], sample.image)


def test_draws_replay_byte_identically(digits_test):
    strategy = batches(corrupted(digits_test, corruption=["contrast", "fog"]), size=(2, 5))
    condition = lambda b: len(b) >= 3 and any(s.params["seed"] > 0 for s in b)  # noqa: E731
    first = find(strategy, condition, settings=SEARCH)
    second = find(strategy, condition, settings=SEARCH)
    assert repr(first) == repr(second)
    assert torch.equal(first.images, second.images)


def test_batches_stack_images_and_labels(digits_test):
    @DRAWS
    @given(batch=batches(nominal(digits_test), size=(2, 6)))
    def stacked(batch):
        assert isinstance(batch, Batch) and 2 <= len(batch) <= 6
        assert batch.images.shape == (len(batch), 1, 8, 8)
        for row, sample in enumerate(batch):
            assert torch.equal(batch.images[row], digits_test.images[sample.index])
            assert batch.labels[row] == digits_test.labels[sample.index]

    stacked()


# -- shrinking ----------------------------------------------------------------------------


def test_shrinks_to_the_minimal_failing_severity(mlp, digits_test):
    supervisor = WrongSign(mlp)
    clean = digits_test.images[:1]
    # How far each contrast level lowers this (wrong-sign) supervisor's score.
    drops = [
        float(supervisor.score(clean) - supervisor.score(corrupt(clean, "contrast", severity=s)))
        for s in range(1, 6)
    ]
    assert drops == sorted(drops) and drops[1] < drops[2]  # grows with severity
    allowed = (drops[1] + drops[2]) / 2  # so severities 3, 4 and 5 break the property
    lowest = min(s for s, d in zip(range(1, 6), drops, strict=True) if d > allowed)
    assert lowest == 3

    def violates(sample: Sample) -> bool:
        before = supervisor.score(sample.clean[None])
        return float(before - supervisor.score(sample.image[None])) > allowed

    shrunk = find(
        corrupted(digits_test, corruption="contrast", severity=st.integers(1, 5)),
        lambda s: s.index == 0 and violates(s),
        settings=SEARCH,
    )
    assert shrunk.params == {"corruption": "contrast", "severity": lowest, "seed": 0}


def test_shrinks_to_the_simplest_corruption_and_the_first_row(digits_test):
    shrunk = find(
        corrupted(digits_test, corruption=["fog", "zoom_blur", "contrast"]),
        lambda s: not torch.equal(s.image, s.clean),
        settings=SEARCH,
    )
    # listed last, but contrast is the simplest of the three
    assert (shrunk.params["corruption"], shrunk.params["severity"], shrunk.index) == (
        "contrast",
        1,
        0,
    )


def test_shrinks_to_the_fewest_samples(mlp, digits_train, digits_test):
    norm = nn.BatchNorm2d(1)
    broken = BatchNormInTrainMode(nn.Sequential(norm, mlp).eval())
    shrunk = find(
        batches(nominal(digits_test), size=(1, 20)),
        lambda b: len(b) >= 3 and not check_batch_invariant(broken, b).holds,
        settings=SEARCH,
    )
    assert len(shrunk) == 3
    assert [s.index for s in shrunk] == [0, 0, 0]


# -- the other generators -----------------------------------------------------------------


def test_ambiguous_draws_come_from_the_chosen_pair(digits_train, mlp):
    strategy = ambiguous(
        AmbiguousGenerator(**FAST_PAIRS), source=digits_train, pair=(5, 3), model=mlp
    )

    @DRAWS
    @given(sample=strategy)
    def from_the_pair(sample):
        assert sample.kind == "ambiguous" and sample.params["pair"] == (3, 5)
        assert sample.label in (3, 5) and sample.index == -1 and sample.clean is None
        assert sample.image.dtype == torch.uint8 and sample.image.shape == (1, 8, 8)

    from_the_pair()
    with pytest.raises(InvalidInputError, match=r"pair \(0, 1\) has no accepted model"):
        ambiguous(AmbiguousGenerator(**FAST_PAIRS), source=digits_train, pair=(0, 1))
    with pytest.raises(InvalidInputError, match="pass source="):
        ambiguous(AmbiguousGenerator(**FAST_PAIRS))


def test_adversarial_draws_match_the_ladder(mlp, digits_test):
    sample = find(
        adversarial(
            mlp,
            digits_test,
            attack=["bim", "fgsm"],
            epsilons=[0.0, 0.1, 0.3, 1.0],
            attack_params={"bim": {"steps": 2}},
        ),
        lambda s: s.params["success"] and s.index > 0,
        settings=SEARCH,
    )
    assert sample.params["attack"] == "fgsm"  # the first attack, whatever the list order
    index = sample.index
    expected = minimal_epsilons(
        create_attack("fgsm"),
        mlp,
        digits_test.images[index : index + 1],
        digits_test.labels[index : index + 1],
        epsilons=[0.0, 0.1, 0.3, 1.0],
        seed=sample.params["seed"],
        keys=torch.tensor([index]),
    )
    assert torch.equal(sample.image, expected.images[0])
    assert sample.params["epsilon"] == float(expected.epsilon[0])
    assert int(mlp.eval()(as_model_input(sample.image[None])).argmax()) != sample.label


def test_domain_shifted_draws_render_the_domain(digits_test):
    sample = find(
        domain_shifted(digits_test, domain=["chalkboard", "neon-sign"], strength=(0.0, 1.0)),
        lambda s: s.params["strength"] > 0.5,
        settings=SEARCH,
    )
    assert sample.params["domain"] == "chalkboard"
    assert sample.params["strength"] == 0.501  # shrunk to just past the boundary
    expected = render_domain(
        digits_test.images[sample.index : sample.index + 1],
        "chalkboard",
        strength=sample.params["strength"],
        seed=sample.params["seed"],
        indices=[sample.index],
    )
    assert torch.equal(sample.image, expected[0])


def test_generated_runs_any_registered_generator(digits_test):
    sample = find(
        generated("corruptions", digits_test, corruptions="contrast", severities=[2]),
        lambda s: s.index > 0,
        settings=SEARCH,
    )
    assert sample.kind == "corrupted"
    assert sample.params["generator"] == "corruptions" and sample.params["severity"] == 2
    expected = corrupt(digits_test.images[sample.index : sample.index + 1], "contrast", severity=2)
    assert torch.equal(sample.image, expected[0])


def test_edited_uses_the_diffusion_generator_once_installed(digits_test):
    pytest.importorskip("generators.diffusion")
    if "diffusion" not in generators:
        pytest.skip("generators.diffusion registers no 'diffusion' generator yet")
    assert edited(digits_test) is not None


def test_edited_without_a_diffusion_generator_names_the_registry(digits_test):
    if "diffusion" in generators:
        pytest.skip("a diffusion generator is installed")
    with pytest.raises(UnknownNameError, match="unknown generator 'diffusion'"):
        edited(digits_test)


# -- bad input fails at construction ------------------------------------------------------


def test_a_corpus_of_the_wrong_shape_for_the_model_fails_at_construction(mlp):
    wrong = Dataset("big", "test", torch.zeros(3, 1, 16, 16, dtype=torch.uint8),
                    torch.tensor([0, 1, 2]), tuple("0123456789"))  # fmt: skip
    supervisor = create_supervisor("max-softmax", mlp)
    for build in (
        lambda: nominal(wrong, model=mlp),
        lambda: corrupted(wrong, corruption="fog", model=supervisor),
        lambda: domain_shifted(wrong, model=mlp),
        lambda: adversarial(mlp, wrong),
    ):
        with pytest.raises(InvalidInputError, match=r"cannot read 'big'.*\(1, 16, 16\)"):
            build()


def test_a_model_with_another_label_space_fails_at_construction(mlp, digits_test):
    three = Dataset(
        "three", "test", digits_test.images[:3], torch.tensor([0, 1, 2]), ("a", "b", "c")
    )
    with pytest.raises(InvalidInputError, match="gives 10 logits but 'three' has 3 classes"):
        nominal(three, model=mlp)


@pytest.mark.parametrize(
    ("severity", "message"),
    [
        ((4, 2), r"severity range \(4, 2\) is impossible"),
        ((0, 3), r"severity \(0, 3\) is impossible: values lie in 1..5"),
        (6, "lie in 1..5"),
        ([], "none was given"),
        ("high", "must be an int"),
    ],
)
def test_impossible_severities_fail_at_construction(digits_test, severity, message):
    with pytest.raises(InvalidInputError, match=message):
        corrupted(digits_test, corruption="fog", severity=severity)


def _corpus(path, images, labels, class_names):
    from supervisor_testing.corpus import GeneratorInfo, SourceInfo, write_corpus

    probs = torch.zeros(len(labels), len(class_names))
    known = labels >= 0
    probs[known] = torch.eye(len(class_names))[labels[known]]
    return write_corpus(
        path,
        {"images": images, "labels": labels, "label_probs": probs,
         "source_index": torch.arange(len(labels))},
        name=path.name,
        kind="nominal" if bool(known.all()) else "far-ood",
        class_names=class_names,
        generator=GeneratorInfo("nominal", "1"),
        source=SourceInfo("toy", "test", "0" * 64),
    )  # fmt: skip


def test_an_empty_corpus_fails_at_construction(tmp_path):
    empty = _corpus(
        tmp_path / "empty",
        torch.zeros(0, 1, 8, 8, dtype=torch.uint8),
        torch.zeros(0, dtype=torch.int64),
        ("a", "b"),
    )
    for build in (nominal, corrupted, corruptions, domain_shifted):
        with pytest.raises(InvalidInputError, match="'empty' is empty"):
            build(empty)


def test_images_too_small_for_a_named_corruption_fail_at_construction():
    tiny = Dataset("tiny", "test", torch.zeros(2, 1, 4, 4, dtype=torch.uint8),
                   torch.tensor([0, 1]), ("a", "b"))  # fmt: skip
    with pytest.raises(InvalidInputError, match="too small"):
        corrupted(tiny, corruption="fog")


def test_unknown_names_fail_at_construction(digits_test, mlp):
    with pytest.raises(UnknownNameError, match="unknown corruption 'fgo'"):
        corrupted(digits_test, corruption="fgo")
    with pytest.raises(UnknownNameError, match="unknown domain 'no-such-domain'"):
        domain_shifted(digits_test, domain="no-such-domain")
    with pytest.raises(InvalidInputError, match="unknown attack 'cw'"):
        adversarial(mlp, digits_test, attack="cw")
    with pytest.raises(UnknownNameError, match="unknown generator 'no-such'"):
        generated("no-such", digits_test)


def test_unlabelled_sources_are_refused_where_labels_are_needed(digits_test, tmp_path):
    far = _corpus(tmp_path / "far", digits_test.images[:2], torch.tensor([-1, -1]), ("a", "b"))
    with pytest.raises(InvalidInputError, match="outside the label space"):
        corrupted(far, corruption="fog")
    assert nominal(far) is not None  # far-OOD rows can still be drawn as they are


def test_batch_sizes_and_strategies_are_checked(digits_test):
    with pytest.raises(InvalidInputError, match="batch size"):
        batches(nominal(digits_test), size=0)
    with pytest.raises(InvalidInputError, match="impossible"):
        batches(nominal(digits_test), size=(5, 2))
    with pytest.raises(InvalidInputError, match="strategy of samples"):
        batches(digits_test, size=3)  # type: ignore[arg-type]


def test_strength_outside_the_unit_interval_fails_at_construction(digits_test):
    with pytest.raises(InvalidInputError, match=r"strength must be a number in \[0, 1\]"):
        domain_shifted(digits_test, strength=(0.2, 1.5))
    with pytest.raises(InvalidInputError, match="impossible"):
        domain_shifted(digits_test, strength=(0.8, 0.2))


def test_corruptions_lists_those_the_images_take_simplest_first(digits_test):
    shrunk = find(corruptions(digits_test), lambda name: True, settings=SEARCH)
    assert shrunk == "brightness"


def test_module_examples_run():
    import supervisor_testing.strategies as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_resolve_and_properties_import_lazily():
    import supervisor_testing.properties as properties
    import supervisor_testing.strategies as strategies

    for module in (properties, strategies):
        for name in module.__all__:
            assert getattr(module, name) is not None, name
    assert Sample.__module__ == "supervisor_testing.strategies"
    code = "import supervisor_testing.properties, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
