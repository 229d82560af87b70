"""The extrapolated-domain generator: catalogue, proposals, renderers, corpus, CLI, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.ndimage import distance_transform_edt

from generators.corruptions import list_corruptions
from generators.domains import (
    GROUPS,
    DomainGenerator,
    PipelineUnavailableError,
    list_domains,
    load_catalogue,
    load_pipeline,
    propose_domains,
    render_domain,
)
from generators.domains.canvas import luma, supersampling
from generators.domains.projection import _homographies
from generators.domains.proposals import match_renderer
from generators.domains.randomness import DomainRandomness
from generators.domains.relief import shading
from generators.domains.renderers import RENDERERS
from generators.domains.stroke_geometry import signed_distance
from supervisor_testing.cli import main
from supervisor_testing.corpus import KINDS, Corpus
from supervisor_testing.data import load_dataset
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError, SupervisorTestingError, UnknownNameError
from supervisor_testing.generation import create_generator, list_generators
from supervisor_testing.recipes import load_recipe

CATALOGUE = load_catalogue()
DOMAINS = CATALOGUE.names()


def stroke_digits(n: int, *, size: tuple[int, int] = (28, 28), seed: int = 0) -> torch.Tensor:
    """MNIST-like images: two or three thick bright strokes on black."""
    rng = np.random.default_rng(seed)
    h, w = size
    out = np.zeros((n, 1, h, w), dtype=np.uint8)
    for image in out:
        for _ in range(int(rng.integers(2, 4))):
            r0, r1 = rng.integers(h // 5, h - h // 5, size=2)
            c0, c1 = rng.integers(w // 5, w - w // 5, size=2)
            rows = np.linspace(r0, r1, 4 * max(h, w)).round().astype(int)
            cols = np.linspace(c0, c1, 4 * max(h, w)).round().astype(int)
            for dr in range(max(1, h // 14)):
                for dc in range(max(1, w // 14)):
                    image[0, np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)] = 255
    return torch.from_numpy(out)


def photo_like(n: int, size: int = 32, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=generator)
    fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic")
    return (fine.clamp(0, 1) * 220 + 20).to(torch.uint8)


DIGITS = stroke_digits(6)
RGB = photo_like(3)


# -- catalogue ---------------------------------------------------------------------------


def test_catalogue_has_at_least_twenty_domains_in_every_group():
    assert len(DOMAINS) >= 20
    for group in GROUPS:
        assert len(CATALOGUE.names(group)) >= 4, group
    assert list_domains() == DOMAINS
    for domain in CATALOGUE.domains.values():
        assert domain.renderer in RENDERERS
        assert "{class}" in domain.prompt and domain.description and domain.unlike_corruptions
        assert 0 < domain.strength <= 1
    # a domain is a new depiction, never one of the corruption suites' degradations
    corruptions = {c.replace("_", "-") for c in list_corruptions("mnist-c", "all")}
    corruptions |= {c.replace("_", "-") for c in list_corruptions("imagenet-c", "all")}
    assert not corruptions & set(DOMAINS)
    # every renderer family is used by some domain
    assert {d.renderer for d in CATALOGUE.domains.values()} == set(RENDERERS)


def test_prompts_fill_in_the_class():
    assert CATALOGUE.get("neon-sign").prompt_for("the digit 3") == (
        "a glowing neon sign of a the digit 3 on a brick wall at night"
    )
    assert CATALOGUE.proposal_prompt == "a {class} drawn as {domain}"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(text)
    return path


GOOD_ENTRY = """
format = 1
proposal_prompt = "a {class} drawn as {domain}"

[domains.ink-blot]
group = "style"
description = "d"
unlike_corruptions = "u"
prompt = "a {class} as an ink blot"
keywords = ["ink"]
renderer = "calligraphy"
strength = 0.5
"""


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ('strength = 0.5', 'strength = 0.5\nstrenght = 1', "ink-blot.strenght", "not a known key"),
        ('group = "style"\n', "", "ink-blot.group", "is missing"),
        ('group = "style"', 'group = "colour"', "ink-blot.group", "must be one of style"),
        ('renderer = "calligraphy"', 'renderer = "oil"', "ink-blot.renderer", "calligraphy"),
        ('"a {class} as an ink blot"', '"an ink blot"', "ink-blot.prompt", "{class}"),
        ('"a {class} as an ink blot"', '"a {class} in {style}"', "ink-blot.prompt", "{style}"),
        ("strength = 0.5", "strength = 1.5", "ink-blot.strength", "(0, 1]"),
        ("strength = 0.5", "strength = true", "ink-blot.strength", "(0, 1]"),
        ('keywords = ["ink"]', "keywords = []", "ink-blot.keywords", "non-empty"),
        ('keywords = ["ink"]', 'keywords = ["ink"]\noptions = { nib = "x" }', "options.nib",
         "accepts: none"),
        ("format = 1", "format = 2", "format", "must be 1"),
        ("[domains.ink-blot]", "[domains.Ink_Blot]", "domains.Ink_Blot", "lowercase"),
        ('"a {class} drawn as {domain}"', '"a {class}"', "proposal_prompt", "{domain}"),
        ('description = "d"', 'description = ""', "ink-blot.description", "non-empty"),
    ],
)  # fmt: skip
def test_malformed_catalogue_is_one_error_naming_file_and_key(tmp_path, old, new, key, message):
    assert old in GOOD_ENTRY
    path = _write(tmp_path, GOOD_ENTRY.replace(old, new))
    with pytest.raises(InvalidInputError) as info:
        load_catalogue(path)
    text = str(info.value)
    assert str(path) in text and key in text and message in text


def test_catalogue_option_values_and_syntax_errors(tmp_path):
    entry = GOOD_ENTRY.replace('renderer = "calligraphy"', 'renderer = "patterned-fill"')
    path = _write(tmp_path, entry + 'options = { pattern = "zigzag" }\n')
    with pytest.raises(InvalidInputError, match=r"options\.pattern: must be one of stripes"):
        load_catalogue(path)
    path = _write(tmp_path, GOOD_ENTRY + "[domains\n")
    with pytest.raises(InvalidInputError, match="is not valid TOML"):
        load_catalogue(path)
    with pytest.raises(InvalidInputError, match="cannot read domain catalogue"):
        load_catalogue(tmp_path / "missing.toml")
    assert load_catalogue(_write(tmp_path, GOOD_ENTRY)).names() == ["ink-blot"]


def test_unknown_domain_lists_the_valid_ones():
    with pytest.raises(UnknownNameError) as info:
        CATALOGUE.get("chalk")
    assert "chalkboard" in str(info.value) and "neon-sign" in str(info.value)
    with pytest.raises(UnknownNameError, match="unknown domain 'chalk'"):
        DomainGenerator(domains="chalkboard,chalk")
    with pytest.raises(InvalidInputError, match="selected twice"):
        DomainGenerator(domains=["neon-sign", "neon_sign"])
    with pytest.raises(InvalidInputError, match="at least one domain"):
        DomainGenerator(domains=[])


def test_reading_the_catalogue_imports_no_torch():
    code = (
        "import sys, generators.domains as d; d.load_catalogue(); d.list_domains();"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


# -- proposals ---------------------------------------------------------------------------


def test_proposer_records_and_keyword_matching():
    seen = []

    def proposer(classes):
        seen.append(classes)
        return ["Chalky  sidewalk art", "origami paper", "glowing tubes"]

    records = propose_domains(proposer, ["0", "1"])
    assert seen == [("0", "1")]
    assert records == [
        {"name": "chalky-sidewalk-art", "phrase": "Chalky sidewalk art", "like": "chalkboard"},
        {"name": "origami-paper", "phrase": "origami paper", "like": "pencil-drawing"},
        {"name": "glowing-tubes", "phrase": "glowing tubes", "like": "neon-sign"},
    ]
    assert match_renderer("a bowl of soup", CATALOGUE) is None


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ([], "no domains"),
        ("neon", "must return a list"),
        (None, "must return a list"),
        ({"a": 1}, "must return a list"),
        (["neon art", 3], "int at position 1"),
        (["   "], "no letters or digits"),
        (["Neon art", "neon-art!"], "repeat 'neon-art'"),
        (["chalkboard"], "already the catalogue domain"),
        (["x" * 200], "characters long"),
    ],
)
def test_proposer_nonsense_is_one_clear_error(returned, message):
    with pytest.raises(InvalidInputError, match=message):
        propose_domains(lambda classes: returned, ["0"])


def test_proposals_are_stored_in_the_params_and_rebuild_without_the_proposer(tmp_path):
    source = load_dataset("digits", "test")

    def proposer(classes):
        return ["neon tubes in a bar", "mosaic of origami"]

    proposed = propose_domains(proposer, source.class_names)
    assert [p["name"] for p in proposed] == ["neon-tubes-in-a-bar", "mosaic-of-origami"]
    assert proposed[1]["like"] is None  # no keyword matches: text-guided only
    with pytest.raises(InvalidInputError, match="'mosaic-of-origami' has no offline renderer"):
        DomainGenerator.from_proposer(proposer, source.class_names, domains="all")
    chosen = DomainGenerator.from_proposer(
        proposer, source.class_names, domains="neon-tubes-in-a-bar"
    )
    assert chosen.params["proposed"] == proposed
    first = chosen.build(source, tmp_path / "a", seed=3, num_samples=6)
    again = create_generator("domains", **first.manifest.generator.params)
    second = again.build(source, tmp_path / "b", seed=3, num_samples=6)
    assert again.params == chosen.params
    assert [s.sha256 for s in first.manifest.shards] == [s.sha256 for s in second.manifest.shards]
    assert first.categories("domain") == ("neon-tubes-in-a-bar",)
    # realised like its match, under its own random key
    like = render_domain(source.images[first.load()["source_index"]], "neon-sign", seed=3,
                         indices=first.load()["source_index"])  # fmt: skip
    assert not torch.equal(first.load()["images"], like)
    explicit = DomainGenerator(proposed=[{"phrase": "mosaic of origami", "like": "cross-stitch"}])
    assert explicit.params["proposed"][0]["like"] == "cross-stitch"
    with pytest.raises(InvalidInputError, match="like names no catalogue domain"):
        DomainGenerator(proposed=[{"phrase": "mosaic", "like": "lego"}])


# -- renderers ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", DOMAINS)
def test_renderer_contract(name):
    """Shape and dtype on grey, RGB, tiny and non-square images; strength 0 is the input;
    a sample's rendering is the same alone or in a batch; grey is the RGB's luminance;
    strength moves the rendering away from the input, starting near it."""
    for images in (RGB[:2], stroke_digits(1, size=(8, 8)), stroke_digits(1, size=(12, 20))):
        out = render_domain(images, name, seed=5)
        assert out.dtype == torch.uint8 and out.shape == images.shape
        assert torch.equal(render_domain(images, name, strength=0.0, seed=5), images)
    digits, indices = DIGITS[:4], torch.tensor([40, 41, 42, 43])
    batch = render_domain(digits, name, seed=7, indices=indices)
    assert batch.dtype == torch.uint8 and batch.shape == digits.shape
    assert torch.equal(render_domain(digits[2:3], name, seed=7, indices=indices[2:3]), batch[2:3])
    as_rgb = render_domain(digits.expand(-1, 3, -1, -1).contiguous(), name, seed=7, indices=indices)
    expected = (luma(as_rgb.float() / 255) * 255).round()
    assert (expected - batch.float()).abs().max() <= 1.0
    distance = {
        s: (render_domain(digits, name, strength=s, seed=7, indices=indices).float()
            - digits.float()).abs().mean()
        for s in (0.01, 0.1)
    }  # fmt: skip
    distance[1.0] = (batch.float() - digits.float()).abs().mean()  # at the default strength
    assert distance[1.0] > 0
    # the blend bounds the change at strength 0.01 to 5 % of full scale (plus rounding)
    assert distance[0.01] <= 0.05 * 255 + 1
    assert distance[0.01] < distance[0.1]


def test_randomness_follows_seed_index_and_domain():
    a = DomainRandomness(0, [3, 9], "chalkboard").uniform((4,))
    assert torch.equal(a, DomainRandomness(0, [3, 9], "chalkboard").uniform((4,)))
    assert not torch.equal(a, DomainRandomness(1, [3, 9], "chalkboard").uniform((4,)))
    assert not torch.equal(a, DomainRandomness(0, [3, 9], "neon-sign").uniform((4,)))
    assert torch.equal(a[1], DomainRandomness(0, [9], "chalkboard").uniform((4,))[0])
    first = render_domain(DIGITS, "chalkboard", seed=0)
    assert torch.equal(first, render_domain(DIGITS, "chalkboard", seed=0))
    assert not torch.equal(first, render_domain(DIGITS, "chalkboard", seed=1))


def test_rendering_does_not_depend_on_the_thread_count():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = [render_domain(DIGITS, name, seed=2) for name in ("neon-sign", "tabletop-card")]
        torch.set_num_threads(2)
        two = [render_domain(DIGITS, name, seed=2) for name in ("neon-sign", "tabletop-card")]
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))


def test_signed_distance_matches_brute_force():
    mask = torch.zeros(1, 1, 9, 11)
    mask[0, 0, 2:6, 3:5] = 1.0
    mask[0, 0, 7, 9] = 1.0
    ours = signed_distance(mask)[0, 0].numpy()
    inside = mask[0, 0].numpy() > 0.5
    points = np.argwhere(inside)
    outside = np.argwhere(~inside)
    for r in range(9):
        for c in range(11):
            other = outside if inside[r, c] else points
            nearest = np.sqrt(((other - (r, c)) ** 2).sum(axis=1)).min()
            expected = -(nearest - 0.5) if inside[r, c] else nearest - 0.5
            assert ours[r, c] == pytest.approx(expected, abs=1e-5)
    assert np.allclose(ours[~inside], distance_transform_edt(~inside)[~inside] - 0.5)


def test_geometry_helpers_against_direct_computation():
    flat = shading(torch.zeros(2, 1, 5, 5), torch.tensor([0.3, 2.0]))
    assert torch.allclose(flat, torch.ones_like(flat))
    slope = torch.arange(5.0).view(1, 1, 1, 5).expand(2, 1, 5, 5).contiguous()
    lit = shading(slope, torch.tensor([np.pi, 0.0]))  # a rise to the right, lit from each side
    assert (lit[0, :, 1:-1, 1:-1] > 1).all() and (lit[1, :, 1:-1, 1:-1] < 1).all()
    source = torch.tensor([[[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]])
    target = torch.tensor([[[-0.6, -0.4], [0.7, -0.5], [0.9, 0.8], [-0.8, 0.7]]])
    maps = _homographies(source, target)
    points = torch.cat((target[0], torch.ones(4, 1)), dim=1) @ maps[0].T
    assert torch.allclose(points[:, :2] / points[:, 2:], source[0], atol=1e-4)
    assert [supersampling(s, s) for s in (8, 28, 32, 64, 224)] == [4, 2, 2, 1, 1]


def test_bad_render_input_raises_one_clear_error():
    with pytest.raises(InvalidInputError, match="uint8"):
        render_domain(DIGITS.float(), "neon-sign")
    with pytest.raises(InvalidInputError, match="C = 2"):
        render_domain(torch.zeros(1, 2, 28, 28, dtype=torch.uint8), "neon-sign")
    with pytest.raises(InvalidInputError, match="at least 8 x 8"):
        render_domain(torch.zeros(1, 1, 7, 28, dtype=torch.uint8), "neon-sign")
    with pytest.raises(InvalidInputError, match=r"strength must be a number in \[0, 1\]"):
        render_domain(DIGITS, "neon-sign", strength=1.5)
    with pytest.raises(InvalidInputError, match="got 2 indices for 6 images"):
        render_domain(DIGITS, "neon-sign", indices=[0, 1])


# -- generator and corpus ----------------------------------------------------------------


def test_generator_is_registered_with_the_domain_shift_kind():
    assert "domains" in list_generators()
    assert isinstance(create_generator("domain-shift"), DomainGenerator)
    assert DomainGenerator.kind == "domain-shift" and "domain-shift" in KINDS


def _source(n: int = 12) -> Dataset:
    images = stroke_digits(n, seed=4)
    return Dataset("toy", "test", images, torch.arange(n) % 3, ("a", "b", "c"))


def test_corpus_columns_labels_and_pairing(tmp_path):
    source = _source()
    generator = DomainGenerator(domains="neon-sign,cross-stitch,fisheye-lens", strength=0.4)
    corpus = generator.build(source, tmp_path / "c", seed=0, num_samples=5)
    data = corpus.load()
    assert corpus.kind == "domain-shift" and len(corpus) == 15
    assert corpus.categories("domain") == ("neon-sign", "cross-stitch", "fisheye-lens")
    assert corpus.categories("realisation") == ("procedural", "text-guided")
    assert set(data["realisation"].tolist()) == {0}
    assert data["strength"].dtype == torch.float32 and torch.all(data["strength"] == 0.4)
    assert data["domain"].tolist() == [0] * 5 + [1] * 5 + [2] * 5
    index = data["source_index"]
    assert torch.equal(index[:5], index[5:10]) and torch.equal(index[:5], index[10:])
    assert torch.equal(data["labels"], source.labels[index])
    assert torch.equal(data["label_probs"], torch.eye(3)[source.labels[index]])
    expected = render_domain(source.images[index[5:10]], "cross-stitch", strength=0.4, seed=0,
                             indices=index[5:10])  # fmt: skip
    assert torch.equal(data["images"][5:10], expected)
    defaults = DomainGenerator(domains="neon-sign,led-dot-matrix").build(
        source, tmp_path / "d", seed=0, num_samples=2
    )
    assert defaults.load()["strength"].tolist() == pytest.approx([0.7, 0.7, 0.5, 0.5])


def test_same_seed_is_byte_identical_whatever_the_chunk_size(tmp_path, monkeypatch):
    source = _source()
    generator = DomainGenerator(domains="chalkboard,led-segment-display")
    first = generator.build(source, tmp_path / "a", seed=9, num_samples=7)
    monkeypatch.setattr("generators.domains.generator._CHUNK_PIXELS", 28 * 28 * 9 * 2)
    second = generator.build(source, tmp_path / "b", seed=9, num_samples=7)
    assert [s.sha256 for s in first.manifest.shards] == [s.sha256 for s in second.manifest.shards]
    third = generator.build(source, tmp_path / "c", seed=10, num_samples=7)
    assert first.sha256() != third.sha256()


def test_bad_generator_params_raise_one_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="strength must be a number"):
        DomainGenerator(strength=2)
    with pytest.raises(InvalidInputError, match="realisation must be one of"):
        DomainGenerator(realisation="painted")
    with pytest.raises(InvalidInputError, match="only by the text-guided"):
        DomainGenerator(realisation="procedural", pipeline=str(tmp_path))
    with pytest.raises(InvalidInputError, match="unknown parameter 'strenght'"):
        DomainGenerator(strenght=0.5)
    with pytest.raises(InvalidInputError, match="class_phrases has 2 entries"):
        gen = DomainGenerator(domains="neon-sign", class_phrases=["x", "y"])
        list(gen.generate(_source(), seed=0, num_samples=1))
    custom = tmp_path / "custom.toml"
    custom.write_text(GOOD_ENTRY)
    generator = DomainGenerator(catalogue=str(custom))
    assert generator.domain_names == ("ink-blot",)
    assert len(generator.params["catalogue_sha256"]) == 64
    custom.write_text(GOOD_ENTRY.replace("0.5", "0.6"))
    with pytest.raises(InvalidInputError, match="has changed since this recipe was written"):
        DomainGenerator(**generator.params)


# -- text-guided realisation: its error paths (success: test_domains_text_guided.py) --


def test_text_guided_without_a_pipeline_is_a_clear_skippable_error(tmp_path):
    with pytest.raises(PipelineUnavailableError, match="does not exist") as info:
        DomainGenerator(pipeline=str(tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in str(info.value)
    assert isinstance(info.value, SupervisorTestingError)
    with pytest.raises(PipelineUnavailableError, match="needs a pipeline directory"):
        DomainGenerator(realisation="text-guided")
    try:
        import diffusers  # noqa: F401
    except ImportError:
        with pytest.raises(PipelineUnavailableError, match="needs the diffusers package"):
            load_pipeline(tmp_path)
    else:
        pytest.skip("diffusers is installed; its missing-package error cannot be shown")


# -- recipe and command line -------------------------------------------------------------


def test_recipe_parses_and_instantiates():
    recipe = load_recipe("mnist-domains")
    assert recipe.generator == "domains" and recipe.samples == 100
    generator = create_generator(recipe.generator, **recipe.generator_params)
    assert generator.domain_names == tuple(DOMAINS)


def test_cli_lists_and_generates_domains(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["list", "domains"])
    assert result.exit_code == 0, result.output
    assert "chalkboard" in result.output and "[sensor-rendering]" in result.output
    source = tmp_path / "digits-test"
    result = runner.invoke(
        main, ["--quiet", "corpus", "from-dataset", "digits", "--out", source, "--samples", "6"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "digits-domains"
    args = ["--quiet", "generate", "domains", "--corpus", str(source), "--seed", "0"]
    result = runner.invoke(
        main, [*args, "--domains", "chalkboard,neon-sign", "--strength", "0.5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "12 samples (2 domains, procedural)" in result.output
    corpus = Corpus.open(out)
    assert corpus.categories("domain") == ("chalkboard", "neon-sign")
    assert corpus.manifest.generator.params["strength"] == 0.5
    result = runner.invoke(main, [*args, "--domains", "chalk", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown domain 'chalk'" in result.output
    assert "chalkboard" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        main, [*args, "--pipeline", str(tmp_path / "none"), "--out", str(tmp_path / "y")]
    )
    assert result.exit_code == 2 and "no diffusers pipeline at" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD_ENTRY.replace("strength = 0.5", "strength = 5"))
    result = runner.invoke(main, [*args, "--catalogue", str(bad), "--out", str(tmp_path / "z")])
    assert result.exit_code == 2 and str(bad) in result.output and "strength" in result.output
