"""The text-guided realisation of the domains through a saved Stable-Diffusion pipeline.

The tiny random pipeline of :mod:`tiny_stable_diffusion` (built offline in seconds) is
saved both as a text-to-image and as an image-to-image pipeline, so the tests cover what
users hand to ``--pipeline``: corpus kind and columns, labels from the source, seeded
bytes, the strength knob, text-to-image's fixed strength, the device and the CLI flags.
Its outputs are noise: image quality is not what is tested here.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("transformers")
pytest.importorskip("diffusers")

from click.testing import CliRunner
from tiny_stable_diffusion import save_tiny_stable_diffusion

from generators.domains import DomainGenerator, PipelineUnavailableError
from generators.domains.text_guided import (
    TextGuidedRealiser,
    as_img2img,
    inference_steps,
    resolve_device,
)
from supervisor_testing.cli import main
from supervisor_testing.corpus import Corpus, corpus_from_dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.thread_limit import limited_threads

DOMAINS = ("chalkboard", "neon-sign")
FAST = {"steps": 2, "guidance_scale": 2.0}


@pytest.fixture(autouse=True)
def one_thread():
    # kernels on 16x16 images are far too short to split: one thread is much faster here
    with limited_threads(1):
        yield


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Both kinds of saved pipeline, with the same weights."""
    root = tmp_path_factory.mktemp("tiny-sd")
    return {
        "text-to-image": save_tiny_stable_diffusion(root),
        "img2img": save_tiny_stable_diffusion(root, img2img=True),
    }


def build(source, path, pipeline, *, seed=0, samples=3, **params):
    generator = DomainGenerator(
        domains=",".join(DOMAINS), pipeline=str(pipeline), **{**FAST, **params}
    )
    generator.device = "cpu"
    return generator.build(source, path, seed=seed, num_samples=samples)


@pytest.mark.parametrize("kind", ["text-to-image", "img2img"])
def test_img2img_corpus_from_either_saved_pipeline(tmp_path, saved, digits_test, kind):
    corpus = build(digits_test, tmp_path / "c", saved[kind], strength=0.5)
    data = corpus.load()
    assert corpus.kind == "domain-shift" and len(corpus) == 6
    assert corpus.categories("domain") == DOMAINS
    assert corpus.categories("realisation") == ("procedural", "text-guided")
    assert data["realisation"].tolist() == [1] * 6
    assert data["domain"].tolist() == [0, 0, 0, 1, 1, 1]
    assert data["strength"].dtype == torch.float32 and torch.all(data["strength"] == 0.5)
    index = data["source_index"]
    assert torch.equal(index[:3], index[3:])  # the same sources in every domain
    assert torch.equal(data["labels"], digits_test.labels[index])
    expected = F.one_hot(digits_test.labels[index], digits_test.num_classes).float()
    assert torch.equal(data["label_probs"], expected)
    images = data["images"]
    assert images.dtype == torch.uint8 and images.shape == (6, *digits_test.image_shape)
    moved = (images.float() - digits_test.images[index].float()).flatten(1).abs().sum(dim=1)
    assert (moved > 0).all()  # every row really went through the pipeline


def test_a_text_to_image_pipeline_edits_like_the_saved_img2img_one(tmp_path, saved, digits_test):
    # the conversion shares the components: same weights, same scheduler, same bytes
    a = build(digits_test, tmp_path / "a", saved["text-to-image"], strength=0.5)
    b = build(digits_test, tmp_path / "b", saved["img2img"], strength=0.5)
    assert torch.equal(a.load()["images"], b.load()["images"])


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, saved, digits_test):
    pipeline = saved["text-to-image"]
    first = build(digits_test, tmp_path / "a", pipeline, strength=0.5)
    again = build(digits_test, tmp_path / "b", pipeline, strength=0.5)
    other = build(digits_test, tmp_path / "c", pipeline, strength=0.5, seed=1)
    digest = [s.sha256 for s in first.manifest.shards]
    assert digest == [s.sha256 for s in again.manifest.shards]
    assert digest != [s.sha256 for s in other.manifest.shards]


def test_a_sample_does_not_depend_on_its_batch(saved, digits_test):
    realiser = TextGuidedRealiser.load(saved["img2img"], device="cpu", **FAST)
    rows = torch.arange(5)
    prompts = [f"a {int(c)} in chalk" for c in digits_test.labels[rows]]
    settings = {"strength": 0.5, "seed": 3, "domain": "chalkboard"}
    whole = realiser.realise(digits_test.images[rows], prompts, indices=rows, **settings)
    pick = torch.tensor([4, 1])
    part = realiser.realise(
        digits_test.images[pick], [prompts[4], prompts[1]], indices=pick, **settings
    )
    assert torch.equal(part, whole[pick])


def _count_steps(realiser):
    """Wrap the scheduler's step so a test can count the denoising steps that ran."""
    scheduler = realiser.pipeline.scheduler
    calls = []
    step = scheduler.step

    def counted(*args, **kwargs):
        calls.append(1)
        return step(*args, **kwargs)

    scheduler.step = counted
    return calls


@pytest.mark.parametrize("strength", [0.05, 0.5, 1.0])
def test_strength_is_the_share_of_the_schedule_the_edit_runs(saved, digits_test, strength):
    realiser = TextGuidedRealiser.load(saved["text-to-image"], device="cpu", steps=4)
    calls = _count_steps(realiser)
    rows = torch.arange(2)
    realiser.realise(digits_test.images[rows], ["a 0", "a 1"], strength=strength, seed=0,
                     indices=rows, domain="chalkboard")  # fmt: skip
    # diffusers runs int(steps * strength); any strength > 0 runs at least one step
    assert len(calls) == max(1, int(4 * strength)) == int(inference_steps(4, strength) * strength)


def test_strength_zero_keeps_the_source_and_more_strength_edits_more(saved, digits_test):
    realiser = TextGuidedRealiser.load(saved["img2img"], device="cpu", steps=10)
    rows = torch.arange(4)
    source = digits_test.images[rows]
    prompts = ["a 0 in chalk"] * 4

    def realise(strength):
        return realiser.realise(source, prompts, strength=strength, seed=0, indices=rows,
                                domain="chalkboard")  # fmt: skip

    assert torch.equal(realise(0.0), source)
    light, heavy = realise(0.1), realise(0.9)
    # a light edit starts from a lightly noised copy of the source, a heavy one from almost
    # pure noise: the light one keeps more of the source
    light_moved = (light.float() - source.float()).abs().mean()
    heavy_moved = (heavy.float() - source.float()).abs().mean()
    assert light_moved < heavy_moved


def test_text_to_image_records_strength_one_and_refuses_others(tmp_path, saved, digits_test):
    with pytest.raises(InvalidInputError, match="text-to-image draws each image from the prompt"):
        DomainGenerator(pipeline=str(saved["text-to-image"]), prompt_mode="text-to-image",
                        strength=0.5)  # fmt: skip
    corpus = build(digits_test, tmp_path / "t", saved["text-to-image"], prompt_mode="text-to-image")
    data = corpus.load()
    assert corpus.manifest.generator.params["strength"] == 1.0
    assert torch.all(data["strength"] == 1.0) and data["realisation"].tolist() == [1] * 6
    assert torch.equal(data["labels"], digits_test.labels[data["source_index"]])
    explicit = build(digits_test, tmp_path / "u", saved["text-to-image"],
                     prompt_mode="text-to-image", strength=1.0)  # fmt: skip
    assert [s.sha256 for s in explicit.manifest.shards] == [
        s.sha256 for s in corpus.manifest.shards
    ]


def test_text_to_image_draws_from_the_prompt_alone(saved, digits_test):
    realiser = TextGuidedRealiser.load(saved["text-to-image"], device="cpu", mode="text-to-image",
                                       **FAST)  # fmt: skip
    rows = torch.arange(3)
    settings = {"strength": 1.0, "seed": 0, "indices": rows, "domain": "neon-sign"}
    prompts = ["a 7 as a neon sign"] * 3
    a = realiser.realise(digits_test.images[rows], prompts, **settings)
    b = realiser.realise(digits_test.images[rows + 10], prompts, **settings)
    assert torch.equal(a, b)  # other source pixels, same prompt and seeds: same images
    assert not torch.equal(a, realiser.realise(digits_test.images[rows], ["a 1"] * 3, **settings))


def test_device_defaults_to_cuda_when_available_and_respects_an_explicit_one(saved):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    realiser = TextGuidedRealiser.load(saved["img2img"], device="cpu")
    assert realiser.pipeline.device.type == "cpu"
    with pytest.raises(InvalidInputError, match="'toaster' is not a torch device"):
        resolve_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="CUDA is not available"):
            resolve_device("cuda")


def test_a_pipeline_without_an_img2img_counterpart_is_one_clear_error():
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 8),
                       down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2,
                       norm_num_groups=4, layers_per_block=1)  # fmt: skip
    with pytest.raises(PipelineUnavailableError, match="DDPMPipeline cannot edit images"):
        as_img2img(DDPMPipeline(unet=unet, scheduler=DDPMScheduler()))


def test_cli_passes_steps_guidance_and_device(tmp_path, saved, digits_test):
    nominal = corpus_from_dataset(digits_test, tmp_path / "nominal")
    args = ["--quiet", "generate", "domains", "--corpus", str(nominal.path),
            "--domains", "chalkboard", "--pipeline", str(saved["text-to-image"]),
            "--samples", "2"]  # fmt: skip
    runner = CliRunner()
    out = tmp_path / "edits"
    settings = ["--strength", "0.5", "--steps", "2", "--guidance-scale", "1.5", "--device", "cpu"]
    result = runner.invoke(main, [*args, *settings, "--out", out])
    assert result.exit_code == 0, result.output
    assert "2 samples (1 domains, text-guided)" in result.output
    params = Corpus.open(out).manifest.generator.params
    assert params["steps"] == 2 and params["guidance_scale"] == 1.5
    for extra, message in (
        (["--device", "toaster"], "not a torch device"),
        (["--prompt-mode", "text-to-image", "--strength", "0.5"], "strength 1 by definition"),
    ):
        refused = runner.invoke(main, [*args, *extra, "--out", tmp_path / "refused"])
        assert refused.exit_code == 2 and message in refused.output, refused.output
        assert "Traceback" not in refused.output
        assert not (tmp_path / "refused").exists()
