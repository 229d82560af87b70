"""AmbiGuess: pair models, acceptance, labeller, density sampler, corpus, cache, quality.

Everything trains on scikit-learn's 8 x 8 digits with a few epochs and small batches, so
the models are far from the reference's quality; the tests check mechanics and contracts
(values against independent computations, seeding, errors), not image quality. The
acceptance rule is relaxed where a test needs an accepted model.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from generators.ambiguous import (
    AmbiguousGenerator,
    DensitySampler,
    PairTrainingConfig,
    ambiguity_scores,
    make_ambiguous_corpus,
    passes_acceptance,
    pixel_mixup,
    sample_corpus_columns,
    soft_labels,
    to_uint8,
    train_pair_models,
)
from generators.ambiguous.class_pairs import MIN_IMAGES_PER_CLASS, class_pairs
from generators.ambiguous.config import DISC_ACCURACY_MEASURES
from generators.ambiguous.density_sampler import grid_axes
from generators.ambiguous.masked_adam import MaskedAdam
from generators.ambiguous.prior import sample_prior
from generators.ambiguous.reconstruction_loss import sigmoid_mse
from generators.ambiguous.validity import error_percentiles
from supervisor_testing.cli import main
from supervisor_testing.data import load_dataset
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import create_generator
from supervisor_testing.recipes import load_recipe

# Small enough to train in about a second; relaxed so that the models count as accepted.
# Such models label the band between the clusters with |p1 - p2| of about 0.5 to 0.8, so
# the tests sample with a wide MLD (the reference's 0.1 to 0.3 needs fully trained models).
FAST = {
    "epochs": 25,
    "batch_size": 64,
    "max_tries": 1,
    "disc_accuracy_range": (0.0, 1.0),
    "min_class_accuracy": 0.0,
}
PAIRS = [[0, 1], [3, 5]]
MLD = 0.7


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run faster on one thread than on two that wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", "train")


@pytest.fixture(scope="module")
def trained(digits: Dataset):
    return train_pair_models(
        digits, config=PairTrainingConfig(**FAST), seed=0, pairs=PAIRS, cache=False
    )


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory):
    """One cache for the tests that build corpora, so the pair models train once."""
    path = tmp_path_factory.mktemp("ambiguous-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUPERVISOR_TESTING_CACHE", str(path))
        yield path


def _tiny_dataset(counts: list[int]) -> Dataset:
    labels = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(counts)])
    images = torch.randint(0, 256, (len(labels), 1, 4, 4), dtype=torch.uint8)
    return Dataset("tiny", "train", images, labels, tuple(str(c) for c in range(len(counts))))


# --- the prior and the grid -----------------------------------------------------------


def test_prior_puts_the_first_class_left_and_the_second_right():
    config = PairTrainingConfig()
    sizes = torch.tensor([4000, 3001])
    classes = torch.tensor([[2, 7], [0, 1]])
    z, labels = sample_prior(
        sizes, classes, config, width=4200, generator=torch.Generator().manual_seed(0)
    )
    assert z.shape == (2, 4200, 2) and labels.shape == (2, 4200)
    for p, b in enumerate(sizes.tolist()):
        half = b // 2
        assert (labels[p, :half] == classes[p, 0]).all()
        assert (labels[p, half:b] == classes[p, 1]).all()
        left, right = z[p, :half], z[p, half:b]
        assert torch.allclose(left.mean(0), torch.tensor([-3.0, 0.0]), atol=0.1)
        assert torch.allclose(right.mean(0), torch.tensor([3.0, 0.0]), atol=0.1)
        assert torch.allclose(left.std(0), torch.ones(2), atol=0.1)


def test_grid_spans_the_band_between_the_clusters():
    axes, size = grid_axes(PairTrainingConfig(), 50)
    # axis 0: [mu1 + 2s, mu2 - 2s] = [-1, 1]; axis 1: the means coincide, so 0 +- 5s.
    assert size.tolist() == pytest.approx([2 / 50, 10 / 50])
    assert axes[0, 0].item() == pytest.approx(-1 + 1 / 50)
    assert axes[0, -1].item() == pytest.approx(1 - 1 / 50)
    assert axes[1, 0].item() == pytest.approx(-5 + 5 / 50)
    assert axes[1, -1].item() == pytest.approx(5 - 5 / 50)


# --- the acceptance rule and retries ----------------------------------------------------


@pytest.mark.parametrize(
    ("disc", "cls", "ok"),
    [
        (0.5, 0.9, True),
        (0.41, 1.0, True),
        (0.4, 1.0, False),  # the interval is open at both ends
        (0.6, 1.0, False),
        (0.59, 0.8999, False),
        (0.7, 1.0, False),
    ],
)
def test_acceptance_rule(disc, cls, ok):
    assert passes_acceptance(disc, cls, PairTrainingConfig()) is ok


def test_a_rejected_pair_is_retried_and_reported(digits):
    impossible = {**FAST, "epochs": 2, "max_tries": 2, "disc_accuracy_range": (0.9999, 1.0)}
    with pytest.warns(
        UserWarning, match="failed the acceptance rule in all 2 tries and yield no samples: 0-1"
    ):
        result = train_pair_models(
            digits, config=PairTrainingConfig(**impossible), pairs=[[0, 1]], cache=False
        )
    (report,) = result.reports
    assert report.tries == 2 and not report.accepted
    assert result.rejected_pairs == [(0, 1)]
    with pytest.raises(InvalidInputError, match="no pair model passed"):
        sample_corpus_columns(result, 10, max_label_diff=0.2, seed=0)


def test_a_pair_that_passes_is_not_retried(trained):
    assert [r.tries for r in trained.reports] == [1, 1]
    assert all(r.accepted for r in trained.reports)
    for r in trained.reports:
        assert 0 <= r.disc_accuracy <= 1 and 0 <= r.class_accuracy <= 1


def test_the_acceptance_measure_picks_the_figure_but_not_the_weights(digits):
    """Both real/fake accuracies are recorded; the configured one decides acceptance, and
    the choice never changes the trained weights."""
    short = {**FAST, "epochs": 3}
    by_measure = {}
    for measure in ("reference", "last-epoch"):
        config = PairTrainingConfig(**short, disc_accuracy_measure=measure)
        by_measure[measure] = train_pair_models(
            digits, config=config, seed=0, pairs=[[0, 1]], cache=False
        )
    ref, last = by_measure["reference"], by_measure["last-epoch"]
    weights = zip(ref.model.state_dict().values(), last.model.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in weights)
    (r,), (s,) = ref.reports, last.reports
    assert dict(r.disc_accuracies) == dict(s.disc_accuracies)
    assert set(dict(r.disc_accuracies)) == {"reference", "last-epoch"}
    assert r.disc_accuracy == dict(r.disc_accuracies)["reference"]
    assert s.disc_accuracy == dict(s.disc_accuracies)["last-epoch"]
    # A window that holds exactly one of the two figures accepts under that measure only.
    low, high = sorted(dict(r.disc_accuracies).values())
    if high - low > 1e-6:
        window = (low - 1e-6, (low + high) / 2)
        owner = "reference" if r.disc_accuracy == low else "last-epoch"
        for measure in ("reference", "last-epoch"):
            config = PairTrainingConfig(
                **{**short, "disc_accuracy_range": window}, disc_accuracy_measure=measure
            )
            assert passes_acceptance(dict(r.disc_accuracies)[measure], 1.0, config) is (
                measure == owner
            )
    with pytest.raises(InvalidInputError, match="disc_accuracy_measure must be one of"):
        PairTrainingConfig(disc_accuracy_measure="best-epoch")


# --- the batched model --------------------------------------------------------------------


def _dense_forward(mlp, p: int, x: np.ndarray, slope: float) -> np.ndarray:
    """One pair's MLP in float64 numpy: an independent re-computation."""
    h = x
    for i, layer in enumerate((mlp.fc1, mlp.fc2, mlp.fc3)):
        h = (
            h @ layer.weight[p].detach().double().numpy()
            + layer.bias[p, 0].detach().double().numpy()
        )
        if i < 2:
            h = np.where(h > 0, h, slope * h)
    return h


def test_soft_label_is_the_softmax_of_the_two_discriminator_logits(trained):
    model = trained.model
    z = torch.randn(model.num_pairs, 30, 2, generator=torch.Generator().manual_seed(1))
    probs = soft_labels(model, z)
    assert probs.shape == (2, 30, 2)
    assert torch.allclose(probs.sum(-1), torch.ones(2, 30))
    for p in range(model.num_pairs):
        logits = []
        for c in model.classes[p].tolist():
            onehot = np.zeros((30, model.num_classes))
            onehot[:, c] = 1
            x = np.concatenate([z[p].double().numpy(), onehot], axis=1)
            logits.append(_dense_forward(model.discriminator_mlp, p, x, 0.3)[:, 0])
        expected = np.exp(logits[0]) / (np.exp(logits[0]) + np.exp(logits[1]))
        assert np.allclose(probs[p, :, 0].numpy(), expected, atol=1e-5)


@torch.no_grad()
def test_pairs_in_the_stack_do_not_influence_each_other(trained):
    model = trained.model
    z = torch.randn(2, 5, 2, generator=torch.Generator().manual_seed(2))
    before = model.decode(z)[0]
    changed = model.select([0, 1])
    for param in changed.decoder_mlp.parameters():
        param[1].add_(1.0)
    assert torch.equal(changed.decode(z)[0], before)
    assert not torch.equal(changed.decode(z)[1], model.decode(z)[1])
    # the decoder ends in a sigmoid over the pixels
    x = z[0].double().numpy()
    expected = 1 / (1 + np.exp(-_dense_forward(model.decoder_mlp, 0, x, 0.3)))
    assert np.allclose(before.numpy(), expected, atol=1e-5)


def test_fused_reconstruction_loss_matches_autograd():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 5, 7, generator=gen, requires_grad=True)
    target = torch.rand(2, 5, 7, generator=gen)
    weight = torch.rand(2, 5, generator=gen)
    fused = sigmoid_mse(logits, target, weight)
    plain = ((torch.sigmoid(logits) - target) ** 2 * weight[..., None]).sum(dim=(1, 2))
    assert torch.allclose(fused, plain, atol=1e-6)
    (g1,) = torch.autograd.grad((fused * torch.tensor([1.0, 2.0])).sum(), logits)
    (g2,) = torch.autograd.grad((plain * torch.tensor([1.0, 2.0])).sum(), logits)
    assert torch.allclose(g1, g2, atol=1e-6)


def test_masked_adam_leaves_idle_pairs_alone_and_follows_keras_adam():
    param = torch.ones(2, 3)
    grad = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])
    adam = MaskedAdam([param], lr=0.1, eps=1e-7)
    adam.step([grad], torch.tensor([True, False]))
    assert torch.equal(param[1], torch.ones(3))
    # first Keras step: m = 0.1 g, v = 0.001 g², lr_t = lr sqrt(1 - .999) / (1 - .9)
    lr_t = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
    expected = 1 - lr_t * (0.1 * grad[0]) / (torch.sqrt(0.001 * grad[0] ** 2) + 1e-7)
    assert torch.allclose(param[0], expected)
    adam.step([grad], torch.tensor([False, True]))  # pair 1's first step, same formula
    assert torch.allclose(
        param[1], 1 - lr_t * (0.1 * grad[1]) / (torch.sqrt(0.001 * grad[1] ** 2) + 1e-7)
    )


# --- the density sampler -----------------------------------------------------------------


def test_sampler_keeps_only_ambiguous_points_inside_the_band(trained):
    model = trained.model
    sampler = DensitySampler(model, trained.config, grid_size=20)
    rngs = [np.random.default_rng(i) for i in range(2)]
    z, p, short = sampler.draw([300, 300], max_label_diff=MLD, rngs=rngs)
    for zi, pi in zip(z, p, strict=True):
        assert len(zi) == 300
        assert ((pi[:, 0] - pi[:, 1]).abs() < MLD).all()
        assert (zi[:, 0].abs() <= 1).all() and (zi[:, 1].abs() <= 5).all()
    # the labels returned are the labeller's at the returned points
    again = soft_labels(model, torch.stack(z))
    assert torch.allclose(again, torch.stack(p), atol=1e-6)
    assert short == [False, False]


def test_cells_with_an_unambiguous_centre_weigh_nothing(trained):
    sampler = DensitySampler(trained.model, trained.config, grid_size=20)
    weights = sampler.cell_weights(0.6)
    gap = (sampler.centre_labels[..., 0] - sampler.centre_labels[..., 1]).abs()
    assert (gap > 0.6).any() and (gap <= 0.6).any()  # both kinds of cells exist
    assert (weights[gap > 0.6] == 0).all()
    assert torch.equal(weights[gap <= 0.6], sampler.gradient_norms[gap <= 0.6])
    # gradient of sum(dec(z)^2) at one centre, by finite differences
    z0 = sampler.centres[7].double()
    dec = lambda z: (trained.model.select([0]).decode(z.float().view(1, 1, 2)) ** 2).sum()  # noqa: E731
    eps = 1e-2
    fd = torch.tensor(
        [(dec(z0 + eps * e) - dec(z0 - eps * e)).item() / (2 * eps) for e in torch.eye(2).double()]
    )
    assert sampler.gradient_norms[0, 7].item() == pytest.approx(fd.norm().item(), rel=0.05)


def test_density_grid_is_kept_beside_the_models(digits, model_cache):
    from generators.ambiguous import load_trained_pairs

    cached = train_pair_models(digits, config=PairTrainingConfig(**FAST), seed=0, pairs=PAIRS)
    norms = cached.gradient_norms(20)
    assert (cached.path / "density-grid-20.safetensors").is_file()
    assert torch.equal(load_trained_pairs(cached.path).gradient_norms(20), norms)
    sampler = DensitySampler(cached.model, cached.config, grid_size=20)
    assert torch.equal(sampler.gradient_norms, norms)


def test_sampler_gives_up_after_a_hundred_candidates_per_sample(trained):
    sampler = DensitySampler(trained.model, trained.config, grid_size=20)
    rngs = [np.random.default_rng(0), np.random.default_rng(1)]
    z, _, short = sampler.draw([5, 0], max_label_diff=1e-9, rngs=rngs)
    assert len(z[0]) < 5 and short == [True, False]


# --- quantisation --------------------------------------------------------------------------


def test_quantisation_clips_before_the_cast():
    pixels = torch.tensor([0.0, 0.5, 1.0, 1.0 + 1e-6, 1.7, -0.2, float("nan")])
    assert to_uint8(pixels).tolist() == [0, 128, 255, 255, 255, 0, 0]
    # what the reference's floor(x * 256) cast does to a saturated pixel:
    assert np.floor(np.float32(1.0) * 256).astype(np.int64).astype(np.uint8) == 0


# --- the corpus, seeding and the cache -----------------------------------------------------


def _generator(**extra) -> AmbiguousGenerator:
    return AmbiguousGenerator(pairs=PAIRS, grid_size=20, max_label_diff=MLD, **{**FAST, **extra})


def test_corpus_has_two_class_soft_labels_and_pair_columns(digits, model_cache, tmp_path):
    corpus = _generator().build(digits, tmp_path / "amb", seed=0, num_samples=101)
    assert corpus.kind == "ambiguous" and len(corpus) == 101
    data = corpus.load()
    probs, pair, labels = data["label_probs"], data["pair"], data["labels"]
    nonzero = probs > 0
    assert (nonzero.sum(1) == 2).all()
    assert torch.equal(torch.nonzero(nonzero)[:, 1].view(-1, 2), pair)
    assert {tuple(p) for p in pair.tolist()} == {(0, 1), (3, 5)}
    p1 = probs.gather(1, pair[:, :1]).squeeze(1)
    p2 = probs.gather(1, pair[:, 1:]).squeeze(1)
    assert ((p1 - p2).abs() < MLD).all()
    assert ((labels == pair[:, 0]) | (labels == pair[:, 1])).all()
    assert (data["source_index"] == -1).all()
    assert data["latent"].shape == (101, 2) and (data["latent"][:, 0].abs() <= 1).all()
    counts = torch.bincount(pair[:, 0], minlength=4)
    assert sorted(counts[[0, 3]].tolist()) == [50, 51]  # split evenly over the pairs


def test_hard_labels_follow_the_soft_labels(trained):
    columns = sample_corpus_columns(trained, 4000, max_label_diff=MLD, seed=4, grid_size=20)
    pair, probs, labels = columns["pair"], columns["label_probs"], columns["labels"]
    p_first = probs.gather(1, pair[:, :1]).squeeze(1)
    drew_first = (labels == pair[:, 0]).double()
    # E[first drawn] = mean p_first; 4000 draws give a standard error below 0.008.
    assert drew_first.mean().item() == pytest.approx(p_first.double().mean().item(), abs=0.03)
    images = columns["images"]
    assert images.dtype == torch.uint8 and images.shape == (4000, 1, 8, 8)


def _shard_bytes(corpus) -> bytes:
    return b"".join((corpus.path / shard.path).read_bytes() for shard in corpus.manifest.shards)


def test_same_seed_gives_the_same_bytes(digits, model_cache, tmp_path):
    a = _generator().build(digits, tmp_path / "a", seed=7, num_samples=60)
    # a fresh cache: the models are trained again, and still match
    (model_cache / "ambiguous").rename(tmp_path / "old-models")
    b = _generator().build(digits, tmp_path / "b", seed=7, num_samples=60)
    c = _generator().build(digits, tmp_path / "c", seed=8, num_samples=60)
    assert _shard_bytes(a) == _shard_bytes(b)
    assert hashlib.sha256(_shard_bytes(a)).digest() != hashlib.sha256(_shard_bytes(c)).digest()
    old = next((tmp_path / "old-models").iterdir()) / "pairs.safetensors"
    new = next((model_cache / "ambiguous").iterdir()) / "pairs.safetensors"
    assert old.read_bytes() == new.read_bytes()


@pytest.mark.filterwarnings("ignore:pair.*ran out of ambiguous points")
def test_the_quality_filter_keeps_what_an_independent_classifier_calls_ambiguous(
    digits, model_cache, tmp_path
):
    from generators.ambiguous.quality_filter import QualityFilter
    from supervisor_testing.models import train_model

    filtered = _generator(filter_arch="mlp", filter_max_validity=95)
    corpus = filtered.build(digits, tmp_path / "f", seed=3, num_samples=80)
    again = filtered.build(digits, tmp_path / "g", seed=3, num_samples=80)
    assert len(corpus) == 80 and _shard_bytes(corpus) == _shard_bytes(again)
    data = corpus.load(["images", "pair"])
    mlp = train_model(digits, "mlp", seed=0).module.eval()  # the filter's classifier
    with torch.no_grad():
        top2 = mlp(data["images"].float() / 255).topk(2, dim=1).indices.sort(dim=1).values
    assert torch.equal(top2, data["pair"])
    # the same draws without the filter include samples it rejects
    plain = _generator().build(digits, tmp_path / "p", seed=3, num_samples=400).load()
    check = QualityFilter.train(digits, arch="mlp", seed=0, max_validity=95)
    assert not check.keep(plain["images"], plain["pair"]).all()
    assert check.keep(data["images"], data["pair"]).all()


def test_a_filter_that_rejects_everything_gives_up(trained):
    sampler = DensitySampler(trained.model, trained.config, grid_size=20)
    rngs = [np.random.default_rng(0), np.random.default_rng(1)]
    reject = lambda z, judge: np.zeros(judge.shape, dtype=bool)  # noqa: E731
    z, _, short = sampler.draw([5, 5], max_label_diff=MLD, rngs=rngs, accept=reject)
    assert [len(zi) for zi in z] == [0, 0] and short == [True, True]


def _mixup_candidates(digits: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel mixups of four pairs over a range of weights: candidates that the digits
    judges partly accept and partly reject (tiny pair models' samples are nearly all
    rejected, which would make a committee test vacuous)."""
    pairs = torch.tensor([[0, 1], [3, 5], [4, 9], [1, 7]]).repeat(100, 1)
    return pixel_mixup(digits, pairs, torch.linspace(0.2, 0.8, len(pairs)), seed=0), pairs


def test_a_committee_keeps_exactly_what_every_one_of_its_judges_keeps(
    digits, model_cache, monkeypatch
):
    from generators.ambiguous.quality_filter import QualityFilter

    images, pairs = _mixup_candidates(digits)
    single = {
        arch: QualityFilter.train(digits, arch=arch, seed=0, max_validity=75).keep(images, pairs)
        for arch in ("mlp", "cnn")
    }
    committee = QualityFilter.train(digits, arch=["mlp", "cnn"], seed=0, max_validity=75)
    kept = committee.keep(images, pairs)
    assert torch.equal(kept, single["mlp"] & single["cnn"])
    assert 0 < int(kept.sum()) < max(int(k.sum()) for k in single.values())  # not vacuous
    # the neighbour search runs only on candidates every judge's top-2 test passed, and
    # each later judge's only on those the earlier judges' validity kept
    top2 = [judge.ranks_pair_first(images, pairs) for judge in committee.judges]
    searched: list[int] = []

    def counted(percentiles):
        def wrapper(x):
            searched.append(len(x))
            return percentiles(x)

        return wrapper

    for judge in committee.judges:
        monkeypatch.setattr(judge.validity, "percentiles", counted(judge.validity.percentiles))
    assert torch.equal(committee.keep(images, pairs), kept)
    first = committee.judges[0].validity.percentiles(images) <= 75
    assert searched[:2] == [int((top2[0] & top2[1]).sum()), int((top2[0] & top2[1] & first).sum())]


@pytest.mark.filterwarnings("ignore:pair.*ran out of ambiguous points")
def test_a_committee_filters_a_corpus_reproducibly(digits, model_cache, tmp_path):
    from generators.ambiguous.quality_filter import QualityFilter

    generator = _generator(filter_arch=["cnn", "mlp"], filter_max_validity=95)
    corpus = generator.build(digits, tmp_path / "c", seed=3, num_samples=20)
    again = generator.build(digits, tmp_path / "d", seed=3, num_samples=20)
    assert len(corpus) == 20 and _shard_bytes(corpus) == _shard_bytes(again)
    assert corpus.manifest.generator.params["filter_arch"] == ["cnn", "mlp"]
    data = corpus.load(["images", "pair"])
    for arch in ("mlp", "cnn"):
        judge = QualityFilter.train(digits, arch=arch, seed=0, max_validity=95)
        assert judge.keep(data["images"], data["pair"]).all(), arch


def test_committee_values_are_normalised_so_single_judges_hash_as_before():
    import dataclasses

    from supervisor_testing.recipes import Recipe, recipe_hash

    assert (
        AmbiguousGenerator(filter_arch=["mlp"]).params
        == AmbiguousGenerator(filter_arch="mlp").params
    )
    assert AmbiguousGenerator(filter_arch=("mlp",)).params["filter_arch"] == "mlp"
    assert AmbiguousGenerator(filter_arch=["resnet", "mlp"]).params["filter_arch"] == [
        "mlp", "resnet",
    ]  # fmt: skip
    recipe = Recipe(
        name="digits-ambiguous-filtered", seed=0, generator="ambiguous", dataset="digits",
        split="train", generator_params={"filter_arch": "mlp", "filter_max_validity": 90},
    )  # fmt: skip

    def with_filter(arch):
        params = {**recipe.generator_params, "filter_arch": arch}
        return recipe_hash(dataclasses.replace(recipe, generator_params=params))

    assert with_filter(["mlp"]) == recipe_hash(recipe)
    assert with_filter(["mlp", "resnet"]) == with_filter(["resnet", "mlp"]) != recipe_hash(recipe)


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (["mlp", "vgg"], r"'vgg' in \['mlp', 'vgg'\] is not one"),
        (["mlp", "cnn", "mlp"], "filter_arch names 'mlp' more than once"),
        ([], "filter_arch lists no architecture"),
        ((), "filter_arch lists no architecture"),
        ([None], "filter_arch must list reference architectures"),
    ],
)
def test_bad_committees_are_refused(digits, arch, message):
    from generators.ambiguous.quality_filter import QualityFilter

    with pytest.raises(InvalidInputError, match=message):
        AmbiguousGenerator(filter_arch=arch)
    with pytest.raises(InvalidInputError, match=message):
        QualityFilter.train(digits, arch=arch, seed=0, max_validity=90)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("mlp", "mlp"), ("mlp,cnn", ["mlp", "cnn"]), (" cnn , mlp ", ["cnn", "mlp"])],
)
def test_cli_filter_arch_takes_a_comma_separated_committee(tmp_path, monkeypatch, flag, expected):
    import generators.ambiguous

    seen: list[object] = []

    def capture(*args, filter_arch, **kwargs):
        seen.append(filter_arch)
        raise InvalidInputError("stopped before training")

    monkeypatch.setattr(generators.ambiguous, "make_ambiguous_corpus", capture)
    result = _cli_generate(tmp_path, "--filter-arch", flag)
    assert result.exit_code == 2 and "stopped before training" in result.output
    assert seen == [expected]
    # the library normalises what the command passes on
    assert AmbiguousGenerator(filter_arch=seen[0]).params["filter_arch"] == (
        sorted(expected) if isinstance(expected, list) else expected
    )


def test_trained_models_are_cached_by_data_seed_and_hyperparameters(
    digits, scratch_cache, monkeypatch
):
    config = PairTrainingConfig(**{**FAST, "epochs": 3})
    first = train_pair_models(digits, config=config, seed=0, pairs=[[0, 1]])
    assert first.path is not None and first.path.parent == scratch_cache / "ambiguous"
    assert (first.path / "config.json").is_file() and (first.path / "pairs.safetensors").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of loading the cache")

    import generators.ambiguous.training as training

    fit_pairs = training._fit_pairs
    monkeypatch.setattr(training, "_fit_pairs", no_training)
    again = train_pair_models(digits, config=config, seed=0, pairs=[[0, 1]])
    assert again.path == first.path
    for (name, a), b in zip(
        first.model.state_dict().items(), again.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    assert again.reports == first.reports
    # Restores the training alone: undoing every patch would also drop the scratch cache.
    monkeypatch.setattr(training, "_fit_pairs", fit_pairs)
    other_seed = train_pair_models(digits, config=config, seed=1, pairs=[[0, 1]])
    other_config = train_pair_models(
        digits, config=PairTrainingConfig(**{**FAST, "epochs": 4}), seed=0, pairs=[[0, 1]]
    )
    assert len({first.path, other_seed.path, other_config.path}) == 3


def test_models_cached_with_one_measure_report_the_one_they_were_judged_by(digits, scratch_cache):
    from generators.ambiguous import load_trained_pairs

    config = PairTrainingConfig(**{**FAST, "epochs": 2})
    trained = train_pair_models(digits, config=config, pairs=[[0, 1]])
    (report,) = trained.reports
    assert set(dict(report.disc_accuracies)) == set(DISC_ACCURACY_MEASURES)
    # An older cache entry recorded only the judged figure, under ``disc_accuracy``.
    meta_path = trained.path / "config.json"
    meta = json.loads(meta_path.read_text())
    del meta["pairs"][0]["disc_accuracies"]
    meta_path.write_text(json.dumps(meta))
    (old,) = load_trained_pairs(trained.path).reports
    assert dict(old.disc_accuracies) == {config.disc_accuracy_measure: report.disc_accuracy}
    assert old.disc_accuracy == report.disc_accuracy and old.accepted == report.accepted


def test_an_interrupted_training_resumes_with_its_next_try(digits, scratch_cache, monkeypatch):
    import generators.ambiguous.training as training

    never = {**FAST, "epochs": 2, "max_tries": 3, "disc_accuracy_range": (0.9999, 1.0)}
    config = PairTrainingConfig(**never)
    with pytest.warns(UserWarning):
        whole = train_pair_models(digits, config=config, pairs=[[0, 1]], cache=False)
    real, calls = training._train_try, []

    class Interrupted(Exception):
        pass

    def interrupted_second_try(*args, **kwargs):
        calls.append(kwargs["seed"])
        if len(calls) == 2 and not interrupted:
            interrupted.append(True)
            raise Interrupted
        return real(*args, **kwargs)

    interrupted: list[bool] = []

    monkeypatch.setattr(training, "_train_try", interrupted_second_try)
    with pytest.raises(Interrupted):
        train_pair_models(digits, config=config, pairs=[[0, 1]])
    (partial,) = (scratch_cache / "ambiguous").glob("*.partial")
    # The finished try's time is kept; make it stand out so the resumed total must add it.
    progress = json.loads((partial / "progress.json").read_text())
    assert progress["seconds"] > 0
    progress["seconds"] = 1000.0
    (partial / "progress.json").write_text(json.dumps(progress))
    calls.clear()
    with pytest.warns(UserWarning):
        resumed = train_pair_models(digits, config=config, pairs=[[0, 1]])
    assert len(calls) == 2  # tries 2 and 3 only
    assert resumed.train_seconds > 1000.0
    assert resumed.reports == whole.reports and resumed.reports[0].tries == 3
    for a, b in zip(
        whole.model.state_dict().values(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert not partial.exists()


def test_raising_max_tries_goes_on_from_a_shorter_cached_run(digits, scratch_cache, monkeypatch):
    import generators.ambiguous.training as training

    never = {**FAST, "epochs": 2, "disc_accuracy_range": (0.9999, 1.0)}
    del never["max_tries"]
    with pytest.warns(UserWarning):
        whole = train_pair_models(
            digits, config=PairTrainingConfig(**never, max_tries=3), pairs=[[0, 1]], cache=False
        )
    with pytest.warns(UserWarning):
        shorter = train_pair_models(
            digits, config=PairTrainingConfig(**never, max_tries=1), pairs=[[0, 1]]
        )
    real, seeds = training._train_try, []

    def counted(*args, **kwargs):
        seeds.append(kwargs["seed"])
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "_train_try", counted)
    with pytest.warns(UserWarning):
        longer = train_pair_models(
            digits, config=PairTrainingConfig(**never, max_tries=3), pairs=[[0, 1]]
        )
    assert seeds == [training.try_seed(0, 1), training.try_seed(0, 2)]
    assert longer.reports == whole.reports and longer.reports[0].tries == 3
    for a, b in zip(
        whole.model.state_dict().values(), longer.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert longer.train_seconds >= shorter.train_seconds
    assert shorter.path.is_dir() and longer.path != shorter.path
    assert not list((scratch_cache / "ambiguous").glob("*.partial"))


def test_make_ambiguous_corpus_and_the_registered_generator(digits, model_cache, tmp_path):
    assert type(create_generator("ambiguous")) is AmbiguousGenerator
    corpus = make_ambiguous_corpus(
        digits, tmp_path / "made", num_samples=20, seed=1, pairs=PAIRS, grid_size=20,
        max_label_diff=MLD, **FAST,
    )  # fmt: skip
    assert len(corpus) == 20 and corpus.manifest.generator.params["pairs"] == PAIRS


def test_shipped_recipes_are_valid():
    for name in ("mnist-ambiguous", "fashion-mnist-ambiguous", "mnist-ambiguous-demo"):
        recipe = load_recipe(name)
        assert recipe.generator == "ambiguous" and recipe.split == "train"
        assert recipe.create_generator().params["max_label_diff"] == 0.2


# --- bad input -------------------------------------------------------------------------------


def test_fewer_than_two_classes_is_refused():
    with pytest.raises(InvalidInputError, match="at least two classes"):
        class_pairs(torch.zeros(50, dtype=torch.int64), ("only",))
    with pytest.raises(InvalidInputError, match="at least two classes"):
        train_pair_models(_tiny_dataset([50, 0, 0]), config=PairTrainingConfig(**FAST))


def test_a_pair_with_too_few_images_is_refused():
    data = _tiny_dataset([50, MIN_IMAGES_PER_CLASS - 1, 50])
    with pytest.raises(InvalidInputError, match=r"'0'/'1' has only 9 training image"):
        train_pair_models(data, config=PairTrainingConfig(**FAST), cache=False)
    # leaving the pair out works
    assert class_pairs(data.labels, data.class_names, [[2, 0]]) == [(0, 2)]


@pytest.mark.parametrize("pairs", [[[0, 0]], [[0, 11]], [[0]], [[0, 1], [1, 0]], []])
def test_malformed_pairs_are_refused(pairs):
    with pytest.raises(InvalidInputError, match="pair"):
        class_pairs(torch.arange(10).repeat(20), tuple("abcdefghij"), pairs)


@pytest.mark.parametrize("value", [0, 0.0, -0.1, 1.5, True, "0.2", float("nan")])
def test_max_label_diff_outside_zero_one_is_refused(value):
    with pytest.raises(InvalidInputError, match=r"max_label_diff must lie in \(0, 1\]"):
        AmbiguousGenerator(max_label_diff=value)


def test_max_label_diff_of_one_is_allowed():
    assert AmbiguousGenerator(max_label_diff=1).params["max_label_diff"] == 1.0


@pytest.mark.parametrize("n", [0, -3])
def test_non_positive_sample_counts_are_refused(trained, digits, tmp_path, n):
    with pytest.raises(InvalidInputError, match="num_samples must be a positive int"):
        sample_corpus_columns(trained, n, max_label_diff=0.2, seed=0)
    with pytest.raises(InvalidInputError, match="num_samples must be a positive int"):
        next(_generator().generate(digits, seed=0, num_samples=n))


def test_bad_training_parameters_are_refused():
    with pytest.raises(InvalidInputError, match="epochs must be a positive int"):
        AmbiguousGenerator(epochs=0)
    with pytest.raises(InvalidInputError, match="disc_accuracy_range"):
        AmbiguousGenerator(disc_accuracy_range=[0.6, 0.4])
    with pytest.raises(InvalidInputError, match="unknown parameter 'epoch'"):
        AmbiguousGenerator(epoch=3)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter_arch": "vgg"}, "filter_arch must be a reference architecture"),
        ({"filter_seed": -1}, "filter_seed must be a non-negative int"),
        ({"filter_max_validity": 0}, "filter_max_validity must be a percentile"),
        ({"filter_max_validity": 101}, "filter_max_validity must be a percentile"),
    ],
)
def test_bad_filter_parameters_are_refused(params, message):
    with pytest.raises(InvalidInputError, match=message):
        AmbiguousGenerator(**params)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "--n"),
        (["--max-label-diff", "0"], "--max-label-diff"),
        (["--max-label-diff", "1.2"], "--max-label-diff"),
        (["--pairs", "3:5"], "write class indices like 3-5"),
        (["--batch-size", "0"], "--batch-size"),
        (["--max-tries", "0"], "--max-tries"),
        (["--filter-max-validity", "0"], "--filter-max-validity"),
        (["--filter-arch", "mlp,vgg"], "'vgg' in ['mlp', 'vgg'] is not one"),
        (["--filter-arch", "mlp,mlp"], "filter_arch names 'mlp' more than once"),
    ],
)
def test_cli_refuses_bad_input_with_exit_code_2(tmp_path, args, message):
    result = CliRunner().invoke(
        main, ["--quiet", "generate", "ambiguous", "--out", str(tmp_path / "x"), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_cli_library_errors_exit_2(tmp_path):
    result = CliRunner().invoke(
        main,
        ["--quiet", "generate", "ambiguous", "--dataset", "digits", "--pairs", "0-12",
         "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "error: each pair must be two different class indices" in result.output


# --- quality assessment ----------------------------------------------------------------------


def test_ambiguity_scores_against_a_hand_computation():
    probs = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    labels = torch.tensor([1, 1, 0])
    soft = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.4, 0.6], [0.7, 0.0, 0.3]])
    s = ambiguity_scores(probs, labels, soft)
    assert s.top1_accuracy == pytest.approx(1 / 3)
    assert s.top2_accuracy == pytest.approx(1.0)
    assert s.top_pair_accuracy == pytest.approx(2 / 3)  # row 3's top two are {0, 1}
    h = [-sum(p * math.log2(p) for p in row if p > 0) for row in probs.tolist()]
    assert s.entropy_bits == pytest.approx(sum(h) / 3)
    assert ambiguity_scores(probs, labels).top_pair_accuracy is None


def test_error_percentiles_and_mixup():
    reference = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert error_percentiles(torch.tensor([0.0, 2.0, 9.0]), reference).tolist() == [0, 37.5, 100]
    pool = Dataset(
        "toy", "test", torch.tensor([0, 100, 200], dtype=torch.uint8).view(3, 1, 1, 1),
        torch.tensor([0, 1, 1]), ("a", "b"),
    )  # fmt: skip
    mixed = pixel_mixup(pool, torch.tensor([[0, 1]] * 50), torch.full((50,), 0.5), seed=0)
    assert set(mixed.flatten().tolist()) == {50, 100}  # 0.5 * 0 + 0.5 * {100, 200}


def test_feature_validity_ranks_nominal_at_fifty_and_noise_above(digits):
    from generators.ambiguous.validity import FeatureValidity
    from supervisor_testing.models import train_model

    test = load_dataset("digits", "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = train_model(digits, "mlp", seed=3, epochs=3, cache=False).module
    validity = FeatureValidity(classifier, train=digits, reference=test, k=5)
    assert validity.percentiles(test.images).mean().item() == pytest.approx(50.0, abs=1e-9)
    noise = torch.randint(0, 256, (64, *digits.image_shape), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert validity.percentiles(noise).mean().item() > 90
    with pytest.raises(InvalidInputError, match="needs at least 5000 nominal training"):
        FeatureValidity(classifier, train=digits, reference=test, k=5000)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_assess_ambiguity_end_to_end(digits, model_cache, tmp_path):
    from generators.ambiguous import assess_ambiguity
    from supervisor_testing.models import train_model

    generator = _generator()
    corpus = generator.build(digits, tmp_path / "q", seed=0, num_samples=80)
    test = load_dataset("digits", "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = train_model(digits, "mlp", seed=3, epochs=3, cache=False).module
        result = assess_ambiguity(
            corpus,
            train=digits,
            test=test,
            classifier=classifier,
            trained=generator.train(digits),
            neighbours=5,
        )
    assert [r.name for r in result.rows] == ["ambiguous", "nominal", "mixup", "reconstruction"]
    nominal = result.row("nominal")
    assert nominal.top_pair_accuracy is None and nominal.samples == len(test)
    assert nominal.top1_accuracy == pytest.approx(result.classifier_test_accuracy)
    # the reference is the test split itself, so its mean percentile is exactly 50
    assert nominal.validity_percentile == pytest.approx(50.0, abs=1e-9)
    # only the test images of the pairs' classes (0, 1, 3, 5) are reconstructed
    held = sum(int((test.labels == c).sum()) for c in (0, 1, 3, 5))
    assert result.row("reconstruction").samples == held
    assert result.row("ambiguous").top_pair_accuracy is not None
    assert "top-pair" in result.table()
    with pytest.raises(InvalidInputError, match="not an ambiguous corpus"):
        nominal_corpus = create_generator("nominal").build(test, tmp_path / "n", seed=0)
        assess_ambiguity(nominal_corpus, train=digits, test=test, classifier=torch.nn.Identity())


# --- the authors' released files -------------------------------------------------------------


def _released_rows(n: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    pairs = np.array([[3, 5], [9, 4], [0, 1], [2, 7], [6, 8], [1, 2]])[:n]
    p1 = rng.uniform(0.4, 0.6, n)
    labels = np.where(rng.random(n) < p1, pairs[:, 0], pairs[:, 1])
    return images, pairs, p1, labels


def test_import_the_released_csv_export(tmp_path):
    from generators.ambiguous import import_released_corpus

    images, pairs, p1, labels = _released_rows()
    header = ["", "dataset", "split", "class_1", "class_2", "p(class_1)", "p(class_2)",
              "det_label", "autoencoder_id"]  # fmt: skip
    header += [f"x_({r}, {c})" for r in range(28) for c in range(28)]
    lines = [",".join(f'"{h}"' if "," in h else h for h in header)]
    for i in range(len(labels)):
        row = [i, "mnist", "test", *pairs[i], f"{p1[i]:.6f}", f"{1 - p1[i]:.6f}", labels[i], 42]
        lines.append(",".join(map(str, [*row, *images[i].reshape(-1)])))
    csv_file = tmp_path / "mnist-test.csv"
    csv_file.write_text("\n".join(lines) + "\n")

    corpus = import_released_corpus(csv_file, tmp_path / "released")
    data = corpus.load()
    assert corpus.kind == "ambiguous" and len(corpus) == 6
    assert torch.equal(data["images"][:, 0], torch.from_numpy(images))
    assert torch.equal(data["labels"], torch.from_numpy(labels))
    assert data["pair"][1].tolist() == [4, 9]  # pairs are stored first < second
    assert data["label_probs"][1, 9].item() == pytest.approx(p1[1], abs=1e-6)
    assert data["label_probs"][1, 4].item() == pytest.approx(1 - p1[1], abs=1e-6)
    assert (data["autoencoder_id"] == 42).all()
    with pytest.raises(InvalidInputError, match="not an AmbiGuess CSV export"):
        (tmp_path / "other.csv").write_text("a,b\n1,2\n")
        import_released_corpus(tmp_path / "other.csv", tmp_path / "nope")


def test_import_the_released_numpy_export(tmp_path):
    from generators.ambiguous import import_released_corpus

    images, pairs, p1, labels = _released_rows()
    soft = np.zeros((6, 10))
    soft[np.arange(6), pairs[:, 0]] = p1
    soft[np.arange(6), pairs[:, 1]] = 1 - p1
    folder = tmp_path / "npy-arrays"
    folder.mkdir()
    np.save(folder / "fmnist-test-images.npy", images)
    np.save(folder / "fmnist-test-prob-labels.npy", soft)
    np.save(folder / "fmnist-test-det-labels.npy", labels.astype(np.uint8))
    corpus = import_released_corpus(folder, tmp_path / "released", dataset="fashion-mnist")
    data = corpus.load()
    assert torch.allclose(data["label_probs"], torch.from_numpy(soft).float())
    assert torch.equal(data["pair"], torch.from_numpy(np.sort(pairs, axis=1)))
    assert (data["autoencoder_id"] == -1).all()
    assert corpus.class_names[0] == "T-shirt/top"


def _write_released_split(folder, stem: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    soft = np.zeros((n, 10))
    soft[:, 2], soft[:, 7] = 0.55, 0.45
    np.save(folder / f"{stem}-images.npy", images)
    np.save(folder / f"{stem}-prob-labels.npy", soft)
    np.save(folder / f"{stem}-det-labels.npy", np.full(n, 2, dtype=np.uint8))
    return images


def test_import_picks_the_split_from_a_numpy_export_with_both(tmp_path):
    from generators.ambiguous import import_released_corpus

    folder = tmp_path / "npy-arrays"
    folder.mkdir()
    train = _write_released_split(folder, "fmnist-train", 5, seed=1)
    test = _write_released_split(folder, "fmnist-test", 3, seed=2)
    for split, images in (("train", train), ("test", test)):
        corpus = import_released_corpus(
            folder, tmp_path / split, dataset="fashion-mnist", split=split
        )
        assert corpus.manifest.source.split == split
        assert torch.equal(corpus.load(["images"])["images"][:, 0], torch.from_numpy(images))
    with pytest.raises(InvalidInputError, match="no 'calibration' export") as error:
        import_released_corpus(folder, tmp_path / "c", dataset="fashion-mnist", split="calibration")
    message = str(error.value)
    assert "fmnist-test-images.npy" in message and "fmnist-train-images.npy" in message
    assert "split= one of 'test', 'train'" in message
    _write_released_split(folder, "mnist-test", 2, seed=3)
    with pytest.raises(InvalidInputError, match="several 'test' exports"):
        import_released_corpus(folder, tmp_path / "d", split="test")
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def _png(image: np.ndarray) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")  # a 2-D uint8 array is mode "L"
    return buffer.getvalue()


def _parquet_rows(images, pairs, p1, labels, *, nested: bool = False) -> dict[str, list]:
    """Rows as the Hugging Face export holds them: a PNG struct image and a 10-class p_label."""
    soft = np.zeros((len(labels), 10))
    soft[np.arange(len(labels)), pairs[:, 0]] = p1
    soft[np.arange(len(labels)), pairs[:, 1]] = 1 - p1
    return {
        "image": [im.tolist() if nested else {"bytes": _png(im), "path": None} for im in images],
        "label": [int(v) for v in labels],
        "text_label": [
            f"p({a})={p:.2f}, p({b})={1 - p:.2f}" for (a, b), p in zip(pairs, p1, strict=True)
        ],
        "p_label": soft.tolist(),
        "is_ambiguous": [True] * len(labels),
    }


def _write_parquet(path, rows: dict[str, list]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(rows), path)


def test_import_the_released_parquet_export_skipping_a_mixed_splits_nominal_rows(tmp_path):
    pytest.importorskip("pyarrow")
    from generators.ambiguous import import_released_corpus

    images, pairs, p1, labels = _released_rows()
    rows = _parquet_rows(images, pairs, p1, labels)
    nominal = np.random.default_rng(5).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    for i, image in enumerate(nominal):  # nominal rows interleaved, as in test_mixed
        at = 2 * i + 1
        rows["image"].insert(at, {"bytes": _png(image), "path": None})
        rows["label"].insert(at, i)
        rows["text_label"].insert(at, f"p({i})=1.00")
        rows["p_label"].insert(at, np.eye(10)[i].tolist())
        rows["is_ambiguous"].insert(at, False)
    file = tmp_path / "test_mixed-00000-of-00001.parquet"
    _write_parquet(file, rows)

    with pytest.warns(UserWarning, match="skipped 3 of 9 rows.*keeps ambiguous rows only"):
        corpus = import_released_corpus(file, tmp_path / "released", dataset="fashion-mnist")
    data = corpus.load()
    assert corpus.kind == "ambiguous" and len(corpus) == 6
    assert torch.equal(data["images"][:, 0], torch.from_numpy(images))
    assert torch.equal(data["labels"], torch.from_numpy(labels))
    assert torch.equal(data["pair"], torch.from_numpy(np.sort(pairs, axis=1)))
    expected = np.array(rows["p_label"])[np.array(rows["is_ambiguous"])]
    assert torch.allclose(data["label_probs"], torch.from_numpy(expected).float(), atol=1e-7)
    assert (data["autoencoder_id"] == -1).all() and (data["source_index"] == -1).all()
    assert corpus.class_names[0] == "T-shirt/top"
    assert corpus.manifest.generator.params == {"file": file.name}
    assert corpus.manifest.source.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()


def test_import_concatenates_parquet_shards_in_name_order(tmp_path):
    pytest.importorskip("pyarrow")
    from generators.ambiguous import import_released_corpus

    images, pairs, p1, labels = _released_rows()
    folder = tmp_path / "data"
    folder.mkdir()
    # Written second-shard first, so file-system order would put it first.
    for shard, part in ((1, slice(4, 6)), (0, slice(0, 4))):
        rows = _parquet_rows(images[part], pairs[part], p1[part], labels[part], nested=True)
        del rows["is_ambiguous"]  # the ambiguous-only splits need not carry the flag
        _write_parquet(folder / f"test-0000{shard}-of-00002.parquet", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is skipped, so nothing warns
        corpus = import_released_corpus(folder, tmp_path / "released")
    data = corpus.load()
    assert torch.equal(data["images"][:, 0], torch.from_numpy(images))
    assert torch.equal(data["labels"], torch.from_numpy(labels))
    shards = ["test-00000-of-00002.parquet", "test-00001-of-00002.parquet"]
    assert corpus.manifest.generator.params == {"file": "data", "shards": shards}
    digest = hashlib.sha256(b"".join((folder / s).read_bytes() for s in shards)).hexdigest()
    assert corpus.manifest.source.sha256 == digest
    _write_parquet(
        folder / "train-00000-of-00001.parquet", _parquet_rows(images, pairs, p1, labels)
    )
    with pytest.raises(InvalidInputError, match=r"several splits \(test, train\)"):
        import_released_corpus(folder, tmp_path / "mixed")


def _bad_three_classes(rows):
    rows["p_label"][2] = [0.4, 0.3, 0.3] + [0.0] * 7
    rows["label"][2] = 0


def _bad_label(rows):
    rows["label"][2] = 5  # row 2's pair is (0, 1)


def _bad_size(rows):
    rows["image"][2] = {"bytes": _png(np.zeros((32, 32), dtype=np.uint8)), "path": None}


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_bad_three_classes, r"row 2: p_label needs exactly two non-zero classes .*got 3"),
        (_bad_label, r"row 2: label 5 is not one of its pair's classes \(0, 1\)"),
        (_bad_size, "row 2: the image is 32x32, but the data set's images are 28x28"),
    ],
)
def test_a_bad_parquet_row_is_refused_by_name(tmp_path, spoil, message):
    pytest.importorskip("pyarrow")
    from generators.ambiguous import import_released_corpus

    rows = _parquet_rows(*_released_rows())
    spoil(rows)
    _write_parquet(tmp_path / "test.parquet", rows)
    with pytest.raises(InvalidInputError, match=f"test.parquet {message}"):
        import_released_corpus(tmp_path / "test.parquet", tmp_path / "released")
    assert not (tmp_path / "released").exists()


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    from generators.ambiguous import import_released_corpus

    _write_parquet(tmp_path / "test.parquet", _parquet_rows(*_released_rows()))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InvalidInputError, match=r"needs pyarrow.*supervisor-testing\[released\]"):
        import_released_corpus(tmp_path / "test.parquet", tmp_path / "released")


@pytest.mark.filterwarnings("ignore:1 pair model")
def test_cli_trains_then_reports_that_no_pair_passed(scratch_cache, tmp_path):
    # One epoch cannot pass the reference acceptance rule: the command trains, then
    # ends with the library's explanation and exit code 2 instead of an empty corpus.
    result = CliRunner().invoke(
        main,
        ["--quiet", "generate", "ambiguous", "--dataset", "digits", "--pairs", "0-1",
         "--epochs", "1", "--n", "5", "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "no pair model passed the acceptance rule" in result.output
    assert not (tmp_path / "x").exists()
    assert len(list((scratch_cache / "ambiguous").iterdir())) == 1  # the models are cached


# --- CLI training defaults from the shipped recipe ------------------------------------------

_DIGITS_RECIPE = """
name = "digits-ambiguous"
seed = 0

[source]
dataset = "digits"
split = "train"

[generator]
name = "ambiguous"

[generator.params]
max_label_diff = 0.5
epochs = 3
batch_size = 32
max_tries = 2
"""


@pytest.fixture
def digits_recipe(tmp_path, monkeypatch):
    """A ``digits-ambiguous`` recipe on the recipe search path."""
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-ambiguous.toml").write_text(_DIGITS_RECIPE, encoding="utf-8")
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    return load_recipe("digits-ambiguous")


def _capture_training_config(monkeypatch) -> list[PairTrainingConfig]:
    """Record the config the generator trains with, then stop before any training."""
    import generators.ambiguous.generator as generator_module

    seen: list[PairTrainingConfig] = []

    def capture(source, *, config, **kwargs):
        seen.append(config)
        raise InvalidInputError("stopped before training")

    monkeypatch.setattr(generator_module, "train_pair_models", capture)
    return seen


def _cli_generate(tmp_path, *args: str):
    return CliRunner().invoke(
        main,
        ["--quiet", "generate", "ambiguous", "--dataset", "digits", "--pairs", "0-1",
         "--n", "5", "--out", str(tmp_path / "x"), *args],
    )  # fmt: skip


def test_cli_takes_unset_training_options_from_the_data_sets_recipe(
    digits_recipe, scratch_cache, tmp_path, monkeypatch
):
    seen = _capture_training_config(monkeypatch)
    result = _cli_generate(tmp_path)
    assert result.exit_code == 2 and "stopped before training" in result.output
    params = digits_recipe.generator_params
    assert (seen[0].epochs, seen[0].batch_size, seen[0].max_tries) == (
        params["epochs"], params["batch_size"], params["max_tries"],
    )  # fmt: skip
    # exactly the recipe's models, so the two share the cache
    recipe_generator = digits_recipe.create_generator()
    assert seen[0] == recipe_generator.training_config(recipe_generator.params)
    # an explicit flag wins; the other options still come from the recipe
    result = _cli_generate(tmp_path, "--batch-size", "17")
    assert result.exit_code == 2
    assert (seen[1].epochs, seen[1].batch_size, seen[1].max_tries) == (
        params["epochs"], 17, params["max_tries"],
    )  # fmt: skip
    # the recipe trains on the train split: another split gets the reference's defaults
    result = _cli_generate(tmp_path, "--split", "test")
    assert result.exit_code == 2
    reference = PairTrainingConfig()
    assert (seen[2].epochs, seen[2].batch_size, seen[2].max_tries) == (
        reference.epochs, reference.batch_size, reference.max_tries,
    )  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_recipe_training_defaults_follow_the_shipped_recipes(tmp_path, monkeypatch):
    from supervisor_testing.cli.generate_ambiguous import recipe_training_defaults

    monkeypatch.delenv("SUPERVISOR_TESTING_RECIPES", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./corpora: the shipped recipes only
    for name in ("mnist", "fashion-mnist"):
        params = load_recipe(f"{name}-ambiguous").generator_params
        wanted = {k: params[k] for k in ("epochs", "batch_size", "max_tries") if k in params}
        assert recipe_training_defaults(name, "train") == wanted
        assert recipe_training_defaults(name, "test") == {}
    assert recipe_training_defaults("digits", "train") == {}  # no digits recipe ships
    assert recipe_training_defaults(str(tmp_path), "train") == {}  # user data


# --- sampling progress -----------------------------------------------------------------------


def test_sampling_progress_counts_accepted_samples_and_changes_no_draw(trained, monkeypatch):
    import tqdm.auto

    bars: list[tqdm.auto.tqdm] = []

    class Recorded(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.shown = not self.disable  # close() sets disable
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorded)
    kwargs = {"max_label_diff": MLD, "seed": 5, "grid_size": 20}
    quiet = sample_corpus_columns(trained, 73, **kwargs)
    assert bars and not any(bar.shown for bar in bars)
    bars.clear()
    shown = sample_corpus_columns(trained, 73, **kwargs, progress=True)
    sampling = [bar for bar in bars if bar.desc == "sampling"]
    assert len(sampling) == 1 and sampling[0].shown
    assert sampling[0].total == 73 and sampling[0].n == 73
    assert quiet.keys() == shown.keys()
    for key in quiet:
        assert torch.equal(quiet[key], shown[key]), key


# --- the pair-model cache key ----------------------------------------------------------------


def test_the_pair_model_cache_key_follows_the_training_data(digits):
    from generators.ambiguous.pair_store import pair_models_key

    config = PairTrainingConfig(**FAST)
    key = pair_models_key(digits.sha256(), [(0, 1)], config, seed=0)
    assert key == pair_models_key(digits.sha256(), [(0, 1)], config, seed=0)
    images = digits.images.clone()
    images[0, 0, 0, 0] ^= 1  # one pixel, one bit
    changed = Dataset(digits.name, digits.split, images, digits.labels, digits.class_names)
    assert changed.sha256() != digits.sha256()
    assert pair_models_key(changed.sha256(), [(0, 1)], config, seed=0) != key
    assert pair_models_key("0" * 64, [(0, 1)], config, seed=0) != key
