"""Corpus format, writer atomicity and integrity checks, and the two foundation generators."""

from __future__ import annotations

import csv
import doctest
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save

import supervisor_testing.corpus as corpus_module
import supervisor_testing.generation as generation_module
from supervisor_testing.corpus import (
    KINDS,
    MANIFEST_NAME,
    ColumnSpec,
    Corpus,
    CorpusWriter,
    GeneratorInfo,
    SourceInfo,
    corpus_from_dataset,
    open_corpus,
    write_corpus,
)
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import CorpusError, InvalidInputError, UnknownNameError
from supervisor_testing.generation import create_generator, generators, list_generators

CLASSES = ("zero", "one", "two")
CORRUPTIONS = ("fog", "snow", "blur")
EXTRA = {
    "severity": ColumnSpec("int64"),
    "corruption": ColumnSpec("int64", categories=CORRUPTIONS),
    "embedding": ColumnSpec("float32", (2,)),
}


def meta(**overrides: object) -> dict[str, object]:
    out: dict[str, object] = {
        "name": "toy",
        "kind": "corrupted",
        "class_names": CLASSES,
        "generator": GeneratorInfo("toy-gen", "3", {"strength": [1, 2]}, seed=7),
        "source": SourceInfo("toy-data", "test", "ab" * 32),
        "extra_columns": EXTRA,
    }
    out.update(overrides)
    return out


def make_columns(n: int = 50, *, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(-1, len(CLASSES), (n,), generator=g)
    probs = torch.rand(n, len(CLASSES), generator=g)
    probs = probs / probs.sum(dim=1, keepdim=True)
    probs[labels == -1] = 0
    return {
        "images": torch.randint(0, 256, (n, 1, 6, 5), generator=g, dtype=torch.uint8),
        "labels": labels,
        "label_probs": probs,
        "source_index": torch.arange(n) * 3,
        "severity": torch.randint(1, 6, (n,), generator=g),
        "corruption": torch.randint(0, len(CORRUPTIONS), (n,), generator=g),
        "embedding": torch.randn(n, 2, generator=g),
    }


def files_of(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.fixture(scope="module")
def digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.round(bunch.images[:300] * 255 / 16).astype(np.uint8)
    return Dataset(
        name="digits",
        split="test",
        images=torch.from_numpy(pixels).unsqueeze(1),
        labels=torch.from_numpy(bunch.target[:300].astype(np.int64)),
        class_names=tuple(str(i) for i in range(10)),
    )


@pytest.fixture
def toy(tmp_path: Path) -> Corpus:
    return write_corpus(tmp_path / "toy", make_columns(), shard_size=16, **meta())


def edit_manifest(corpus: Corpus, edit) -> Path:
    path = corpus.path / MANIFEST_NAME
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return corpus.path


# -- round trip -------------------------------------------------------------------------


def test_round_trip_keeps_every_column_and_the_metadata(tmp_path: Path) -> None:
    columns = make_columns(50)
    written = write_corpus(tmp_path / "toy", columns, shard_size=16, **meta())
    corpus = open_corpus(tmp_path / "toy")
    loaded = corpus.load()
    assert set(loaded) == set(columns)
    for name, tensor in columns.items():
        assert torch.equal(loaded[name], tensor), name
    assert len(corpus) == 50 and corpus.num_classes == 3
    assert corpus.kind == "corrupted" and corpus.class_names == CLASSES
    assert corpus.image_shape == (1, 6, 5)
    assert [s.num_samples for s in corpus.manifest.shards] == [16, 16, 16, 2]
    assert corpus.manifest.generator == GeneratorInfo("toy-gen", "3", {"strength": [1, 2]}, 7)
    assert corpus.columns["embedding"] == ColumnSpec("float32", (2,))
    assert corpus.categories("corruption") == CORRUPTIONS
    codes = loaded["corruption"][:4]
    assert corpus.decode("corruption", codes) == [CORRUPTIONS[int(c)] for c in codes]
    assert corpus.sha256() == written.sha256()
    assert corpus.sha256() == hashlib.sha256((corpus.path / MANIFEST_NAME).read_bytes()).hexdigest()
    assert "toy" in repr(corpus) and "num_samples=50" in repr(corpus)


def test_manifest_is_canonical_json_without_absolute_paths(toy: Corpus) -> None:
    text = (toy.path / MANIFEST_NAME).read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert str(toy.path) not in text and data["format_version"] == 1
    assert type(toy.manifest).from_dict(data) == toy.manifest
    assert toy.manifest.to_dict() == data


def test_shards_do_not_depend_on_how_the_samples_were_batched(tmp_path: Path) -> None:
    columns = make_columns(100)
    outputs = []
    for step in (7, 33, 100):
        path = tmp_path / f"c{step}"
        with CorpusWriter(path, shard_size=32, **meta()) as writer:
            for start in range(0, 100, step):
                writer.add({k: v[start : start + step] for k, v in columns.items()})
        outputs.append(files_of(path))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) == 5  # 4 shards + manifest


def test_writer_copies_batches_so_reused_buffers_are_safe(tmp_path: Path) -> None:
    columns = make_columns(10)
    with CorpusWriter(tmp_path / "c", **meta()) as writer:
        writer.add(columns)
        expected = columns["images"].clone()
        columns["images"].zero_()
    assert torch.equal(writer.corpus.load(["images"])["images"], expected)


def test_batches_stream_the_same_samples_as_load(toy: Corpus) -> None:
    batches = list(toy.batches(7))
    assert [len(b["labels"]) for b in batches] == [7] * 7 + [1]
    full = toy.load()
    for name in full:
        assert torch.equal(torch.cat([b[name] for b in batches]), full[name])
    only = next(toy.batches(100, columns=["labels"]))
    assert set(only) == {"labels"} and len(only["labels"]) == 50
    with pytest.raises(InvalidInputError, match="no column 'nope'"):
        toy.load(["nope"])


def test_empty_corpus_needs_an_image_shape(tmp_path: Path) -> None:
    with (
        pytest.raises(InvalidInputError, match="no samples"),
        CorpusWriter(tmp_path / "e", **meta()),
    ):
        pass
    assert not (tmp_path / "e").exists()
    with CorpusWriter(tmp_path / "e", image_shape=(3, 4, 4), **meta()) as writer:
        pass
    assert len(writer.corpus) == 0
    assert writer.corpus.load()["images"].shape == (0, 3, 4, 4)


# -- atomicity --------------------------------------------------------------------------


def test_an_exception_mid_write_leaves_no_corpus_and_no_temp_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), CorpusWriter(tmp_path / "c", shard_size=8, **meta()) as w:
        w.add(make_columns(20))  # two shards already on disk in the temp dir
        raise RuntimeError("generator crashed")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_overwrite_keeps_the_existing_corpus(toy: Corpus) -> None:
    before = files_of(toy.path)
    bad = make_columns(5)
    bad["label_probs"][0, 0] = float("nan")
    with pytest.raises(InvalidInputError), CorpusWriter(toy.path, overwrite=True, **meta()) as w:
        w.add(make_columns(30))
        w.add(bad)
    assert files_of(toy.path) == before
    assert sorted(p.name for p in toy.path.parent.iterdir()) == ["toy"]
    assert open_corpus(toy.path).sha256() == toy.sha256()


def test_existing_corpus_needs_overwrite(toy: Corpus, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="pass overwrite=True"):
        write_corpus(toy.path, make_columns(3), **meta())
    replaced = write_corpus(toy.path, make_columns(3), overwrite=True, **meta())
    assert len(open_corpus(toy.path)) == 3 == len(replaced)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]


def test_overwrite_refuses_to_delete_a_directory_that_is_not_a_corpus(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("...")
    with pytest.raises(CorpusError, match="refusing to replace"):
        write_corpus(precious, make_columns(3), overwrite=True, **meta())
    assert (precious / "thesis.tex").exists()


# -- integrity on open ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("kind"), "missing field 'kind'"),
        (lambda d: d.update(num_samples="50"), "'num_samples' must be an integer"),
        (lambda d: d.update(class_names="abc"), "'class_names' must be a list"),
        (lambda d: d["generator"].update(seed=-1), "'seed' must be an integer >= 0"),
        (lambda d: d.update(format_version=2), "format version 2 is not supported"),
        (lambda d: d.update(format="zip"), "not a supervisor-testing corpus"),
        (lambda d: d.update(kind="weird"), "unknown kind 'weird'"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d.update(num_samples=49), "num_samples is 49 but the shards hold 50"),
        (lambda d: d["columns"]["labels"].update(dtype="int32"), "required column 'labels'"),
        (lambda d: d["shards"][0].update(sha256="xyz"), "sha256 hex digest"),
    ],
)
def test_malformed_manifest_is_one_clear_error(toy: Corpus, edit, message: str) -> None:
    path = edit_manifest(toy, edit)
    with pytest.raises(CorpusError, match=message) as info:
        open_corpus(path)
    assert "rebuild" in str(info.value)


def test_manifest_that_is_not_json(toy: Corpus) -> None:
    (toy.path / MANIFEST_NAME).write_text('{"format": ')
    with pytest.raises(CorpusError, match="not valid JSON"):
        open_corpus(toy.path)
    with pytest.raises(CorpusError, match=r"corpus.json is missing"):
        open_corpus(toy.path / "nowhere")


@pytest.mark.parametrize("verify", [True, False])
def test_truncated_shard(toy: Corpus, verify: bool) -> None:
    shard = toy.path / "shard-00001.safetensors"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(CorpusError, match=r"shard-00001.safetensors is truncated"):
        open_corpus(toy.path, verify=verify)
    shard.write_bytes(b"\x01")
    with pytest.raises(CorpusError, match="truncated"):
        open_corpus(toy.path, verify=verify)


def test_missing_shard(toy: Corpus) -> None:
    (toy.path / "shard-00002.safetensors").unlink()
    with pytest.raises(CorpusError, match=r"shard-00002.safetensors is missing"):
        open_corpus(toy.path, verify=False)


def test_tampered_shard_fails_verification(toy: Corpus) -> None:
    shard = toy.path / "shard-00000.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF  # a data byte: the header still parses
    shard.write_bytes(bytes(data))
    with pytest.raises(
        CorpusError, match=r"shard-00000.safetensors does not match its sha256.*rebuild"
    ):
        open_corpus(toy.path)
    open_corpus(toy.path, verify=False)  # only the hash check reads the data
    with pytest.raises(CorpusError, match="sha256"):
        open_corpus(toy.path, verify=False).verify()


@pytest.mark.parametrize("bad_path", ["../x.safetensors", "/etc/passwd", "a/../../b", "C:\\x"])
def test_shard_path_outside_the_corpus_is_rejected(toy: Corpus, bad_path: str) -> None:
    path = edit_manifest(toy, lambda d: d["shards"][0].update(path=bad_path))
    with pytest.raises(CorpusError, match="escapes the corpus directory"):
        open_corpus(path, verify=False)


def test_symlinked_shard_pointing_outside_is_rejected(toy: Corpus, tmp_path: Path) -> None:
    shard = toy.path / "shard-00000.safetensors"
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(shard.read_bytes())
    shard.unlink()
    os.symlink(outside, shard)
    with pytest.raises(CorpusError, match="escapes the corpus directory"):
        open_corpus(toy.path, verify=False)


def test_shard_that_disagrees_with_the_schema(toy: Corpus) -> None:
    shard = toy.path / "shard-00000.safetensors"
    columns = {k: v[:16] for k, v in make_columns().items()}
    columns["severity"] = columns["severity"].to(torch.int32)
    data = save(columns)
    shard.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    edit_manifest(toy, lambda d: d["shards"][0].update(sha256=digest))
    with pytest.raises(CorpusError, match=r"column 'severity' is int32 .* schema .* says int64"):
        open_corpus(toy.path)
    del columns["severity"]
    shard.write_bytes(save(columns))
    with pytest.raises(CorpusError, match=r"missing columns: \['severity'\]"):
        open_corpus(toy.path, verify=False)


def test_verification_checks_label_rules_of_stored_data(toy: Corpus) -> None:
    shard = toy.path / "shard-00000.safetensors"
    columns = {k: v[:16] for k, v in make_columns().items()}
    columns["labels"][0] = 7  # outside the three classes
    data = save(columns)
    shard.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    edit_manifest(toy, lambda d: d["shards"][0].update(sha256=digest))
    with pytest.raises(CorpusError, match=r"labels must lie in 0..2.*rebuild"):
        open_corpus(toy.path)


# -- validation on write ----------------------------------------------------------------


def _set(name: str, index: tuple, value: float):
    def edit(columns: dict[str, torch.Tensor]) -> None:
        columns[name][index] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("label_probs", (0, 0), float("nan")), "NaN"),
        (_set("label_probs", (0, 0), 5.0), r"must lie in \[0, 1\]"),
        (lambda c: c["label_probs"].mul_(0.5), "must sum to 1"),
        (lambda c: c.update(labels=torch.full((50,), -1)), "label -1 .* all-zero label_probs"),
        (_set("labels", (0,), 3), r"labels must lie in 0..2"),
        (_set("corruption", (1,), 3), "categorical column 'corruption' holds code 3"),
        (lambda c: c.update(images=c["images"][:, 0]), "'images' must be a uint8 tensor"),
        (lambda c: c.update(images=c["images"].float()), "'images' must be uint8"),
        (lambda c: c.update(label_probs=c["label_probs"][:, :2]), "'label_probs' must have shape"),
        (lambda c: c.update(labels=c["labels"].int()), r"\.to\(torch\.int64\)"),
        (lambda c: c.update(source_index=c["source_index"][:3]), "disagree on the number"),
        (lambda c: c.pop("severity"), "missing column 'severity'"),
        (lambda c: c.update(bonus=c["severity"]), "unknown column 'bonus'.*extra_columns"),
        (lambda c: c.update(severity=[1] * 50), "must be a torch.Tensor"),
    ],
)
def test_bad_batches_are_rejected_on_write(tmp_path: Path, edit, message: str) -> None:
    columns = make_columns(50)
    columns["labels"][columns["labels"] == -1] = 0
    columns["label_probs"] = torch.nn.functional.one_hot(columns["labels"], 3).float()
    edit(columns)
    with pytest.raises(InvalidInputError, match=message):
        write_corpus(tmp_path / "bad", columns, **meta())
    assert list(tmp_path.iterdir()) == []


def test_later_batches_must_match_the_image_shape(tmp_path: Path) -> None:
    columns = make_columns(10)
    smaller = {**columns, "images": columns["images"][:, :, :5]}
    shape_error = pytest.raises(InvalidInputError, match=r"'images' must have shape \(N, 1, 6, 5\)")
    with shape_error, CorpusWriter(tmp_path / "c", **meta()) as writer:
        writer.add(columns)
        writer.add(smaller)
    with pytest.raises(InvalidInputError, match=r"'images' must have shape \(N, 3, 6, 5\)"):
        write_corpus(tmp_path / "c", columns, image_shape=(3, 6, 5), **meta())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "fuzzy"}, "unknown corpus kind 'fuzzy'"),
        ({"class_names": ("a", "a")}, "class_names must be distinct"),
        ({"extra_columns": {"labels": ColumnSpec("int64")}}, "reserved or invalid"),
        ({"generator": "nominal"}, "needs a GeneratorInfo"),
    ],
)
def test_bad_writer_metadata(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        CorpusWriter(tmp_path / "c", **meta(**overrides))


def test_column_specs_and_infos_reject_bad_values() -> None:
    with pytest.raises(InvalidInputError, match="unknown column dtype"):
        ColumnSpec("complex64")
    with pytest.raises(InvalidInputError, match="int64"):
        ColumnSpec("float32", categories=("a",))
    with pytest.raises(InvalidInputError, match="JSON-serialisable"):
        GeneratorInfo("g", "1", {"f": float("nan")})
    assert ColumnSpec(torch.float16, [3]) == ColumnSpec("float16", (3,))
    assert set(KINDS) >= {"nominal", "far-ood", "corrupted", "ambiguous"}


# -- export -----------------------------------------------------------------------------


def test_export_png_writes_images_and_a_label_table(toy: Corpus, tmp_path: Path) -> None:
    out = toy.export_png(tmp_path / "png", batch_size=9)
    data = toy.load()
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == [f"{i:06d}.png" for i in range(50)]
    for i in (0, 17, 49):
        with Image.open(pngs[i]) as image:
            assert image.mode == "L"
            assert np.array_equal(np.asarray(image), data["images"][i, 0].numpy())
    with (out / "labels.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "index",
        "file",
        "label",
        "label_name",
        "prob_zero",
        "prob_one",
        "prob_two",
        "source_index",
        "corruption",
        "embedding[0]",
        "embedding[1]",
        "severity",
    ]
    assert len(rows) == 50
    for i, row in enumerate(rows):
        label = int(data["labels"][i])
        assert int(row["label"]) == label
        assert row["label_name"] == (CLASSES[label] if label >= 0 else "")
        probs = [float(row[f"prob_{c}"]) for c in CLASSES]
        assert np.array_equal(np.float32(probs), data["label_probs"][i].numpy())
        assert int(row["source_index"]) == int(data["source_index"][i])
        assert row["corruption"] == CORRUPTIONS[int(data["corruption"][i])]
        assert np.float32(row["embedding[1]"]) == data["embedding"][i, 1].numpy()


def test_export_png_writes_rgb(tmp_path: Path) -> None:
    columns = make_columns(4)
    columns["images"] = torch.randint(0, 256, (4, 3, 5, 6), dtype=torch.uint8)
    corpus = write_corpus(tmp_path / "rgb", columns, **meta())
    corpus.export_png(tmp_path / "png")
    with Image.open(tmp_path / "png" / "000003.png") as image:
        assert image.mode == "RGB"
        assert np.array_equal(np.asarray(image), columns["images"][3].permute(1, 2, 0).numpy())


def test_export_npz_round_trip(toy: Corpus, tmp_path: Path) -> None:
    out = toy.export_npz(tmp_path / "toy")
    assert out.name == "toy.npz"
    with np.load(out, allow_pickle=False) as arrays:
        loaded = {k: arrays[k] for k in arrays.files}
    expected = toy.load()
    assert set(loaded) == set(expected)
    for name, tensor in expected.items():
        assert (
            np.array_equal(loaded[name], tensor.numpy())
            and loaded[name].dtype == tensor.numpy().dtype
        )


# -- generators -------------------------------------------------------------------------


def test_corpus_from_dataset_is_a_seeded_one_hot_subsample(digits: Dataset, tmp_path: Path) -> None:
    corpus = corpus_from_dataset(digits, tmp_path / "nominal", num_samples=120, seed=5)
    data = corpus.load()
    index = data["source_index"]
    assert len(corpus) == 120 and corpus.kind == "nominal" and corpus.name == "nominal"
    assert torch.equal(index, index.sort().values) and len(index.unique()) == 120
    assert torch.equal(data["images"], digits.images[index])
    assert torch.equal(data["labels"], digits.labels[index])
    assert torch.equal(data["label_probs"].argmax(1), data["labels"])
    assert torch.equal(data["label_probs"].sum(1), torch.ones(120))
    source = corpus.manifest.source
    assert (source.dataset, source.split, source.sha256) == ("digits", "test", digits.sha256())
    assert corpus.manifest.generator.seed == 5 and corpus.manifest.generator.name == "nominal"
    again = corpus.to_dataset()
    assert again.name == "digits" and torch.equal(again.images, data["images"])


def test_same_seed_gives_byte_identical_shards(digits: Dataset, tmp_path: Path) -> None:
    nominal = create_generator("nominal")
    a = nominal.build(digits, tmp_path / "a", seed=3, num_samples=200, name="n")
    b = nominal.build(digits, tmp_path / "b", seed=3, num_samples=200, name="n")
    c = nominal.build(digits, tmp_path / "c", seed=4, num_samples=200, name="n")
    assert files_of(a.path) == files_of(b.path)
    assert a.sha256() == b.sha256() != c.sha256()
    assert not torch.equal(a.load()["source_index"], c.load()["source_index"])


def test_all_samples_and_too_many_samples(digits: Dataset, tmp_path: Path) -> None:
    corpus = corpus_from_dataset(digits, tmp_path / "all")
    assert torch.equal(corpus.load()["source_index"], torch.arange(len(digits)))
    with pytest.raises(InvalidInputError, match="at most 300"):
        corpus_from_dataset(digits, tmp_path / "more", num_samples=301)


def test_far_ood_converts_rgb_to_the_target_gray_shape(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (12, 3, 32, 32), generator=g, dtype=torch.uint8)
    source = Dataset("cifar", "test", rgb, torch.zeros(12, dtype=torch.int64), ("plane",))
    gen = create_generator("invalid", image_shape=(1, 28, 28), class_names=list("0123456789"))
    corpus = gen.build(source, tmp_path / "ood", seed=0, num_samples=10)
    data = corpus.load()
    assert corpus.kind == "far-ood" and corpus.image_shape == (1, 28, 28)
    assert corpus.class_names == tuple("0123456789")
    assert torch.equal(data["labels"], torch.full((10,), -1))
    assert torch.equal(data["label_probs"], torch.zeros(10, 10))
    # PIL's BT.601 luma and antialiased bilinear resize, an independent implementation.
    for row, i in enumerate(data["source_index"].tolist()):
        image = Image.fromarray(rgb[i].permute(1, 2, 0).numpy())
        ref = np.asarray(image.convert("L").resize((28, 28), Image.BILINEAR), dtype=int)
        assert np.abs(data["images"][row, 0].numpy().astype(int) - ref).max() <= 1
    with pytest.raises(CorpusError, match="outside the label space"):
        corpus.to_dataset()


def test_far_ood_converts_gray_to_rgb_for_a_named_target(
    digits: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Info:
        image_shape = (3, 16, 16)
        class_names = ("cat", "dog")

    asked = []
    monkeypatch.setattr(
        "supervisor_testing.data.dataset_info",
        lambda name: asked.append(name) or Info,
        raising=False,
    )
    corpus = create_generator("far-ood", target="pets").build(digits, tmp_path / "o", seed=0)
    images = corpus.load()["images"]
    assert set(asked) == {"pets"} and images.shape == (300, 3, 16, 16)
    assert corpus.class_names == ("cat", "dog") and corpus.num_classes == 2
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])
    ref = np.asarray(Image.fromarray(digits.images[5, 0].numpy()).resize((16, 16), Image.BILINEAR))
    assert np.abs(images[5, 0].numpy().astype(int) - ref.astype(int)).max() <= 1
    assert corpus.manifest.generator.params == {
        "target": "pets",
        "image_shape": None,
        "class_names": None,
    }


def test_generator_registry_and_params() -> None:
    assert {"nominal", "far-ood"} <= set(list_generators())
    assert generators.resolve("INVALID") == "far-ood"
    with pytest.raises(InvalidInputError, match="unknown parameter 'targte'; it accepts: "):
        create_generator("far-ood", targte="mnist")
    with pytest.raises(InvalidInputError, match="accepts: none"):
        create_generator("nominal", seed=3)
    with pytest.raises(InvalidInputError, match="either target or image_shape"):
        create_generator("far-ood", target="mnist", image_shape=[1, 28, 28])
    with pytest.raises(InvalidInputError, match="C = 1 or 3"):
        create_generator("far-ood", image_shape=[2, 28, 28], class_names=["a"])
    with pytest.raises(InvalidInputError, match="pass target"):
        create_generator("far-ood")
    with pytest.raises(UnknownNameError, match="unknown generator 'nope'"):
        create_generator("nope")
    gen = create_generator("far-ood", image_shape=(1, 4, 4), class_names=("a",), target=None)
    assert gen.params == {"target": None, "image_shape": [1, 4, 4], "class_names": ["a"]}
    assert repr(gen) == "FarOODGenerator(class_names=['a'], image_shape=[1, 4, 4])"


@pytest.mark.parametrize("module", [corpus_module, generation_module])
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
