"""Feature-based supervisors against independent numpy / scipy / sklearn computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import gaussian_kde
from sklearn.neighbors import NearestNeighbors
from torch import nn
from zoo_models import NUM_CLASSES, NoDropoutNet, ToyNet, features_of, images, toy_dataset

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors import create_supervisor
from supervisor_testing.supervisors.feature import LayerTap
from supervisor_testing.supervisors.feature.mahalanobis import RELATIVE_RIDGE
from supervisor_testing.supervisors.result_cache import clear_shared_caches


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_shared_caches()
    yield
    clear_shared_caches()


@pytest.fixture
def model() -> ToyNet:
    return ToyNet()


@pytest.fixture
def train():
    return toy_dataset()


@pytest.fixture
def queries() -> torch.Tensor:
    return torch.cat([images(30, seed=5), 3 * images(10, seed=6)])  # some far from nominal


def _nominal(model, train):
    x = train.images.float() / 255
    f = features_of(model, x).numpy()
    y = train.labels.numpy()
    with torch.no_grad():
        logits = model(x).double().numpy()
    return f, y, logits


def _query(model, queries):
    f = features_of(model, queries).numpy()
    with torch.no_grad():
        logits = model(queries).double().numpy()
    return f, logits


def _shared_covariance(f, y):
    means = np.stack([f[y == c].mean(axis=0) for c in range(NUM_CLASSES)])
    centred = f - means[y]
    cov = centred.T @ centred / len(f)
    ridge = RELATIVE_RIDGE * np.trace(cov) / len(cov)
    return means, np.linalg.inv(cov + ridge * np.eye(len(cov)))


def _mahalanobis_all(fq, means, precision):
    diff = fq[:, None, :] - means[None]
    return np.einsum("nkd,de,nke->nk", diff, precision, diff)


def test_mahalanobis_matches_numpy(model, train, queries):
    f, y, _ = _nominal(model, train)
    means, precision = _shared_covariance(f, y)
    fq, _ = _query(model, queries)
    expected = _mahalanobis_all(fq, means, precision).min(axis=1)
    got = create_supervisor("mahalanobis", model).fit(train).score(queries)
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-4)


def test_mdsa_uses_the_predicted_class(model, train, queries):
    f, y, _ = _nominal(model, train)
    means, precision = _shared_covariance(f, y)
    fq, logits = _query(model, queries)
    d2 = _mahalanobis_all(fq, means, precision)
    expected = d2[np.arange(len(fq)), logits.argmax(axis=1)]
    got = create_supervisor("mdsa", model).fit(train).score(queries)
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-4)
    assert (got.numpy() >= d2.min(axis=1) * (1 - 1e-4)).all()


def test_lsa_matches_scipy_gaussian_kde(model, train, queries):
    f, y, _ = _nominal(model, train)
    keep = np.ones(f.shape[1], dtype=bool)
    for c in range(NUM_CLASSES):
        keep &= f[y == c].var(axis=0, ddof=1) >= 1e-5
    kdes = [gaussian_kde(f[y == c][:, keep].T) for c in range(NUM_CLASSES)]
    fq, logits = _query(model, queries)
    predicted = logits.argmax(axis=1)
    expected = np.array(
        [-kdes[c].logpdf(v[keep][:, None])[0] for v, c in zip(fq, predicted, strict=True)]
    )
    supervisor = create_supervisor("lsa", model).fit(train)
    assert supervisor.neurons_.tolist() == np.flatnonzero(keep).tolist()
    np.testing.assert_allclose(supervisor.score(queries).numpy(), expected, rtol=1e-4)


def test_lsa_max_neurons_keeps_the_highest_variance(model, train):
    f, _, _ = _nominal(model, train)
    supervisor = create_supervisor("lsa", model, max_neurons=2, var_threshold=0.0).fit(train)
    assert sorted(supervisor.neurons_.tolist()) == sorted(np.argsort(-f.var(axis=0))[:2].tolist())


def test_dsa_matches_brute_force(model, train, queries):
    f, y, _ = _nominal(model, train)
    fq, logits = _query(model, queries)
    expected = []
    for v, c in zip(fq, logits.argmax(axis=1), strict=True):
        own = np.flatnonzero(y == c)
        d_own = np.linalg.norm(f[own] - v, axis=1)
        anchor = f[own[d_own.argmin()]]
        d_other = np.linalg.norm(f[y != c] - anchor, axis=1).min()
        expected.append(d_own.min() / d_other)
    got = create_supervisor("dsa", model).fit(train).score(queries)
    np.testing.assert_allclose(got.numpy(), np.array(expected), rtol=1e-4, atol=1e-6)


def test_knn_matches_sklearn(model, train, queries):
    f, _, _ = _nominal(model, train)
    fq, _ = _query(model, queries)
    unit = f / np.linalg.norm(f, axis=1, keepdims=True).clip(1e-12)
    unit_q = fq / np.linalg.norm(fq, axis=1, keepdims=True).clip(1e-12)
    distances, _ = NearestNeighbors(n_neighbors=7).fit(unit).kneighbors(unit_q)
    got = create_supervisor("knn", model, k=7).fit(train).score(queries)
    np.testing.assert_allclose(got.numpy(), distances[:, -1], rtol=1e-4, atol=1e-6)


def test_vim_matches_numpy(model, train, queries):
    f, _, logits = _nominal(model, train)
    w = model.head.weight.detach().double().numpy()
    b = model.head.bias.detach().double().numpy()
    u = -np.linalg.pinv(w) @ b
    x = f - u
    _, vectors = np.linalg.eigh(x.T @ x / len(x))
    residual = vectors[:, : f.shape[1] - 2]
    alpha = logits.max(axis=1).mean() / np.linalg.norm(x @ residual, axis=1).mean()
    fq, logits_q = _query(model, queries)
    expected = alpha * np.linalg.norm((fq - u) @ residual, axis=1) - logsumexp(logits_q, axis=1)
    got = create_supervisor("vim", model, dim=2).fit(train).score(queries)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_react_matches_numpy(model, train, queries):
    f, _, _ = _nominal(model, train)
    threshold = np.percentile(f, 90)
    fq, _ = _query(model, queries)
    w = model.head.weight.detach().double().numpy()
    b = model.head.bias.detach().double().numpy()
    expected = -logsumexp(np.minimum(fq, threshold) @ w.T + b, axis=1)
    supervisor = create_supervisor("react", model).fit(train)
    assert float(supervisor.threshold_) == pytest.approx(threshold)
    np.testing.assert_allclose(supervisor.score(queries).numpy(), expected, rtol=1e-5)


def test_odin_matches_per_sample_autograd(model, queries):
    temperature, epsilon = 10.0, 0.01
    expected = []
    for x in queries:
        x = x[None].clone().requires_grad_(True)
        logits = model(x) / temperature
        loss = -torch.log_softmax(logits, dim=1)[0, logits.argmax()]
        (gradient,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            perturbed = x - epsilon * gradient.sign()
            expected.append(-(model(perturbed) / temperature).softmax(dim=1).max().item())
    supervisor = create_supervisor(
        "odin", model, temperature=temperature, epsilon=epsilon, batch_size=7
    )
    scores, predictions = supervisor.score_and_predict(queries)
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5)
    assert torch.equal(predictions, model(queries).argmax(dim=1))
    assert all(p.grad is None for p in model.parameters())  # weights untouched


def test_feature_supervisors_predict_the_model_class(model, train, queries):
    for name in ("mahalanobis", "knn", "vim", "react", "lsa", "dsa", "mdsa"):
        supervisor = create_supervisor(name, model).fit(train)
        assert torch.equal(supervisor.predict(queries), model(queries).argmax(dim=1)), name


def test_features_are_extracted_once_for_the_whole_family(model, train, queries):
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    names = ("mahalanobis", "mdsa", "lsa", "dsa", "knn", "vim", "react")
    supervisors = [create_supervisor(n, model, batch_size=1000).fit(train) for n in names]
    assert len(calls) == 1  # one pass over the nominal data for seven fits
    for supervisor in supervisors:
        supervisor.score(queries)
    assert len(calls) == 2  # and one over the queries for seven scores


def test_changed_weights_invalidate_the_cache(model, train, queries):
    supervisor = create_supervisor("knn", model, k=3).fit(train)
    before = supervisor.score(queries)
    with torch.no_grad():
        model.features[1].weight.mul_(1.5)
    after = supervisor.score(queries)
    assert not torch.allclose(before, after)


def test_any_named_layer_can_be_watched(model, queries):
    tap = LayerTap(model, "features.1")
    expected = model.features[1](model.features[0](queries))
    got = tap.extract(queries, batch_size=16)
    torch.testing.assert_close(got.features, expected.detach())
    torch.testing.assert_close(got.logits, model(queries).detach())
    head_input = LayerTap(model, "head:input").extract(queries, batch_size=16)
    assert head_input.head_is_output


def test_convolutional_layers_are_averaged_or_flattened():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    x = images(5, seed=1)
    conv = net[0](x).detach()
    torch.testing.assert_close(
        LayerTap(net, "0").extract(x, batch_size=2).features, conv.mean((2, 3))
    )
    flat = LayerTap(net, "0", reduce="flatten").extract(x, batch_size=2).features
    torch.testing.assert_close(flat, conv.flatten(1))


def test_unknown_layer_lists_the_available_ones(model):
    with pytest.raises(InvalidInputError, match=r"no layer 'features\.9'.*features\.1.*head"):
        create_supervisor("mahalanobis", model, layer="features.9")


def test_penultimate_needs_a_linear_layer():
    net = nn.Sequential(nn.Conv2d(1, 3, 4), nn.Flatten())
    with pytest.raises(InvalidInputError, match=r"no nn\.Linear"):
        LayerTap(net)


def test_a_layer_that_runs_twice_is_refused():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = nn.Linear(16, 16)
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.block(self.block(x.flatten(1))))

    with pytest.raises(InvalidInputError, match="ran 2 times"):
        LayerTap(Twice(), "block").extract(images(2, seed=0), batch_size=2)


def test_vim_and_react_need_a_final_linear_head(train):
    class Tempered(ToyNet):
        def forward(self, x):
            return super().forward(x) * 2.0  # something after the last nn.Linear

    for name in ("vim", "react"):
        with pytest.raises(InvalidInputError, match=r"last nn\.Linear"):
            create_supervisor(name, Tempered()).fit(train)


def test_fit_accepts_a_corpus_and_a_bare_tensor(model, train, tmp_path, queries):
    from supervisor_testing.corpus import corpus_from_dataset

    corpus = corpus_from_dataset(train, tmp_path / "nominal")
    from_dataset = create_supervisor("mahalanobis", model).fit(train).score(queries)
    from_corpus = create_supervisor("mahalanobis", model).fit(corpus).score(queries)
    torch.testing.assert_close(from_corpus, from_dataset)
    # A bare tensor has no labels: the model's predictions stand in, and toy_dataset's
    # labels are exactly those predictions.
    from_tensor = create_supervisor("mahalanobis", model).fit(train.images).score(queries)
    torch.testing.assert_close(from_tensor, from_dataset)


def test_class_conditional_fits_name_missing_classes(model):
    x = images(40, seed=3)
    only_two = model(x).argmax(dim=1) != 0  # drop every input predicted as class 0
    with pytest.raises(InvalidInputError, match="class\\(es\\) 0"):
        create_supervisor("lsa", model).fit(x[only_two])


def test_scoring_before_fit_is_an_error(model, queries):
    with pytest.raises(InvalidInputError, match="fitted"):
        create_supervisor("knn", model).score(queries)


def test_knn_needs_k_samples(model):
    with pytest.raises(InvalidInputError, match="k=50"):
        create_supervisor("knn", model).fit(images(10, seed=0))


def test_feature_scores_separate_far_inputs_on_a_trained_model(digits_cnn):
    module, train, test = digits_cnn
    far = torch.rand(len(test), *test.image_shape, generator=torch.Generator().manual_seed(0))
    for name in ("mahalanobis", "knn", "vim", "lsa", "dsa"):
        supervisor = create_supervisor(name, module).fit(train)
        nominal = supervisor.score(test.images).median()
        assert supervisor.score(far).median() > nominal, name


@pytest.fixture(scope="module")
def digits_cnn():
    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import train_model

    train = load_dataset("digits", "train")
    test = load_dataset("digits", "test")
    return train_model(train, "mlp", seed=0, epochs=4).module, train, test


def test_no_dropout_model_still_works_for_features(train, queries):
    supervisor = create_supervisor("knn", NoDropoutNet(), k=3).fit(train)
    assert supervisor.score(queries).shape == (len(queries),)


def test_the_softmax_family_shares_the_feature_pass(model, train, queries):
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    knn = create_supervisor("knn", model, k=3, batch_size=1000).fit(train)
    knn.score(queries)
    for name in ("max-softmax", "energy", "softmax-entropy"):
        create_supervisor(name, model, batch_size=1000).score(queries)
    assert len(calls) == 2  # the nominal pass and one pass over the queries


def test_equal_weights_in_different_wrappers_are_not_confused(queries):
    class Tempered(nn.Module):
        def __init__(self, inner: nn.Module, temperature: float) -> None:
            super().__init__()
            self.inner, self.temperature = inner, temperature

        def forward(self, x):
            return self.inner(x) / self.temperature

    inner = ToyNet()
    cold = create_supervisor("max-logit", Tempered(inner, 1.0)).score(queries)
    hot = create_supervisor("max-logit", Tempered(inner, 2.0)).score(queries)
    torch.testing.assert_close(hot, cold / 2)


@pytest.mark.parametrize("name", ["vim", "react"])
def test_vim_and_react_refuse_a_layer_other_than_the_penultimate(model, name):
    with pytest.raises(InvalidInputError, match=rf"{name} watches the penultimate layer only"):
        create_supervisor(name, model, layer="features.1")
    assert create_supervisor(name, model, layer="penultimate").layer == "penultimate"


def test_unknown_parameters_name_the_accepted_ones(model):
    with pytest.raises(InvalidInputError, match=r"'odin' does not take.*'layer'.*temperature"):
        create_supervisor("odin", model, layer="features.1")
    assert create_supervisor("odin-score", model).name == "odin"


def test_dsa_nearest_other_class_distance_is_exact_far_from_the_origin():
    """The float32 search runs on centred traces, so a large offset does not blur ties."""
    from supervisor_testing.supervisors.feature.surprise import nearest_other_class_distance

    g = torch.Generator().manual_seed(3)
    bank = 1e4 + torch.rand(400, 5, generator=g, dtype=torch.float64)
    classes = torch.randint(0, 4, (400,), generator=g)
    d = (bank[:, None] - bank[None]).norm(dim=2)  # exact differences, unlike cdist's mm path
    d.masked_fill_(classes[:, None] == classes[None], float("inf"))
    expected = d.min(dim=1).values
    np.testing.assert_allclose(
        nearest_other_class_distance(bank, classes).numpy(), expected.numpy(), rtol=1e-9
    )
