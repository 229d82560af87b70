"""Saving and loading fitted supervisors; the catalogue of the whole zoo."""

from __future__ import annotations

import json

import pytest
import torch
from zoo_models import ToyNet, images, toy_dataset

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors import create_supervisor, list_supervisors, supervisors
from supervisor_testing.supervisors.result_cache import clear_shared_caches
from supervisor_testing.supervisors.state import (
    CONFIG_NAME,
    FittedStateError,
    load_supervisor,
    save_supervisor,
)

ROUND_TRIPS = {
    "mahalanobis": {},
    "mdsa": {},
    "lsa": {"max_neurons": 3},
    "dsa": {},
    "knn": {"k": 5, "layer": "features.1"},
    "vim": {"dim": 2},
    "react": {"percentile": 80.0},
    "odin": {"temperature": 5.0},
    "evidential-confusion": {"epochs": 2},
    "evidential-ignorance": {"epochs": 2},
    "vae-reconstruction": {"epochs": 1},
    "mc-dropout-mutual-information": {"samples": 8, "seed": 4},
    "max-softmax": {},
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_shared_caches()
    yield
    clear_shared_caches()


def _vae_sized():
    """The VAE needs 8 x 8 images: a ToyNet-shaped model on upsampled toy data."""
    from supervisor_testing.data.dataset import Dataset

    data = toy_dataset()
    big = data.images.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return Dataset("toy8", "train", big, data.labels, data.class_names)


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_load_of_save_scores_identically(name, tmp_path):
    model = ToyNet()
    train, queries = toy_dataset(), images(20, seed=2)
    if name == "vae-reconstruction":
        train, queries = (
            _vae_sized(),
            images(20, seed=2).repeat_interleave(2, 2).repeat_interleave(2, 3),
        )
    supervisor = create_supervisor(name, model, **ROUND_TRIPS[name])
    if supervisor.requires_fit:
        supervisor.fit(train)
    expected = supervisor.score(queries)
    path = save_supervisor(supervisor, tmp_path / name)
    clear_shared_caches()  # the loaded supervisor must not lean on cached work
    loaded = load_supervisor(path, model)
    assert type(loaded) is type(supervisor)
    assert loaded.get_params() == supervisor.get_params()
    assert torch.equal(loaded.score(queries), expected)


def test_deep_ensemble_round_trips_its_members(tmp_path):
    model, members = ToyNet(0), [ToyNet(1), ToyNet(2)]
    supervisor = create_supervisor("deep-ensemble-entropy", model, members=members)
    x = images(12, seed=0)
    expected = supervisor.score(x)
    loaded = load_supervisor(save_supervisor(supervisor, tmp_path / "de"), model)
    assert loaded.members == 3
    assert torch.equal(loaded.score(x), expected)


def test_state_fitted_on_another_model_is_refused(tmp_path):
    path = save_supervisor(
        create_supervisor("knn", ToyNet(0), k=3).fit(toy_dataset()), tmp_path / "k"
    )
    with pytest.raises(FittedStateError, match="fitted on model"):
        load_supervisor(path, ToyNet(1))
    assert load_supervisor(path, ToyNet(1), check_model=False).fitted_


def test_the_saved_files_are_json_and_safetensors(tmp_path):
    model = ToyNet()
    path = save_supervisor(
        create_supervisor("mahalanobis", model).fit(toy_dataset()), tmp_path / "m"
    )
    config = json.loads((path / CONFIG_NAME).read_text())
    from supervisor_testing.models import model_sha256

    assert config["supervisor"] == "mahalanobis"
    assert config["model_sha256"] == model_sha256(model)
    assert config["tensors"] == ["class_present_", "means_", "whitening_"]
    assert sorted(p.name for p in path.iterdir()) == ["state.safetensors", "supervisor.json"]


def test_broken_state_is_refused(tmp_path):
    model = ToyNet()
    path = save_supervisor(create_supervisor("knn", model, k=3).fit(toy_dataset()), tmp_path / "k")
    config = json.loads((path / CONFIG_NAME).read_text())
    (path / CONFIG_NAME).write_text(json.dumps({**config, "tensors": ["other"]}))
    with pytest.raises(FittedStateError, match="other tensors"):
        load_supervisor(path, model)
    (path / CONFIG_NAME).write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(FittedStateError, match="version"):
        load_supervisor(path, model)
    (path / CONFIG_NAME).write_text("{not json")
    with pytest.raises(FittedStateError, match="JSON"):
        load_supervisor(path, model)
    with pytest.raises(FittedStateError, match="missing"):
        load_supervisor(tmp_path / "nowhere", model)


def test_an_unfitted_supervisor_cannot_be_saved(tmp_path):
    with pytest.raises(InvalidInputError, match="not fitted"):
        save_supervisor(create_supervisor("lsa", ToyNet()), tmp_path / "lsa")


ZOO = {
    "mahalanobis": "feature",
    "mdsa": "feature",
    "lsa": "feature",
    "dsa": "feature",
    "knn": "feature",
    "vim": "feature",
    "react": "feature",
    "odin": "gradient",
    "vae-reconstruction": "reconstruction",
    "evidential-confusion": "evidential",
    "evidential-ignorance": "evidential",
    **{
        f"{family}-{q}": "sampling"
        for family in ("mc-dropout", "deep-ensemble")
        for q in ("variation-ratio", "mean-softmax", "entropy", "mutual-information")
    },
}


def test_the_zoo_is_registered_with_family_fit_and_meaning():
    assert set(ZOO) <= set(list_supervisors())
    for name in list_supervisors():
        factory = supervisors.get(name)
        assert factory.family and factory.score_meaning and factory.fit_needs, name
        assert factory.name == name
    for name, family in ZOO.items():
        assert supervisors.get(name).family == family
    assert supervisors.resolve("mcd-mi") == "mc-dropout-mutual-information"
    assert supervisors.resolve("deep-ensemble") == "deep-ensemble-mean-softmax"


def test_list_supervisors_shows_family_fit_and_meaning():
    from supervisor_testing.catalog import catalog

    lines = dict(catalog("supervisors")["supervisors"])
    assert lines["mahalanobis"].startswith("[feature]")
    assert "Fits: class means and a shared covariance" in lines["mahalanobis"]
    assert "Score: negated top softmax probability" in lines["max-softmax"]
    assert "(also: dirichlet-confusion, dissonance)" in lines["evidential-confusion"]
