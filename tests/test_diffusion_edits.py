"""Diffusion edits (SDEdit, CODE) on a briefly trained tiny DDPM over the 8x8 digits.

The model is far from converged, so these tests check mechanics that must hold whatever
its quality: exact identity at strength 0, distance growing with strength, DDIM inversion
and decoding meeting again, seeded bytes, batch independence, resumable training and the
errors on bad input.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from click.testing import CliRunner

from generators.diffusion import (
    DiffusionEditGenerator,
    DiffusionModelConfig,
    DiffusionTrainConfig,
    ddim_invert,
    load_diffusion_model,
    train_diffusion_model,
)
from generators.diffusion.denoiser import Denoiser
from generators.diffusion.image_space import from_model_space, to_model_space
from generators.diffusion.schedules import ddim_scheduler, edit_steps
from supervisor_testing.cli import main
from supervisor_testing.corpus import corpus_from_dataset
from supervisor_testing.data import load_dataset
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import create_generator
from supervisor_testing.models import train_model

TINY = DiffusionModelConfig(block_out_channels=(8, 16), image_size=8)
TRAIN = DiffusionTrainConfig(max_steps=30, batch_size=32, seed=0)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, digits_train):
    root = tmp_path_factory.mktemp("tiny-ddpm")
    train_diffusion_model(digits_train, model_config=TINY, train_config=TRAIN, directory=root)
    return root / "model"


@pytest.fixture(scope="session")
def oracle_dir(tmp_path_factory, digits_train):
    """The digits MLP (cached across runs), saved where the generator can load it."""
    path = tmp_path_factory.mktemp("oracle") / "mlp"
    train_model(digits_train, "mlp", seed=0).save(path)
    return path


def make_generator(tiny_model_dir, oracle_dir, **params) -> DiffusionEditGenerator:
    # a coarse grid and few Langevin updates: the mechanics, not the quality, are tested
    params = {
        "pipeline": str(tiny_model_dir),
        "oracle": str(oracle_dir),
        "steps": 10,
        "langevin_steps": 4,
        **params,
    }
    return create_generator("diffusion", **params)


def edit(generator, source: Dataset, rows: torch.Tensor, *, method: str, strength: float):
    generator.prepare(source)
    images, _ = generator.edit(
        source.images[rows],
        source.labels[rows],
        rows,
        method=method,
        strength=strength,
        seed=0,
    )
    return images


@pytest.mark.parametrize("method", ["sdedit", "code"])
def test_strength_zero_returns_the_input_exactly(tiny_model_dir, oracle_dir, digits_test, method):
    generator = make_generator(tiny_model_dir, oracle_dir, method=method)
    rows = torch.arange(10)
    assert torch.equal(edit(generator, digits_test, rows, method=method, strength=0.0),
                       digits_test.images[rows])  # fmt: skip


@pytest.mark.parametrize("method", ["sdedit", "code"])
def test_distance_grows_with_strength(tiny_model_dir, oracle_dir, digits_test, method):
    # Medians over 32 images: a single image can move less at a higher strength, the
    # median of the L2 distances cannot fail to grow by a wide margin.
    generator = make_generator(tiny_model_dir, oracle_dir, method=method)
    rows = torch.arange(32)
    source = digits_test.images[rows].float()
    medians = []
    for strength in (0.1, 0.5, 1.0):
        edited = edit(generator, digits_test, rows, method=method, strength=strength).float()
        medians.append(float((edited - source).flatten(1).norm(dim=1).median()))
    assert medians[0] * 1.5 < medians[1] < medians[2], medians


def test_ddim_inversion_then_ddim_sampling_reconstructs(tiny_model_dir, digits_test):
    model = load_diffusion_model(tiny_model_dir)
    x0 = to_model_space(digits_test.images[:16], image_size=8)
    denoiser = Denoiser(model, digits_test.labels[:16])
    for strength in (0.2, 0.5):
        k = edit_steps(strength, 50)
        latent, t_enc = ddim_invert(denoiser, x0, num_steps=k, steps=50)
        assert t_enc == int(ddim_scheduler(model, steps=50).timesteps[-k])
        # the latent is noisy: the edit really went into the schedule
        assert float((latent - x0).abs().mean()) > 0.05
        decoder = ddim_scheduler(model, steps=50)
        x = latent
        for t in decoder.timesteps[-k:]:
            x = decoder.step(denoiser(x, t), int(t), x, eta=0.0).prev_sample
        assert float((x - x0).abs().max()) < 0.1, strength  # pixel levels are 2/255 ~ 0.008


@pytest.mark.parametrize("method", ["sdedit", "code"])
def test_batch_composition_does_not_change_an_edit(tiny_model_dir, oracle_dir, digits_test, method):
    generator = make_generator(tiny_model_dir, oracle_dir, method=method)
    rows = torch.arange(40)
    whole = edit(generator, digits_test, rows, method=method, strength=0.4)
    part_rows = torch.tensor([33, 3, 17])
    part = edit(generator, digits_test, part_rows, method=method, strength=0.4)
    assert torch.equal(part, whole[part_rows])


def test_same_seed_same_bytes_other_seed_other_bytes(
    tmp_path, tiny_model_dir, oracle_dir, digits_test
):
    def build(seed: int, name: str):
        generator = make_generator(
            tiny_model_dir, oracle_dir, method="sdedit,code", strengths=[0.0, 0.4]
        )
        return generator.build(digits_test, tmp_path / name, seed=seed, num_samples=12)

    first, again, other = build(0, "a"), build(0, "b"), build(1, "c")
    assert [s.sha256 for s in first.manifest.shards] == [s.sha256 for s in again.manifest.shards]
    assert [s.sha256 for s in first.manifest.shards] != [s.sha256 for s in other.manifest.shards]


def test_corpus_columns_labels_and_oracle(tmp_path, tiny_model_dir, oracle_dir, digits_test):
    generator = make_generator(tiny_model_dir, oracle_dir, method="sdedit,code",
                               strengths="0,0.5")  # fmt: skip
    corpus = generator.build(digits_test, tmp_path / "edits", seed=0, num_samples=10)
    assert corpus.kind == "diffusion-edit" and len(corpus) == 40
    data = corpus.load()
    methods = corpus.columns["method"].categories
    assert [methods[c] for c in data["method"][::10].tolist()] == ["sdedit"] * 2 + ["code"] * 2
    assert data["strength"][::10].tolist() == [0.0, 0.5, 0.0, 0.5]
    grid = ddim_scheduler(generator.model, steps=10).timesteps
    assert data["t0"][::10].tolist() == [0, int(grid[-5]), 0, int(grid[-5])]
    source = digits_test.labels[data["source_index"]]
    assert torch.equal(data["labels"], source) and torch.equal(data["source_label"], source)
    assert torch.equal(data["label_probs"].argmax(1), source)
    # oracle_probs: the oracle's softmax on the stored images, computed independently
    oracle = train_model(load_dataset("digits", "train"), "mlp", seed=0).module.eval()
    with torch.no_grad():
        expected = torch.softmax(oracle(data["images"].float() / 255.0), dim=1)
    torch.testing.assert_close(data["oracle_probs"], expected, atol=1e-5, rtol=1e-4)
    # strength 0 rows are the sources themselves
    zero = data["strength"] == 0
    assert torch.equal(data["images"][zero], digits_test.images[data["source_index"][zero]])


def test_label_from_oracle(tmp_path, tiny_model_dir, oracle_dir, digits_test):
    generator = make_generator(tiny_model_dir, oracle_dir, strengths=[0.6], label_from="oracle")
    data = generator.build(digits_test, tmp_path / "o", seed=0, num_samples=8).load()
    assert torch.equal(data["labels"], data["oracle_probs"].argmax(1))
    torch.testing.assert_close(data["label_probs"], data["oracle_probs"])


def test_training_resumes_to_the_same_weights(tmp_path, digits_train):
    config = DiffusionTrainConfig(max_steps=6, batch_size=16, seed=3)
    straight = train_diffusion_model(
        digits_train, model_config=TINY, train_config=config, directory=tmp_path / "straight"
    )
    partial = train_diffusion_model(
        digits_train,
        model_config=TINY,
        train_config=config,
        directory=tmp_path / "resumed",
        max_new_steps=4,
        checkpoint_every=2,
    )
    assert partial.training["steps"] == 4 and not partial.training["complete"]
    resumed = train_diffusion_model(
        digits_train, model_config=TINY, train_config=config, directory=tmp_path / "resumed"
    )
    assert resumed.training["steps"] == 6 and resumed.training["complete"]
    for (name, a), b in zip(
        straight.unet.state_dict().items(), resumed.unet.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    record = json.loads((tmp_path / "resumed" / "model" / "training.json").read_text())
    assert record["dataset"]["sha256"] == digits_train.sha256()
    # the saved directory loads back to the same noise predictions
    loaded = load_diffusion_model(tmp_path / "resumed" / "model")
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(4)
    assert torch.equal(Denoiser(loaded, labels)(x, 500), Denoiser(resumed, labels)(x, 500))


def test_image_space_round_trip_is_exact():
    images = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8)
    x = to_model_space(images, image_size=32)
    assert x.shape == (5, 1, 32, 32) and float(x[..., 0, :].max()) == -1.0
    assert torch.equal(from_model_space(x, height=28, width=28), images)


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("strengths", [[1.5], [-0.1], "0.3,2"])
def test_strength_outside_unit_interval_is_refused(strengths):
    with pytest.raises(InvalidInputError, match=r"strength must lie in \[0, 1\]"):
        create_generator("diffusion", strengths=strengths)


def test_missing_model_directory_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match=r"does not exist.*train-diffusion"):
        create_generator("diffusion", pipeline=str(tmp_path / "nowhere"))
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_diffusion_model(tmp_path / "nowhere")


def test_incomplete_model_directory_is_refused(tmp_path, tiny_model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(InvalidInputError, match=r"incomplete.*weights"):
        load_diffusion_model(broken)
    (broken / "unet" / "config.json").unlink()
    with pytest.raises(InvalidInputError, match=r"incomplete.*config\.json"):
        load_diffusion_model(broken)


def test_model_of_another_shape_is_refused(tmp_path, tiny_model_dir, oracle_dir, digits_test):
    labels = torch.zeros(4, dtype=torch.int64)
    names = digits_test.class_names
    big = Dataset("big", "test", torch.zeros(4, 1, 28, 28, dtype=torch.uint8), labels, names)
    rgb = Dataset("rgb", "test", torch.zeros(4, 3, 8, 8, dtype=torch.uint8), labels, names)
    for source, message in ((big, "works at 8x8 .* 28x28"), (rgb, "1-channel .* has 3")):
        generator = make_generator(tiny_model_dir, oracle_dir)
        with pytest.raises(InvalidInputError, match=message):
            generator.build(source, tmp_path / source.name, seed=0)
        assert not (tmp_path / source.name).exists()


def test_cli_generates_and_reports_bad_input_in_one_line(
    tmp_path, tiny_model_dir, oracle_dir, digits_test
):
    nominal = corpus_from_dataset(digits_test, tmp_path / "nominal", num_samples=6)

    def invoke(out, *, strength="0.2,0.4", pipeline=tiny_model_dir):
        return CliRunner().invoke(
            main,
            ["--quiet", "generate", "diffusion", "--corpus", str(nominal.path), "--method",
             "code", "--strength", strength, "--steps", "10", "--pipeline", str(pipeline),
             "--oracle", str(oracle_dir), "--out", str(out)],
        )  # fmt: skip

    result = invoke(tmp_path / "edits")
    assert result.exit_code == 0, result.output
    assert "12 samples" in result.output
    for bad, message in (
        (invoke(tmp_path / "other", strength="0.2,1.2"), "strength must lie in [0, 1]"),
        (invoke(tmp_path / "other", pipeline=tmp_path / "none"), "does not exist"),
    ):
        assert bad.exit_code == 2, bad.output
        assert message in bad.output and "Traceback" not in bad.output
        assert len(bad.output.strip().splitlines()) == 1
    assert (tmp_path / "edits").exists() and not (tmp_path / "other").exists()


# -- the shipped model and the recipe ------------------------------------------------------


def test_shipped_mnist_model_records_its_training():
    from generators.diffusion import default_model_path

    path = default_model_path("mnist")
    model = load_diffusion_model(path)
    assert (model.in_channels, model.image_size, model.num_classes) == (1, 32, 10)
    record = json.loads((path / "training.json").read_text())
    assert record["dataset"]["name"] == "mnist" and len(record["dataset"]["sha256"]) == 64
    assert record["steps"] > 0 and record["model_config"]["block_out_channels"] == [16, 32, 32]
    assert sum(p.numel() for p in model.unet.parameters()) < 300_000


def test_recipe_names_valid_generator_parameters():
    from supervisor_testing.recipes import load_recipe

    recipe = load_recipe("mnist-diffusion-edit")
    generator = create_generator(recipe.generator, **recipe.generator_params)
    assert [m for m, _ in generator.cells()] == ["sdedit", "sdedit", "code", "code"]
