"""Recipe parsing, hashing, cached builds and chaining (data sets replaced by digits)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.nominal import NominalGenerator
from supervisor_testing.corpus import MANIFEST_NAME, Corpus
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import CorpusError, InvalidInputError, UnknownNameError
from supervisor_testing.recipes import (
    RECIPES_ENV,
    Recipe,
    build_recipe,
    list_recipes,
    load_recipe,
    recipe_dirs,
    recipe_hash,
    resolve_corpus,
)

SHIPPED = Path(__file__).resolve().parents[1] / "corpora"


@pytest.fixture(scope="module")
def digits_splits() -> dict[str, Dataset]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(np.round(bunch.images * 255 / 16).astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    names = tuple(str(i) for i in range(10))
    return {
        split: Dataset("digits", split, images[part], labels[part], names)
        for split, part in (("test", slice(0, 400)), ("calibration", slice(400, 700)))
    }


@pytest.fixture
def loads(
    monkeypatch: pytest.MonkeyPatch, digits_splits: dict[str, Dataset]
) -> list[tuple[str, str]]:
    """Serve digits for every data set name and record which splits were loaded."""
    calls: list[tuple[str, str]] = []

    def fake_load_dataset(name: str, split: str = "test", *, root: object = None) -> Dataset:
        calls.append((name, split))
        return digits_splits[split]

    monkeypatch.setattr("supervisor_testing.data.load_dataset", fake_load_dataset, raising=False)
    return calls


@pytest.fixture
def recipe_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "recipes"
    directory.mkdir()
    monkeypatch.setenv(RECIPES_ENV, str(directory))
    return directory


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(textwrap.dedent(body))
    return path


NOMINAL = """
    name = "{name}"
    description = "digits for tests"
    seed = {seed}
    samples = 100

    [source]
    dataset = "digits"
    split = "test"

    [generator]
    name = "nominal"
"""

FAR_OOD = """
    name = "{name}"
    seed = 2
    samples = 50

    [source]
    recipe = "{source}"

    [generator]
    name = "far-ood"

    [generator.params]
    image_shape = [3, 16, 16]
    class_names = ["cat", "dog"]
"""


# -- shipped recipes --------------------------------------------------------------------


def test_shipped_recipes_parse_and_are_listed() -> None:
    names = sorted(p.stem for p in SHIPPED.glob("*.toml"))
    assert {
        "mnist-test",
        "mnist-calibration",
        "fashion-mnist-test",
        "fashion-mnist-calibration",
        "digits-test",
        "digits-calibration",
        "mnist-far-ood-fashion",
        "fashion-mnist-far-ood-mnist",
    } <= set(names)
    assert set(names) <= set(list_recipes())
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name and recipe.description and "\n" not in recipe.description
        assert len(recipe_hash(recipe)) == 64
    ood = load_recipe("mnist-far-ood-fashion")
    assert (ood.dataset, ood.split, ood.samples) == ("fashion-mnist", "test", 2000)
    assert dict(ood.generator_params) == {"target": "mnist"}
    assert load_recipe("fashion-mnist-far-ood-mnist").generator_params["target"] == "fashion-mnist"
    assert load_recipe("mnist-calibration").split == "calibration"


# -- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'name = "r"\n[source]\ndataset="d"\nsplit="test"\n[generator]\nname="nominal"',
            "'seed' is missing",
        ),
        ('name = "r"\nseed = "0"', "'seed' must be a non-negative integer.*got str"),
        ('name = "r"\nseed = true', "'seed' must be a non-negative integer.*got bool"),
        ('name = "r"\nseed = -1', "'seed' must be a non-negative integer"),
        ('name = "other"\nseed = 0', "'name' 'other' must match the file name.*r.toml"),
        ('name = "r"\nseed = 0\nseeds = 1', "'seeds' is unknown; allowed keys: name, desc"),
        ('name = "r"\nseed = 0\nsamples = 0', "'samples' must be a positive integer"),
        ('name = "r"\nseed = 0\nsource = "mnist"', "'source' must be a table"),
        ("name = 'r'\nseed = 0\n[source]\ndataset = 'd'", "'source.split' is missing"),
        ("name = 'r'\nseed = 0\n[source]\ndataset = 'd'\nsplit = 'val'", "'val' is not a split"),
        ("name = 'r'\nseed = 0\n[source]\ndataset = 'd'\nrecipe = 'x'", "exactly one of"),
        ("name = 'r'\nseed = 0\n[source]\nrecipe = 'x'\nsplit = 'test'", "data set only"),
        ("name = 'r'\nseed = 0\n[source]\nrecipe = 'r'", "its own corpus"),
        ("name = 'r'\nseed = 0\n[source]\nurl = 'x'", "'source.url' is unknown"),
    ],
)
def test_invalid_recipe_is_one_error_naming_file_and_key(
    recipe_dir: Path, body: str, message: str
) -> None:
    complete = body
    if "[source]" not in body and "source =" not in body:
        complete += '\n[source]\ndataset = "d"\nsplit = "test"'
    if "[generator]" not in complete:
        complete += '\n[generator]\nname = "nominal"'
    path = write(recipe_dir, "r", complete)
    with pytest.raises(InvalidInputError, match=message) as info:
        load_recipe(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("generator", "message"),
    [
        ('name = "blurrr"', r"'generator.name': unknown generator 'blurrr'; known: .*nominal"),
        ("name = 3", "'generator.name' must be a generator name"),
        ('name = "nominal"\nseed = 1', "'generator.seed' is unknown"),
        ('name = "nominal"\n[generator.params]\nsigma = 1', r"\[generator.params\]: .*'sigma'"),
        ('name = "far-ood"\n[generator.params]\ntarget = 5', "target must be a data set name"),
        ('name = "far-ood"\n[generator.params]\ntarget = 2024-01-01', "no dates"),
    ],
)
def test_invalid_generator_section(recipe_dir: Path, generator: str, message: str) -> None:
    body = (
        f'name = "r"\nseed = 0\n[source]\ndataset = "d"\nsplit = "test"\n[generator]\n{generator}'
    )
    path = write(recipe_dir, "r", body)
    with pytest.raises(InvalidInputError, match=message):
        load_recipe(path)


def test_invalid_toml_and_missing_files(recipe_dir: Path) -> None:
    path = write(recipe_dir, "broken", 'name = "broken\nseed = 0')
    with pytest.raises(InvalidInputError, match=r"broken.toml: invalid TOML"):
        load_recipe(path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_recipe(recipe_dir / "absent.toml")
    with pytest.raises(UnknownNameError, match=r"unknown recipe 'absent'; known: .*mnist-test"):
        load_recipe("absent")


def test_names_are_found_on_the_search_path_first_one_wins(
    recipe_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(recipe_dir, "mnist-test", NOMINAL.format(name="mnist-test", seed=9))
    local = tmp_path / "work" / "corpora"
    local.mkdir(parents=True)
    write(local, "local-only", NOMINAL.format(name="local-only", seed=1))
    monkeypatch.chdir(tmp_path / "work")
    assert recipe_dirs()[:2] == [recipe_dir, Path.cwd() / "corpora"]
    assert load_recipe("mnist-test").seed == 9  # shadows the shipped recipe
    assert load_recipe("local-only").path == (local / "local-only.toml").resolve()
    assert {"local-only", "mnist-test", "digits-test"} <= set(list_recipes())


def test_recipe_round_trips_through_its_dict(recipe_dir: Path) -> None:
    recipe = load_recipe(write(recipe_dir, "a", NOMINAL.format(name="a", seed=4)))
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    chained = load_recipe(write(recipe_dir, "b", FAR_OOD.format(name="b", source="a")))
    assert Recipe.from_dict(chained.to_dict()) == chained
    assert chained.source_recipe == "a" and chained.dataset is None


# -- hashing ----------------------------------------------------------------------------


def test_hash_is_stable_and_ignores_what_does_not_change_the_corpus(recipe_dir: Path) -> None:
    path = write(recipe_dir, "a", NOMINAL.format(name="a", seed=4))
    digest = recipe_hash(load_recipe(path))
    assert digest == recipe_hash(load_recipe(path))
    # Pinned: a change here silently invalidates (or worse, reuses) every cached corpus.
    assert digest == "91d3e0f4dd96edd54dea1033a952219f2a29dd458d5e75de9680e617667f5134"
    described = load_recipe(path)
    other = Recipe.from_dict({**described.to_dict(), "description": "changed"})
    assert recipe_hash(other) == digest
    ood = FAR_OOD.format(name="o", source="a")
    base = recipe_hash(load_recipe(write(recipe_dir, "o", ood)))
    aliased = ood.replace('name = "far-ood"', 'name = "invalid"')
    assert recipe_hash(load_recipe(write(recipe_dir, "o", aliased))) == base


def test_hash_changes_with_everything_that_changes_the_corpus(
    recipe_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_dict = load_recipe(write(recipe_dir, "a", NOMINAL.format(name="a", seed=4))).to_dict()
    base = recipe_hash(Recipe.from_dict(base_dict))
    variants = [
        {"seed": 5},
        {"samples": 99},
        {"name": "a2"},
        {"source": {"dataset": "digits", "split": "calibration"}},
        {"source": {"dataset": "mnist", "split": "test"}},
        {"generator": {"name": "far-ood", "params": {"target": "mnist"}}},
    ]
    digests = {recipe_hash(Recipe.from_dict({**base_dict, **change})) for change in variants}
    assert base not in digests and len(digests) == len(variants)
    ood = load_recipe(write(recipe_dir, "o", FAR_OOD.format(name="o", source="a")))
    params = dict(ood.generator_params)
    changed = {
        **ood.to_dict(),
        "generator": {"name": "far-ood", "params": {**params, "class_names": ["x"]}},
    }
    assert recipe_hash(Recipe.from_dict(changed, path=ood.path)) != recipe_hash(ood)
    before = recipe_hash(ood)
    write(recipe_dir, "a", NOMINAL.format(name="a", seed=5))  # the source recipe changes
    assert recipe_hash(ood) != before
    monkeypatch.setattr(NominalGenerator, "version", "999")
    assert recipe_hash(Recipe.from_dict(base_dict)) != base


def test_cycles_are_reported(recipe_dir: Path) -> None:
    write(recipe_dir, "x", FAR_OOD.format(name="x", source="y"))
    write(
        recipe_dir,
        "y",
        'name = "y"\nseed = 0\n[source]\nrecipe = "x"\n[generator]\nname = "nominal"',
    )
    with pytest.raises(InvalidInputError, match="cycle: x -> y -> x"):
        recipe_hash(load_recipe("x"))


# -- building ---------------------------------------------------------------------------


def test_build_writes_into_the_cache_and_reuses_it(
    recipe_dir: Path, scratch_cache: Path, loads: list[tuple[str, str]]
) -> None:
    recipe = load_recipe(write(recipe_dir, "a", NOMINAL.format(name="a", seed=4)))
    corpus = build_recipe("a")
    assert corpus.path == scratch_cache / "corpora" / f"a-{recipe_hash(recipe)[:12]}"
    assert len(corpus) == 100 and corpus.name == "a" and corpus.manifest.generator.seed == 4
    assert loads == [("digits", "test")]
    stamp = (corpus.path / MANIFEST_NAME).stat().st_mtime_ns
    again = build_recipe(recipe)
    assert loads == [("digits", "test")] * 2  # read to compare its hash, not regenerated
    assert again.path == corpus.path and again.sha256() == corpus.sha256()
    assert (corpus.path / MANIFEST_NAME).stat().st_mtime_ns == stamp
    rebuilt = build_recipe("a", overwrite=True)
    assert len(loads) == 3 and rebuilt.sha256() == corpus.sha256()
    assert sorted(p.name for p in (scratch_cache / "corpora").iterdir()) == [corpus.path.name]


def test_a_damaged_cached_build_is_rebuilt(
    recipe_dir: Path, scratch_cache: Path, loads: list[tuple[str, str]]
) -> None:
    write(recipe_dir, "a", NOMINAL.format(name="a", seed=4))
    corpus = build_recipe("a")
    shard = corpus.path / "shard-00000.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="rebuilding cached corpus"):
        rebuilt = build_recipe("a")
    assert len(loads) == 2 and rebuilt.sha256() == corpus.sha256()
    Corpus.open(rebuilt.path)


def test_chained_recipe_builds_its_source_first(
    recipe_dir: Path, scratch_cache: Path, loads: list[tuple[str, str]]
) -> None:
    write(recipe_dir, "a", NOMINAL.format(name="a", seed=4))
    write(recipe_dir, "b", FAR_OOD.format(name="b", source="a"))
    ood = build_recipe("b")
    nominal = build_recipe("a")
    assert loads == [("digits", "test")] * 2  # "a" was built once, for "b", then checked
    assert ood.kind == "far-ood" and len(ood) == 50 and ood.class_names == ("cat", "dog")
    source = ood.manifest.source
    assert (source.dataset, source.split, source.recipe) == ("digits", "test", "a")
    assert source.sha256 == nominal.to_dataset().sha256()
    index = ood.load()["source_index"]
    gray = nominal.load()["images"][index]
    rgb = ood.load()["images"]
    assert rgb.shape == (50, 3, 16, 16)
    # Each far-OOD image is its source image, upscaled: compare on the 8x8 grid's means.
    down = torch.nn.functional.avg_pool2d(rgb[:, :1].float(), 2)
    assert (down - gray.float()).abs().mean() < 20
    assert sorted(p.name.split("-")[0] for p in (scratch_cache / "corpora").iterdir()) == ["a", "b"]


def test_build_from_a_path_outside_the_search_path(
    tmp_path: Path,
    scratch_cache: Path,
    loads: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(RECIPES_ENV, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere, "a", NOMINAL.format(name="a", seed=4))
    path = write(elsewhere, "b", FAR_OOD.format(name="b", source="a"))
    corpus = build_recipe(os.fspath(path))  # "a" is found beside "b"
    assert corpus.manifest.source.recipe == "a"


def test_resolve_corpus_takes_a_directory_a_recipe_file_or_a_name(
    recipe_dir: Path, scratch_cache: Path, loads: list[tuple[str, str]]
) -> None:
    path = write(recipe_dir, "a", NOMINAL.format(name="a", seed=4))
    by_name = resolve_corpus("a")
    assert resolve_corpus(path).path == by_name.path
    assert resolve_corpus(by_name.path).sha256() == by_name.sha256()
    assert resolve_corpus(str(by_name.path)).path == by_name.path
    assert resolve_corpus(by_name) is by_name
    assert loads == [("digits", "test")] * 2  # built, then reused after a hash check
    with pytest.raises(CorpusError, match=r"corpus.json is missing"):
        resolve_corpus(recipe_dir)
    with pytest.raises(UnknownNameError, match="unknown recipe 'nothing'"):
        resolve_corpus("nothing")


def test_a_build_whose_source_data_changed_is_rebuilt(
    recipe_dir: Path,
    scratch_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    digits_splits: dict[str, Dataset],
) -> None:
    """The recipe hash names the data set, not its bytes: new bytes (MNIST from another
    source, say) must not be answered with the corpus built from the old ones."""
    import warnings

    from supervisor_testing.errors import DatasetNotFoundError

    served = {"digits": digits_splits["test"]}

    def fake_load_dataset(name: str, split: str = "test", *, root: object = None) -> Dataset:
        if name not in served:
            raise DatasetNotFoundError(f"{name} is not installed")
        return served[name]

    monkeypatch.setattr("supervisor_testing.data.load_dataset", fake_load_dataset, raising=False)
    write(recipe_dir, "a", NOMINAL.format(name="a", seed=4))
    write(recipe_dir, "b", FAR_OOD.format(name="b", source="a"))
    old_a, old_b = build_recipe("a"), build_recipe("b")
    old = digits_splits["test"]
    images = old.images.clone()
    images[:, :, 0, 0] = 255 - images[:, :, 0, 0]  # the same digits, other bytes
    served["digits"] = Dataset("digits", "test", images, old.labels, old.class_names)
    with pytest.warns(UserWarning, match=r"data set 'digits' \(test\) changed since it was built"):
        new_a = build_recipe("a")
    assert new_a.path == old_a.path  # the same recipe hash: cached corpora keep their names
    assert new_a.manifest.source.sha256 == served["digits"].sha256() != old.sha256()
    assert torch.equal(new_a.load()["images"], images[new_a.load()["source_index"]])
    with pytest.warns(UserWarning, match="recipe 'a' changed since it was built"):
        new_b = build_recipe("b")  # chained: its source corpus "a" was rebuilt
    assert new_b.path == old_b.path and new_b.sha256() != old_b.sha256()
    assert new_b.manifest.source.sha256 == new_a.to_dataset().sha256()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # current builds are reused silently
        assert build_recipe("b").sha256() == new_b.sha256()
        del served["digits"]  # uninstalled: the verified builds are still used as they are
        assert build_recipe("a").sha256() == new_a.sha256()
        assert build_recipe("b").sha256() == new_b.sha256()
