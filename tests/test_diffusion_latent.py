"""SDEdit through a saved Stable-Diffusion pipeline (``--pipeline PATH`` on a latent model).

A tiny random StableDiffusionPipeline (UNet2DConditionModel, AutoencoderKL, CLIP text
encoder and a tokenizer from a hand-written vocabulary) is built offline and saved, so the
tests check the mechanics around diffusers' image-to-image pipeline: shapes, seeded
bytes, batch independence, strength 0, the one-step floor for small strengths, the luma
round trip for grayscale corpora and the refusal of CODE.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("diffusers")

from tiny_stable_diffusion import save_tiny_stable_diffusion

from generators.diffusion.latent_sdedit import LatentEditor, is_latent_pipeline, render_prompt
from generators.domains.text_guided import inference_steps
from supervisor_testing.data import load_dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import create_generator
from supervisor_testing.models import train_model
from supervisor_testing.supervisors.thread_limit import limited_threads


@pytest.fixture(autouse=True)
def one_thread():
    # kernels on 16x16 images are far too short to split: one thread is ~50x faster here
    with limited_threads(1):
        yield


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory):
    """A tiny random Stable-Diffusion pipeline saved with save_pretrained (no download)."""
    return save_tiny_stable_diffusion(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="module")
def oracle_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle") / "mlp"
    train_model(load_dataset("digits", "train"), "mlp", seed=0).save(path)
    return path


def make_generator(sd_dir, oracle_dir, **params):
    return create_generator(
        "diffusion",
        **{"pipeline": str(sd_dir), "oracle": str(oracle_dir), "steps": 4, **params},
    )


def edit(generator, source, rows, *, strength, seed=0):
    generator.prepare(source)
    images, t0 = generator.edit(
        source.images[rows], source.labels[rows], rows, method="sdedit", strength=strength,
        seed=seed,
    )  # fmt: skip
    return images, t0


def test_saved_stable_diffusion_pipeline_is_recognised(sd_dir, tmp_path):
    assert is_latent_pipeline(sd_dir)
    assert not is_latent_pipeline(tmp_path)
    assert render_prompt("a photo of a {class}", "7") == "a photo of a 7"
    assert render_prompt("", "7") == ""


def test_corpus_shape_dtype_and_strength_zero(tmp_path, sd_dir, oracle_dir, digits_test):
    generator = make_generator(sd_dir, oracle_dir, strengths=[0.0, 0.5])
    corpus = generator.build(digits_test, tmp_path / "edits", seed=0, num_samples=4)
    assert corpus.kind == "diffusion-edit" and len(corpus) == 8
    data = corpus.load()
    images = data["images"]
    assert images.dtype == torch.uint8 and tuple(images.shape) == (8, 1, 8, 8)
    strength = data["strength"]
    sources = digits_test.images[data["source_index"]]
    zero = strength == 0.0
    assert torch.equal(images[zero], sources[zero])
    assert (data["t0"][zero] == 0).all() and (data["t0"][~zero] > 0).all()
    moved = (images[~zero].float() - sources[~zero].float()).flatten(1).abs().sum(dim=1)
    assert (moved > 0).all()  # the edit really ran on every non-zero row
    assert tuple(data["oracle_probs"].shape) == (8, 10)
    assert "StableDiffusionImg2ImgPipeline" in generator.model.describe()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, sd_dir, oracle_dir, digits_test):
    def build(seed, name):
        generator = make_generator(sd_dir, oracle_dir, strengths=[0.5])
        return generator.build(digits_test, tmp_path / name, seed=seed, num_samples=3)

    first, again, other = build(0, "a"), build(0, "b"), build(1, "c")
    digest = [s.sha256 for s in first.manifest.shards]
    assert digest == [s.sha256 for s in again.manifest.shards]
    assert digest != [s.sha256 for s in other.manifest.shards]


def test_batch_composition_does_not_change_an_edit(sd_dir, oracle_dir, digits_test):
    generator = make_generator(sd_dir, oracle_dir)
    whole, _ = edit(generator, digits_test, torch.arange(6), strength=0.5)
    part, _ = edit(generator, digits_test, torch.tensor([4, 1]), strength=0.5)
    assert torch.equal(part, whole[torch.tensor([4, 1])])


def test_prompt_reaches_the_pipeline(sd_dir, oracle_dir, digits_test):
    rows = torch.arange(2)
    prompted, _ = edit(make_generator(sd_dir, oracle_dir), digits_test, rows, strength=0.5)
    plain, _ = edit(make_generator(sd_dir, oracle_dir, prompt=""), digits_test, rows, strength=0.5)
    assert not torch.equal(prompted, plain)


@pytest.mark.parametrize("strength", [1e-3, 0.01, 0.07, 0.1, 1 / 3, 0.29, 0.57, 1.0])
def test_any_positive_strength_runs_at_least_one_step(strength):
    for steps in (1, 4, 10, 50):
        n = inference_steps(steps, strength)
        assert n >= steps and int(n * strength) >= 1


def test_small_strength_still_edits(sd_dir, oracle_dir, digits_test):
    # diffusers alone would run int(4 * 0.05) = 0 steps here and return a VAE round trip
    generator = make_generator(sd_dir, oracle_dir)
    _, t0 = edit(generator, digits_test, torch.arange(2), strength=0.05)
    scheduler = generator.model.pipeline.scheduler
    assert 0 < t0 <= 0.05 * scheduler.config.num_train_timesteps + 1


def test_grayscale_goes_through_rgb_and_back_as_luma(sd_dir, digits_test):
    editor = LatentEditor.load(sd_dir)
    gray = digits_test.images[:2]
    settings = {"strength": 0.5, "steps": 4, "guidance_scale": 7.5}
    one = editor.edit(gray, ["a photo of a 0"] * 2, [5, 6], **settings)
    rgb = editor.edit(gray.expand(-1, 3, -1, -1), ["a photo of a 0"] * 2, [5, 6], **settings)
    assert one.shape == gray.shape and rgb.shape == (2, 3, 8, 8)
    luma = (rgb.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1)
    assert (one[:, 0].float() - luma).abs().max() <= 1.0  # rounding of RGB vs of luma


def test_code_on_a_latent_pipeline_is_one_clear_error(tmp_path, sd_dir, oracle_dir, digits_test):
    generator = make_generator(sd_dir, oracle_dir, method="sdedit,code")
    with pytest.raises(InvalidInputError, match="CODE needs a pixel-space UNet"):
        generator.build(digits_test, tmp_path / "out", seed=0, num_samples=2)
    assert not (tmp_path / "out").exists()


def test_cli_runs_a_latent_pipeline(tmp_path, sd_dir, oracle_dir, digits_test):
    from click.testing import CliRunner

    from supervisor_testing.cli import main
    from supervisor_testing.corpus import corpus_from_dataset

    nominal = corpus_from_dataset(digits_test, tmp_path / "nominal")
    args = ["generate", "diffusion", "--corpus", str(nominal.path), "--pipeline", str(sd_dir),
            "--oracle", str(oracle_dir), "--strength", "0.5", "--steps", "4", "--samples", "2",
            "--out", str(tmp_path / "edits")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "StableDiffusionImg2ImgPipeline" in result.output
    refused = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "code"), "--method", "code"])
    assert refused.exit_code == 2 and "CODE needs a pixel-space UNet" in refused.output
    assert "Traceback" not in refused.output
