"""MC-dropout and deep ensembles: quantifier formulas, sampling semantics, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from zoo_models import NoDropoutNet, ToyNet, images

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors import create_supervisor
from supervisor_testing.supervisors.dropout_sampler import DropoutSampler
from supervisor_testing.supervisors.result_cache import clear_shared_caches

QUANTIFIERS = ("variation-ratio", "mean-softmax", "entropy", "mutual-information")


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_shared_caches()
    yield
    clear_shared_caches()


@pytest.fixture
def model() -> ToyNet:
    return ToyNet(seed=1)


@pytest.fixture
def x() -> torch.Tensor:
    return images(25, seed=9)


def _expected(probs: np.ndarray) -> dict[str, np.ndarray]:
    """The four quantifiers from S x N x K samples, written out in numpy."""
    s, n, k = probs.shape
    mean = probs.mean(axis=0)
    votes = np.zeros((n, k))
    for sample in probs:
        votes[np.arange(n), sample.argmax(axis=1)] += 1

    def entropy(p):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)

    return {
        "variation-ratio": 1 - votes.max(axis=1) / s,
        "mean-softmax": -mean.max(axis=1),
        "entropy": entropy(mean),
        "mutual-information": entropy(mean) - entropy(probs).mean(axis=0),
    }


@pytest.mark.parametrize("quantifier", QUANTIFIERS)
def test_mc_dropout_quantifiers_match_numpy(model, x, quantifier):
    probs = DropoutSampler(model, samples=40, seed=3).sample_probs(x).double().numpy()
    supervisor = create_supervisor(f"mc-dropout-{quantifier}", model, samples=40, seed=3)
    np.testing.assert_allclose(
        supervisor.score(x).numpy(), _expected(probs)[quantifier], rtol=1e-5, atol=1e-6
    )


def test_mc_dropout_samples_follow_the_dropout_rate():
    # A net whose output counts the units dropout keeps: output = sum(mask) * scale.
    class Counter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(0.3)
            self.head = nn.Linear(200, 2)
            with torch.no_grad():
                self.head.weight.zero_()
                self.head.weight[0].fill_(1.0)
                self.head.bias.zero_()

        def forward(self, x):
            return self.head(self.drop(torch.ones(len(x), 200)))

    probs_logits = DropoutSampler(Counter(), samples=50, seed=0)._run(torch.zeros(4, 1), "input")
    kept = probs_logits[..., 0] * 0.7  # undo the 1 / (1 - p) rescaling
    assert torch.allclose(kept, kept.round())  # an integer count of kept units
    assert abs(kept.mean().item() / 200 - 0.7) < 0.02
    assert kept[:, 0].std() > 0  # masks differ between samples


def test_replicating_at_the_first_dropout_equals_replicating_the_input(model, x):
    fast = DropoutSampler(model, samples=30, seed=5, replicate="first-dropout").sample_probs(x)
    slow = DropoutSampler(model, samples=30, seed=5, replicate="input").sample_probs(x)
    torch.testing.assert_close(fast, slow)


def test_a_graph_that_cannot_replicate_late_falls_back_to_the_input():
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(16, 16)
            self.drop = nn.Dropout(0.5)
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            h = self.inner(x.flatten(1))
            return self.head(self.drop(h) + h)  # skip connection around the dropout

    net = Skip()
    sampler = DropoutSampler(net, samples=8, seed=0)
    got = sampler.sample_probs(images(5, seed=0))
    assert sampler._resolved == "input"
    expected = DropoutSampler(net, samples=8, seed=0, replicate="input").sample_probs(images(5, 0))
    torch.testing.assert_close(got, expected)


def test_mc_dropout_is_seeded_and_independent_of_batching(model, x):
    first = create_supervisor("mc-dropout-entropy", model, samples=20, seed=1, batch_size=4)
    again = create_supervisor("mc-dropout-entropy", model, samples=20, seed=1, batch_size=25)
    other = create_supervisor("mc-dropout-entropy", model, samples=20, seed=2)
    scores = first.score(x)
    torch.testing.assert_close(again.score(x), scores)
    torch.testing.assert_close(first.score(x[:7]), scores[:7])
    assert not torch.allclose(other.score(x), scores)


def test_mc_dropout_leaves_the_model_and_rng_untouched(x):
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3)
    )
    net.eval()
    running_mean = net[2].running_mean.clone()
    state = torch.random.get_rng_state()
    create_supervisor("mc-dropout-mean-softmax", net, samples=10).score(x)
    assert torch.equal(net[2].running_mean, running_mean)  # batch norm stayed in eval
    assert not net.training
    assert torch.equal(torch.random.get_rng_state(), state)


def test_mc_dropout_prediction_is_the_plurality_vote(model, x):
    probs = DropoutSampler(model, samples=15, seed=0).sample_probs(x)
    votes = torch.nn.functional.one_hot(probs.argmax(dim=2), 3).sum(dim=0)
    supervisor = create_supervisor("mc-dropout-variation-ratio", model, samples=15)
    predicted = supervisor.predict(x)
    assert torch.equal(votes.gather(1, predicted[:, None]).squeeze(1), votes.max(dim=1).values)


def test_quantifiers_share_one_set_of_samples(model, x):
    calls = []
    model.features[3].register_forward_hook(lambda *_: calls.append(1))
    for quantifier in QUANTIFIERS:
        create_supervisor(f"mc-dropout-{quantifier}", model, samples=10, seed=0).score(x)
    assert len(calls) == 3  # two probes of the replication mode, one sampling pass


def test_model_without_dropout_is_refused():
    with pytest.raises(InvalidInputError, match="no dropout layers"):
        create_supervisor("mc-dropout", NoDropoutNet())
    with pytest.raises(InvalidInputError, match="p=0"):
        create_supervisor("mc-dropout", ToyNet(dropout=0.0))


def test_channel_dropout_masks_whole_channels():
    net = nn.Sequential(nn.Dropout2d(0.5), nn.Flatten(), nn.Linear(16, 3))
    sampler = DropoutSampler(net, samples=6, seed=0)
    captured = []
    net[1].register_forward_hook(lambda _m, args, _o: captured.append(args[0]))
    sampler._run(torch.ones(2, 1, 4, 4), "input")
    per_sample = captured[0].reshape(6, 2, 16)
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}
    assert (per_sample.std(dim=2) == 0).all()  # a channel is kept or dropped whole


@pytest.mark.parametrize("quantifier", QUANTIFIERS)
def test_ensemble_quantifiers_match_numpy(x, quantifier):
    members = [ToyNet(seed=s) for s in range(4)]
    with torch.no_grad():
        probs = torch.stack([m(x).softmax(dim=1) for m in members]).double().numpy()
    supervisor = create_supervisor(f"deep-ensemble-{quantifier}", members[0], members=members[1:])
    assert supervisor.fitted_ and supervisor.members == 4
    np.testing.assert_allclose(
        supervisor.score(x).numpy(), _expected(probs)[quantifier], rtol=1e-5, atol=1e-6
    )


def test_ensemble_trains_its_members_with_other_seeds():
    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import train_model

    train = load_dataset("digits", "train")
    base = train_model(train, "mlp", seed=0, epochs=1).module
    supervisor = create_supervisor("deep-ensemble-entropy", base, members=3, epochs=1)
    with pytest.raises(InvalidInputError, match="fitted"):
        supervisor.score(train.images[:5])
    supervisor.fit(train)
    member = train_model(train, "mlp", seed=2, epochs=1).module
    assert len(supervisor.members_) == 3 and supervisor.members_[0] is base
    for name, tensor in member.state_dict().items():
        assert torch.equal(supervisor.members_[2].state_dict()[name], tensor)
    with pytest.raises(InvalidInputError, match="labelled data"):
        supervisor.fit(train.images)


def test_ensemble_of_an_unknown_architecture_asks_for_arch():
    from supervisor_testing.data import load_dataset

    supervisor = create_supervisor("deep-ensemble", NoDropoutNet(), members=2)
    with pytest.raises(InvalidInputError, match="arch="):
        supervisor.fit(load_dataset("digits", "train"))
