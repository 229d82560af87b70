"""Evidential (Dirichlet head) and reconstruction (VAE) supervisors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import digamma, gammaln
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors import create_supervisor
from supervisor_testing.supervisors.evidential import dissonance, evidential_loss, vacuity
from supervisor_testing.supervisors.result_cache import clear_shared_caches


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_shared_caches()
    yield
    clear_shared_caches()


def _dissonance_by_hand(e: np.ndarray) -> float:
    """Josang's dissonance, loop by loop from the definition."""
    b = e / (e + 1).sum()
    total = 0.0
    for k in range(len(b)):
        num = den = 0.0
        for j in range(len(b)):
            if j == k:
                continue
            balance = 1 - abs(b[j] - b[k]) / (b[j] + b[k]) if b[j] + b[k] > 0 else 0.0
            num += b[j] * balance
            den += b[j]
        total += b[k] * (num / den if den > 0 else 0.0)
    return total


def test_dissonance_and_vacuity_match_their_definitions():
    rng = np.random.default_rng(0)
    evidence = rng.exponential(3.0, size=(20, 4)) * (rng.random((20, 4)) > 0.3)
    evidence[0] = 0.0  # no evidence at all
    got = dissonance(torch.from_numpy(evidence)).numpy()
    np.testing.assert_allclose(got, [_dissonance_by_hand(e) for e in evidence], rtol=1e-12)
    np.testing.assert_allclose(
        vacuity(torch.from_numpy(evidence)).numpy(), 4 / (evidence + 1).sum(1)
    )


def test_dissonance_separates_conflict_from_certainty():
    e = torch.tensor([[30.0, 0.0, 0.0], [15.0, 15.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    d = dissonance(e)
    assert d[0] == 0.0  # all evidence on one class: no conflict
    assert d[1] == pytest.approx(1 - vacuity(e)[1].item())  # an even split: maximal conflict
    assert d[2] == 0.0 and vacuity(e)[2] == 1.0  # no evidence: pure ignorance


def test_evidential_loss_matches_the_formula():
    rng = np.random.default_rng(1)
    e = rng.exponential(2.0, size=(6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    onehot = np.eye(3)[y]
    alpha = e + 1
    s = alpha.sum(1, keepdims=True)
    p = alpha / s
    mse = ((onehot - p) ** 2 + p * (1 - p) / (s + 1)).sum(1)
    at = onehot + (1 - onehot) * alpha
    st = at.sum(1)
    kl = (
        gammaln(st)
        - gammaln(3)
        - gammaln(at).sum(1)
        + ((at - 1) * (digamma(at) - digamma(st)[:, None])).sum(1)
    )
    expected = (mse + 0.3 * kl).mean()
    got = evidential_loss(torch.from_numpy(e), torch.from_numpy(y), kl_weight=0.3)
    assert got.item() == pytest.approx(expected, rel=1e-10)


class Pixels(nn.Module):
    """A 'classifier' whose penultimate features are its two input pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Flatten()
        self.head = nn.Linear(2, 3)

    def forward(self, x):
        return self.head(self.features(x))


CENTRES = torch.tensor([[0.2, 0.2], [0.8, 0.2], [0.5, 0.8]])


@pytest.fixture
def blobs():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(100)
    points = CENTRES[labels] + 0.04 * torch.randn(300, 2, generator=g)
    from supervisor_testing.data.dataset import Dataset

    images = (points.clamp(0, 1) * 255).round().to(torch.uint8).reshape(300, 1, 1, 2)
    return Dataset("blobs", "train", images, labels, ("a", "b", "c"))


def test_dirichlet_head_learns_and_flags_conflict(blobs):
    model = Pixels()
    confusion = create_supervisor("evidential-confusion", model, epochs=300).fit(blobs)
    centres = CENTRES.reshape(3, 1, 1, 2)
    midpoint = ((CENTRES[0] + CENTRES[1]) / 2).reshape(1, 1, 1, 2)
    assert torch.equal(confusion.predict(centres), torch.arange(3))
    assert (confusion.predict(blobs.images) == blobs.labels).float().mean() > 0.95
    assert confusion.score(midpoint).item() > confusion.score(centres).max().item()


def test_confusion_and_ignorance_share_one_trained_head(blobs, monkeypatch):
    import supervisor_testing.supervisors.evidential as evidential

    calls = []
    original = evidential.train_dirichlet_head
    monkeypatch.setattr(
        evidential, "train_dirichlet_head", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    model = Pixels()
    confusion = create_supervisor("evidential-confusion", model, epochs=3).fit(blobs)
    ignorance = create_supervisor("evidential-ignorance", model, epochs=3).fit(blobs)
    assert len(calls) == 1
    for name, tensor in confusion.head_.state_dict().items():
        assert torch.equal(ignorance.head_.state_dict()[name], tensor)
    evidence = confusion.head_(model.features(blobs.float_images())).double()
    torch.testing.assert_close(ignorance.score(blobs.images), vacuity(evidence).float())
    create_supervisor("evidential-ignorance", model, epochs=3, seed=1).fit(blobs)
    assert len(calls) == 2  # other settings: another head


@pytest.fixture(scope="module")
def digits():
    from supervisor_testing.data import load_dataset

    return load_dataset("digits", "train"), load_dataset("digits", "test")


def test_vae_reconstruction_error_flags_unlike_inputs(digits):
    train, test = digits
    supervisor = create_supervisor("vae-reconstruction", nn.Linear(1, 1), epochs=30)
    supervisor.fit(train)
    nominal = supervisor.score(test.images)
    noise = torch.rand(len(test), 1, 8, 8, generator=torch.Generator().manual_seed(0))
    inverted = 255 - test.images
    assert supervisor.score(noise).median() > 2 * nominal.median()
    assert supervisor.score(inverted).median() > 2 * nominal.median()
    x = test.float_images()[:10]
    expected = (supervisor.vae_.reconstruct(x) - x).square().mean(dim=(1, 2, 3))
    torch.testing.assert_close(supervisor.score(x), expected.detach())


def test_vae_training_is_seeded(digits):
    train, test = digits
    subset = train.subset(torch.arange(200))
    first = create_supervisor("vae", nn.Linear(1, 1), epochs=1).fit(subset).score(test.images)
    again = create_supervisor("vae", nn.Linear(1, 1), epochs=1).fit(subset).score(test.images)
    other = create_supervisor("vae", nn.Linear(1, 1), epochs=1, seed=1).fit(subset)
    assert torch.equal(first, again)
    assert not torch.equal(first, other.score(test.images))


def test_vae_refuses_other_image_shapes(digits):
    train, _ = digits
    supervisor = create_supervisor("vae", nn.Linear(1, 1), epochs=1).fit(
        train.subset(torch.arange(50))
    )
    with pytest.raises(InvalidInputError, match="shape"):
        supervisor.score(torch.rand(2, 1, 9, 9))
    with pytest.raises(InvalidInputError, match="8 x 8"):
        create_supervisor("vae", nn.Linear(1, 1)).fit(torch.rand(4, 1, 5, 5))
