"""The softmax family against independent numpy computations of each formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError, UnknownNameError
from supervisor_testing.supervisors import Supervisor, create_supervisor, list_supervisors


class FixedLogits(nn.Module):
    """A 'model' whose logits are a linear read-out of the flattened image."""

    def __init__(self, num_classes: int = 4, pixels: int = 16, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(pixels, num_classes, generator=generator) * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight


@pytest.fixture
def model() -> FixedLogits:
    return FixedLogits()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(37, 1, 4, 4, generator=torch.Generator().manual_seed(1))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _expected(name: str, z: np.ndarray) -> np.ndarray:
    p = _softmax(z)
    top = np.sort(p, axis=1)[:, ::-1]
    return {
        "max-softmax": -top[:, 0],
        "pcs": -(top[:, 0] - top[:, 1]),
        "softmax-entropy": -(p * np.log(p)).sum(axis=1),
        "deepgini": 1 - (p**2).sum(axis=1),
        "max-logit": -z.max(axis=1),
        "energy": -np.log(np.exp(z).sum(axis=1)),
    }[name]


SOFTMAX_FAMILY = ["max-softmax", "pcs", "softmax-entropy", "deepgini", "max-logit", "energy"]


@pytest.mark.parametrize("name", SOFTMAX_FAMILY)
def test_scores_match_independent_formula(name, model, images):
    supervisor = create_supervisor(name, model, batch_size=8)  # several chunks
    z = (images.flatten(1).double() @ model.weight.detach().double()).numpy()
    np.testing.assert_allclose(supervisor.score(images).numpy(), _expected(name, z), atol=1e-5)
    assert torch.equal(supervisor.predict(images), torch.from_numpy(z.argmax(axis=1)))


@pytest.mark.parametrize("name", SOFTMAX_FAMILY)
def test_uint8_and_float_inputs_score_alike(name, model, images):
    supervisor = create_supervisor(name, model)
    as_bytes = (images * 255).round().to(torch.uint8)
    np.testing.assert_allclose(
        supervisor.score(as_bytes).numpy(),
        supervisor.score(as_bytes.float() / 255).numpy(),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("name", ["max-softmax", "pcs", "softmax-entropy", "deepgini"])
def test_confident_inputs_score_lower_than_flat_ones(name):
    class Direct(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :4] * 20

    confident = torch.zeros(1, 1, 4, 4)
    confident[0, 0, 0, 0] = 1.0  # one dominant logit
    flat = torch.full((1, 1, 4, 4), 0.5)  # four equal logits
    supervisor = create_supervisor(name, Direct())
    assert supervisor.score(confident) < supervisor.score(flat)


def test_aliases_and_listing(model):
    assert set(SOFTMAX_FAMILY) <= set(list_supervisors())
    assert type(create_supervisor("msp", model)) is type(create_supervisor("max_softmax", model))
    assert create_supervisor("gini", model).name == "deepgini"


def test_unknown_supervisor_is_a_clear_error(model):
    with pytest.raises(UnknownNameError, match=r"unknown supervisor 'nope'; known: .*max-softmax"):
        create_supervisor("nope", model)


def test_energy_temperature(model, images):
    z = (images.flatten(1).double() @ model.weight.detach().double()).numpy()
    scores = create_supervisor("energy", model, temperature=2.0).score(images).numpy()
    np.testing.assert_allclose(scores, -2 * np.log(np.exp(z / 2).sum(axis=1)), atol=1e-5)
    with pytest.raises(InvalidInputError, match="temperature must be positive"):
        create_supervisor("energy", model, temperature=0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.rand(4, 4), "N x C x H x W"),
        (torch.full((2, 1, 4, 4), float("nan")), "NaN"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.int32), "uint8 or float"),
        (np.zeros((2, 1, 4, 4)), "torch.Tensor"),
    ],
)
def test_bad_inputs_are_refused(model, bad, message):
    with pytest.raises(InvalidInputError, match=message):
        create_supervisor("msp", model).score(bad)


def test_eval_mode_is_used_and_restored(model, images):
    class Dropping(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model
            self.dropout = nn.Dropout(0.5)

        def forward(self, x):
            return self.dropout(self.inner(x))

    wrapped = Dropping().train()
    supervisor = create_supervisor("msp", wrapped)
    assert torch.equal(supervisor.score(images), supervisor.score(images))  # no dropout noise
    assert wrapped.training  # the caller's mode is left alone


def test_supervisor_needs_a_module():
    with pytest.raises(InvalidInputError, match=r"wraps an nn\.Module"):
        create_supervisor("msp", object())


def test_subclass_contract(model, images):
    class Constant(Supervisor):
        name = "constant"
        requires_fit = True

        def score(self, x):
            self._check_fitted()
            return torch.zeros(len(x))

    supervisor = Constant(model)
    with pytest.raises(InvalidInputError, match="must be fitted"):
        supervisor.score(images)
    assert supervisor.fit(images) is supervisor
    assert supervisor.score(images).shape == (37,)
    assert supervisor.predict(images).shape == (37,)
