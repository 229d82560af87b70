"""The adversarial generator: ladder search, uint8 storage, attacks, corpus, CLI, errors.

Everything runs on scikit-learn's 8 x 8 digits against the reference MLP (trained once and
cached), so the whole file takes seconds. Expected values come from code written here,
independently of the generator: plain-torch FGSM, a direct uint8 rounding, the model's
own forward pass.
"""

from __future__ import annotations

import doctest
import importlib
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.adversarial import (
    ATTACKS,
    STUDY_EPSILONS,
    AdversarialGenerator,
    assign_attacks,
    create_attack,
    minimal_epsilons,
    quantize_within,
    resolve_attacks,
)
from generators.adversarial.batch_invariance import input_gradient, logits_of
from supervisor_testing.cli import main
from supervisor_testing.data import load_dataset
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError, SupervisorTestingError
from supervisor_testing.generation import create_generator, generators
from supervisor_testing.models import model_sha256, resolve_model
from supervisor_testing.recipes import load_recipe

N = 48  # 12 inputs per attack
FAST = {"pgd": {"steps": 10}}  # keeps PGD's cost near BIM's; the defaults are tested below


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Single-threaded torch: on a busy 2-core machine, two OpenMP threads made the tiny
    model's calls over 100 times slower (58 s against 0.4 s for the corpus below). The
    thread count does not change a byte (tested below)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load_dataset("digits", "test")


@pytest.fixture(scope="session")
def model() -> torch.nn.Module:
    return resolve_model("mlp", dataset=load_dataset("digits", "train")).module


def make(**params) -> AdversarialGenerator:
    names = resolve_attacks(params.get("attacks"))
    fast = {name: value for name, value in FAST.items() if name in names}
    return create_generator(
        "adversarial", model="mlp", train_data="digits", attack_params=fast, **params
    )


@pytest.fixture(scope="session")
def corpus(digits, tmp_path_factory):
    gen = make(store_float=True)
    return gen.build(digits, tmp_path_factory.mktemp("adv") / "digits-adv", seed=0, num_samples=N)


@pytest.fixture(scope="session")
def columns(corpus) -> dict[str, torch.Tensor]:
    return corpus.load()


def predict(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Plain forward pass, one image at a time, on uint8 or float images."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images
    with torch.no_grad():
        return torch.cat([model(row[None]) for row in x]).argmax(dim=1)


def reference_round(adversarial: torch.Tensor, clean: torch.Tensor, eps: float, *, outward: bool):
    """uint8 levels within eps of clean: nearest level, or rounded away from clean."""
    reach = math.floor(eps * 255 + 1e-9)
    # scale in float32 as stored images are: a value like 26.5 levels must tie the same way
    scaled = (adversarial.float() * 255).double()
    delta = scaled - clean.double()
    if outward:
        delta = delta.sign() * (delta.abs() - 1e-4).clamp(min=0).ceil()
        levels = clean.double() + delta
    else:
        levels = scaled.round()
    low, high = clean.double() - reach, clean.double() + reach
    return levels.clamp(min=0, max=255).maximum(low).minimum(high).to(torch.uint8)


# -- registration, parameters, recipes ----------------------------------------------------


def test_registered_with_defaults_from_the_study():
    assert generators.resolve("adversarials") == "adversarial"
    params = create_generator("adversarial", model="cnn", train_data="mnist").params
    assert params["attacks"] == ["fgsm", "pgd", "bim", "deepfool"]
    assert params["epsilons"] == [0, 2e-4, 5e-4, 8e-4, 1e-3, 1.5e-3, 2e-3, 3e-3, 0.01, 0.1, 0.3,
                                  0.5, 1.0]  # fmt: skip
    # foolbox 3's defaults, which the study ran.
    assert params["attack_params"]["pgd"] == {
        "steps": 40,
        "rel_stepsize": pytest.approx(0.01 / 0.3),
        "random_start": True,
    }
    assert params["attack_params"]["bim"] == {
        "steps": 10,
        "rel_stepsize": 0.2,
        "random_start": False,
    }
    assert params["attack_params"]["deepfool"] == {"steps": 50, "candidates": 10, "overshoot": 0.02}
    assert params["model_sha256"] is None  # filled in when the model is resolved


def test_recipes_name_the_model_and_data():
    for data in ("mnist", "fashion-mnist"):
        recipe = load_recipe(f"{data}-adversarial")
        assert (recipe.dataset, recipe.split, recipe.samples, recipe.seed) == (
            data,
            "test",
            1000,
            0,
        )
        params = recipe.create_generator().params
        assert (params["model"], params["train_data"], params["model_seed"]) == ("cnn", data, 0)
        assert params["attacks"] == list(ATTACKS)


def test_quarters_are_a_seeded_shuffle():
    parts = assign_attacks(359, 50, 4, seed=0)
    assert [len(p) for p in parts] == [13, 13, 12, 12]
    chosen = torch.cat(parts)
    assert len(set(chosen.tolist())) == 50 and all(torch.equal(p, p.sort().values) for p in parts)
    # Not simply the first quarter of the sorted subsample.
    assert not torch.equal(chosen, chosen.sort().values)
    again = assign_attacks(359, 50, 4, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(parts, again, strict=True))
    assert not torch.equal(parts[0], assign_attacks(359, 50, 4, seed=1)[0])


# -- the corpus ---------------------------------------------------------------------------


def test_corpus_columns_labels_and_model_hash(corpus, columns, digits, model):
    assert corpus.kind == "adversarial" and len(corpus) == N
    assert corpus.categories("attack") == ("fgsm", "pgd", "bim", "deepfool")
    assert torch.bincount(columns["attack"]).tolist() == [12, 12, 12, 12]
    index = columns["source_index"]
    assert len(set(index.tolist())) == N
    assert torch.equal(columns["labels"], digits.labels[index])
    assert torch.equal(columns["label_probs"], F.one_hot(digits.labels[index], 10).float())
    assert torch.equal(columns["predicted"], predict(model, columns["images"]))
    params = corpus.manifest.generator.params
    assert params["model_sha256"] == model_sha256(model)
    assert columns["epsilon"].dtype == torch.float64
    assert set(columns["epsilon"].tolist()) <= set(STUDY_EPSILONS) | {math.inf}


def test_stored_images_flip_within_their_epsilon(columns, digits, model):
    success, eps = columns["success"], columns["epsilon"]
    assert torch.equal(success, eps.isfinite())
    assert success.sum() >= N // 2, "the MLP should fall for most attacks on 8x8 digits"
    clean = digits.images[columns["source_index"]]
    moved = (columns["images"].int() - clean.int()).abs().flatten(1).amax(dim=1)
    for row in success.nonzero().flatten().tolist():
        assert moved[row] <= eps[row] * 255 + 1e-6, f"row {row} leaves its L-inf ball"
    # A stored image is adversarial exactly when the search says so.
    assert torch.equal(predict(model, columns["images"]) != columns["labels"], success)
    # Unflipped inputs keep their clean image.
    assert torch.equal(columns["images"][~success], clean[~success])


def test_fgsm_epsilon_is_the_first_step_that_flips(columns, digits, model):
    rows = (columns["attack"] == 0).nonzero().flatten()
    index = columns["source_index"][rows]
    clean_u8, labels = digits.images[index], digits.labels[index]
    # Plain-torch FGSM. Padding to 32 rows keeps every row in a full block of the CPU
    # kernels, so the gradient's signs are those the generator saw.
    x = torch.cat([clean_u8.float() / 255.0, torch.zeros(32 - len(rows), 1, 8, 8)])
    x.requires_grad_(True)
    loss = F.cross_entropy(model(x)[: len(rows)], labels, reduction="sum")
    direction = torch.autograd.grad(loss, x)[0][: len(rows)].sign()
    clean = clean_u8.float() / 255.0

    def flipped(row: int, eps: float) -> tuple[bool, torch.Tensor]:
        adv = (clean[row] + eps * direction[row]).clamp(0, 1)
        for outward in (False, True):
            image = reference_round(adv, clean_u8[row], eps, outward=outward)
            if predict(model, image[None]).item() != labels[row].item():
                return True, image
        return False, image

    checked_previous = 0
    for row, eps in enumerate(columns["epsilon"][rows].tolist()):
        position = STUDY_EPSILONS.index(eps) if math.isfinite(eps) else len(STUDY_EPSILONS)
        if math.isfinite(eps):
            hit, image = flipped(row, eps)
            assert hit and torch.equal(image, columns["images"][rows[row]])
        for smaller in STUDY_EPSILONS[:position]:
            assert not flipped(row, smaller)[0], f"row {row} already flips at {smaller}"
            checked_previous += 1
    assert checked_previous > 0


def test_float_search_is_recorded_when_asked(columns, digits, model):
    float_eps, perturbation = columns["float_epsilon"], columns["float_perturbation"]
    clean = digits.images[columns["source_index"]].float() / 255.0
    found = float_eps.isfinite()
    assert found.sum() >= columns["success"].sum() // 2
    limit = float_eps.where(found, torch.zeros_like(float_eps)).float().view(-1, 1, 1, 1)
    assert (perturbation.abs() <= limit + 1e-6).all()
    assert not perturbation[~found].any()
    adversarial = clean[found] + perturbation[found]
    assert (adversarial >= -1e-6).all() and (adversarial <= 1 + 1e-6).all()
    assert (predict(model, adversarial) != columns["labels"][found]).all()
    # The study's sub-level epsilons do show up in float space, never in uint8 space.
    assert (columns["epsilon"][columns["success"]] != 2e-4).all()


def test_unflipped_inputs_are_recorded_not_dropped(digits, tmp_path):
    gen = make(attacks="bim,deepfool", epsilons=[0.0, 0.001, 0.003])  # below one uint8 level
    corpus = gen.build(digits, tmp_path / "weak", seed=0, num_samples=20)
    data = corpus.load()
    assert len(corpus) == 20
    wrong = data["predicted"] != data["labels"]  # the MLP's own mistakes flip at 0
    assert torch.equal(data["success"], wrong)
    assert (data["epsilon"][wrong] == 0).all() and data["epsilon"][~wrong].isinf().all()
    assert torch.equal(data["images"], digits.images[data["source_index"]])


# -- reproducibility ----------------------------------------------------------------------


def shard_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_same_seed_same_bytes_other_seed_other_inputs(digits, tmp_path):
    ladder = [0.0, 0.01, 0.1, 0.3]
    first = make(epsilons=ladder).build(digits, tmp_path / "a", seed=3, num_samples=16)
    again = make(epsilons=ladder).build(digits, tmp_path / "b", seed=3, num_samples=16, name="a")
    other = make(epsilons=ladder).build(digits, tmp_path / "c", seed=4, num_samples=16, name="a")
    assert shard_bytes(first.path) == shard_bytes(again.path)
    assert first.sha256() != other.sha256()


def test_batch_size_does_not_change_a_byte(digits, tmp_path):
    ladder = [0.0, 0.01, 0.1, 0.3]
    whole = make(epsilons=ladder)
    small = make(epsilons=ladder)
    small.batch_size = 3
    a = whole.build(digits, tmp_path / "a", seed=1, num_samples=24)
    b = small.build(digits, tmp_path / "b", seed=1, num_samples=24, name="a")
    assert shard_bytes(a.path) == shard_bytes(b.path)


def test_model_calls_give_each_row_the_same_bits_in_any_batch(digits, model):
    """Unpadded, a row's logits differ in the last bits between batches of 7 and 8."""
    x, y = digits.float_images()[:64], digits.labels[:64]
    logits, gradient = logits_of(model, x), input_gradient(model, x, y)
    for size in (1, 3, 7, 17):
        parts = range(0, 64, size)
        assert torch.equal(torch.cat([logits_of(model, x[i : i + size]) for i in parts]), logits)
        pieces = [input_gradient(model, x[i : i + size], y[i : i + size]) for i in parts]
        assert torch.equal(torch.cat(pieces), gradient)


def test_thread_count_does_not_change_a_byte(digits, model):
    images, labels = digits.images[:6], digits.labels[:6]

    def attack(name: str):
        return minimal_epsilons(
            create_attack(name), model, images, labels, epsilons=[0.0, 0.1, 0.3], track_float=True
        )

    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        try:
            results.append([attack(name) for name in ("fgsm", "bim", "deepfool")])
        finally:
            torch.set_num_threads(1)
    for one, two in zip(*results, strict=True):
        assert torch.equal(one.images, two.images) and torch.equal(one.epsilon, two.epsilon)
        assert torch.equal(one.float_perturbation, two.float_perturbation)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_each_input_depends_only_on_itself(name, digits, model):
    """Attacking a batch, or the same inputs in another order and grouping, agrees."""
    attack = create_attack(name, **FAST.get(name, {}))
    images, labels, keys = digits.images[:20], digits.labels[:20], torch.arange(100, 120)
    ladder = [0.0, 0.01, 0.1, 0.3]
    whole = minimal_epsilons(attack, model, images, labels, epsilons=ladder, seed=5, keys=keys)
    order = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    parts = [order[:7], order[7:8], order[8:]]
    for part in parts:
        piece = minimal_epsilons(
            attack, model, images[part], labels[part], epsilons=ladder, seed=5, keys=keys[part]
        )
        assert torch.equal(piece.images, whole.images[part])
        assert torch.equal(piece.epsilon, whole.epsilon[part])


def test_pgd_random_start_follows_the_seed(digits, model):
    attack = create_attack("pgd", steps=1, rel_stepsize=1e-9)  # ~ the random start alone
    images, labels = digits.images[:8], digits.labels[:8]
    ladder = [0.3]
    a = minimal_epsilons(attack, model, images, labels, epsilons=ladder, seed=0, track_float=True)
    b = minimal_epsilons(attack, model, images, labels, epsilons=ladder, seed=0, track_float=True)
    c = minimal_epsilons(attack, model, images, labels, epsilons=ladder, seed=1, track_float=True)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.float_perturbation, c.float_perturbation)


# -- uint8 rounding -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 255), min_size=1, max_size=16),
    st.floats(0, 1),
    st.sampled_from(STUDY_EPSILONS),
    st.booleans(),
)
def test_rounding_stays_in_the_ball_and_matches_a_reference(levels, shift, eps, outward):
    clean = torch.tensor(levels, dtype=torch.uint8)
    steps = torch.linspace(-1, 1, len(levels)) * shift
    adversarial = (clean.float() / 255 + steps * eps).clamp(0, 1)
    stored = quantize_within(adversarial, clean, eps, outward=outward)
    assert ((stored.int() - clean.int()).abs() <= math.floor(eps * 255 + 1e-9)).all()
    assert torch.equal(stored, reference_round(adversarial, clean, eps, outward=outward))


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"attacks": "fgsm,cw"}, "unknown attack 'cw'; choose from: fgsm, pgd, bim, deepfool"),
        ({"attacks": "fgsm,fgsm"}, "named twice"),
        ({"attacks": ""}, "name at least one attack"),
        ({"epsilons": []}, "the epsilon ladder is empty"),
        ({"epsilons": [0.1, 0.01]}, "strictly increasing"),
        ({"epsilons": [0, 2]}, "must lie in [0, 1]"),
        ({"epsilons": [0, float("nan")]}, "must lie in [0, 1]"),
        ({"attack_params": {"pgd": {"step": 3}}}, "has no setting 'step'"),
        ({"attack_params": {"pgd": {"steps": 0}}}, "steps must be an integer >= 1"),
        ({"attacks": "fgsm", "attack_params": {"pgd": {}}}, "not among the attacks"),
        ({"train_data": None}, "name the data set it is trained on with train_data"),
        ({"model": "pkg.mod:factory"}, "train_data applies to an architecture name only"),
        ({"model_sha256": "abc"}, "64-digit"),
        ({"store_float": "yes"}, "store_float must be true or false"),
    ],
)
def test_bad_parameters_raise_one_clear_error(params, message):
    base = {"model": "mlp", "train_data": "digits"}
    with pytest.raises(InvalidInputError) as info:
        create_generator("adversarial", **{**base, **params})
    assert message in str(info.value)


def test_bad_recipe_names_the_attack_not_the_generator(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(
        'name = "r"\nseed = 0\n[source]\ndataset = "digits"\nsplit = "test"\n'
        '[generator]\nname = "adversarial"\n[generator.params]\n'
        'model = "mlp"\ntrain_data = "digits"\nattacks = ["fgsm", "jsma"]\n'
    )
    with pytest.raises(InvalidInputError, match=r"\[generator.params\]: unknown attack 'jsma'"):
        load_recipe(path)


def test_model_that_cannot_read_the_data_is_refused(digits, tmp_path):
    wide = Dataset(
        "wide",
        "test",
        torch.zeros(6, 1, 12, 12, dtype=torch.uint8),
        torch.zeros(6, dtype=torch.int64),
        tuple("0123456789"),
    )
    with pytest.raises(InvalidInputError, match=r"takes \(1, 8, 8\) images but data set 'wide'"):
        make().build(wide, tmp_path / "x", seed=0)
    three = Dataset("three", "test", digits.images[:6], torch.zeros(6, dtype=torch.int64),
                    ("a", "b", "c"))  # fmt: skip
    with pytest.raises(InvalidInputError, match="has 10 classes but data set 'three' has 3"):
        make().build(three, tmp_path / "y", seed=0)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_pinned_weights_must_match(digits, model, tmp_path):
    make(model_sha256=model_sha256(model)).bind(digits)  # the right pin passes
    with pytest.raises(InvalidInputError, match="model_sha256 pins 000000000000"):
        make(model_sha256="0" * 64).build(digits, tmp_path / "x", seed=0, num_samples=4)


def test_library_call_rejects_malformed_tensors(model):
    attack = create_attack("fgsm")
    with pytest.raises(InvalidInputError, match="uint8 N x C x H x W"):
        minimal_epsilons(attack, model, torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="labels must be int64 of shape"):
        minimal_epsilons(
            attack, model, torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.zeros(3).long()
        )
    with pytest.raises(SupervisorTestingError, match="unknown attack 'cw'"):
        create_attack("cw")


@pytest.mark.parametrize(
    "module",
    ["quantization", "ladder", "catalog", "fgsm", "pgd", "bim", "deepfool", "generator"],
)
def test_docstring_examples_run(module):
    found = importlib.import_module(f"generators.adversarial.{module}")
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    # Classes re-homed to the package (__module__) are skipped by testmod; look at them too.
    objects = [found, *(v for v in vars(found).values() if isinstance(v, type))]
    for obj in objects:
        for test in finder.find(obj, globs=dict(vars(found))):
            runner.run(test)
    assert runner.tries > 0 and runner.failures == 0


# -- command line -------------------------------------------------------------------------


def test_cli_generates_a_corpus_and_reports_per_attack(tmp_path):
    out = tmp_path / "digits-adv"
    args = ["--quiet", "generate", "adversarial", "--dataset", "digits", "--model", "mlp",
            "--attacks", "fgsm,bim", "--epsilons", "0,0.01,0.1,0.3", "--n", "8", "--seed", "0",
            "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "fgsm" in result.output and "bim" in result.output and "flipped" in result.output
    manifest = json.loads((out / "corpus.json").read_text())
    assert manifest["kind"] == "adversarial"
    params = manifest["generator"]["params"]
    assert (params["train_data"], params["attacks"]) == ("digits", ["fgsm", "bim"])
    assert len(params["model_sha256"]) == 64


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--attacks", "fgsm,cw"], "unknown attack 'cw'"),
        (["--epsilons", "0,abc"], "not a list of numbers"),
        (["--epsilons", ","], "the epsilon ladder is empty"),
        (["--corpus", "digits-test"], "exactly one of --corpus CORPUS and --dataset NAME"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(extra, message, tmp_path):
    args = ["--quiet", "generate", "adversarial", "--dataset", "digits", "--model", "mlp",
            "--out", str(tmp_path / "x"), *extra]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
