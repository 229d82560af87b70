"""Reference classifiers: shapes, deterministic training, the weights cache, save/load, specs."""

from __future__ import annotations

import dataclasses
import doctest
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import (
    InvalidInputError,
    SupervisorTestingError,
    UnknownNameError,
)
from supervisor_testing.models import (
    TrainConfig,
    TrainedModel,
    accuracy,
    build_model,
    list_architectures,
    load_trained_model,
    model_cache_key,
    predict_logits,
    resolve_model,
    train_model,
)
from supervisor_testing.models import training as training_module
from supervisor_testing.models.training import random_shift

REPO = Path(__file__).resolve().parents[1]
ARCHS = ("cnn", "mlp", "resnet")


def _digits_split(split: str, indices: np.ndarray) -> Dataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images[indices] * 255 / 16).astype(np.uint8)[:, None]
    return Dataset(
        name="digits",
        split=split,
        images=torch.from_numpy(images),
        labels=torch.from_numpy(digits.target[indices].astype(np.int64)),
        class_names=tuple(str(d) for d in range(10)),
        source="sklearn.datasets.load_digits",
    )


@pytest.fixture(scope="module")
def digits() -> tuple[Dataset, Dataset]:
    order = np.random.default_rng(0).permutation(1797)
    return _digits_split("train", order[:1300]), _digits_split("test", order[1300:])


@pytest.fixture(scope="module")
def small_train(digits: tuple[Dataset, Dataset]) -> Dataset:
    """A 300-image subset: enough to exercise every code path in well under a second."""
    return digits[0].subset(torch.arange(300))


def _state(model: TrainedModel | nn.Module) -> dict[str, torch.Tensor]:
    module = model.module if isinstance(model, TrainedModel) else model
    return module.state_dict()


def _identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- architectures -------------------------------------------------------------------------


def test_list_architectures() -> None:
    assert list_architectures() == ["cnn", "mlp", "resnet"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 9, 13)])
def test_every_architecture_maps_images_to_logits(arch: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    model = build_model(arch, in_channels=shape[0], image_size=shape[1:], num_classes=7).eval()
    x = torch.rand(5, *shape)
    features = model.features(x)
    assert isinstance(model.head, nn.Linear)
    assert features.shape == (5, model.head.in_features)
    logits = model(x)
    assert logits.shape == (5, 7)
    assert logits.dtype == torch.float32
    torch.testing.assert_close(logits, model.head(features), rtol=0, atol=0)
    assert "features" in dict(model.named_modules())


@pytest.mark.parametrize("arch", ARCHS)
def test_normalisation_is_inside_the_model(arch: str) -> None:
    model = build_model(arch, in_channels=1, image_size=(8, 8), num_classes=3)
    normalize = model.features[0]
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(normalize(x), (x - 0.5) / 0.5)
    assert not any(key.startswith("features.0.") for key in model.state_dict())


def test_cnn_and_mlp_have_dropout_for_mc_dropout() -> None:
    for arch in ("cnn", "mlp"):
        model = build_model(arch, in_channels=1, image_size=(28, 28), num_classes=10)
        assert any(isinstance(m, nn.Dropout) for m in model.features.modules())


def test_resnet_has_three_stages_with_batchnorm() -> None:
    model = build_model("resnet", in_channels=3, image_size=(32, 32), num_classes=10)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    x = torch.rand(2, 3, 32, 32)
    widths = []
    hook_outputs: list[torch.Tensor] = []
    for module in model.features:
        if type(module).__name__ == "BasicBlock":
            module.register_forward_hook(lambda _m, _i, out: hook_outputs.append(out))
    model.eval()(x)
    widths = [out.shape[1] for out in hook_outputs]
    assert len(set(widths)) == 3


def test_build_model_rejects_bad_shapes_and_names() -> None:
    with pytest.raises(InvalidInputError, match="at least 8 x 8"):
        build_model("cnn", in_channels=1, image_size=(7, 28), num_classes=10)
    with pytest.raises(InvalidInputError, match="2 classes"):
        build_model("mlp", in_channels=1, image_size=(8, 8), num_classes=1)
    with pytest.raises(UnknownNameError, match=r"unknown architecture 'vgg'.*cnn, mlp, resnet"):
        build_model("vgg", in_channels=1, image_size=(8, 8), num_classes=10)


# --- config --------------------------------------------------------------------------------


def test_train_config_defaults_overrides_and_round_trip() -> None:
    assert TrainConfig() == TrainConfig.for_arch("cnn")  # the class defaults are the CNN's
    config = TrainConfig.for_arch("cnn", seed=3)
    assert config.arch == "cnn" and config.seed == 3
    changed = dataclasses.replace(config, epochs=2)
    assert changed.epochs == 2 and config.epochs != 2
    assert TrainConfig.from_dict(json.loads(json.dumps(changed.to_dict()))) == changed
    with pytest.warns(UserWarning, match="bogus"):
        assert TrainConfig.from_dict({**config.to_dict(), "bogus": 1}) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 1  # type: ignore[misc]


def test_train_config_rejects_bad_values() -> None:
    with pytest.raises(InvalidInputError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(InvalidInputError, match="optimizer must be one of"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(InvalidInputError, match=r"unknown training option.*learning_rate"):
        TrainConfig.for_arch("cnn", learning_rate=0.1)


# --- training ------------------------------------------------------------------------------


def test_random_shift_is_a_seeded_translation() -> None:
    images = torch.rand(16, 2, 9, 8)
    a = random_shift(images, 1, torch.Generator().manual_seed(5))
    b = random_shift(images, 1, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    padded = F.pad(images, (1, 1, 1, 1))
    candidates = [padded[:, :, dy : dy + 9, dx : dx + 8] for dy in range(3) for dx in range(3)]
    for i in range(len(images)):
        assert any(torch.equal(a[i], c[i]) for c in candidates)
    assert not torch.equal(a, images)  # 16 draws of the identity shift: chance 9**-16
    assert random_shift(images, 0, torch.Generator()) is images


def test_same_seed_gives_bit_identical_weights(small_train: Dataset) -> None:
    torch.manual_seed(123)
    first = train_model(small_train, "cnn", seed=4, epochs=2, cache=False)
    torch.manual_seed(999)  # training must not depend on the caller's global RNG state
    second = train_model(small_train, "cnn", seed=4, epochs=2, cache=False)
    other = train_model(small_train, "cnn", seed=5, epochs=2, cache=False)
    assert _identical(_state(first), _state(second))
    assert not _identical(_state(first), _state(other))
    assert first.path is None and not first.module.training


def test_training_leaves_the_global_rng_alone(small_train: Dataset) -> None:
    torch.manual_seed(7)
    before = torch.get_rng_state()
    train_model(small_train, "mlp", epochs=1, cache=False)
    assert torch.equal(torch.get_rng_state(), before)


def test_resnet_trains_deterministically_with_batchnorm(small_train: Dataset) -> None:
    # 301 samples with batch 100 leaves a final batch of one, which BatchNorm cannot take.
    data = small_train.subset(torch.cat([torch.arange(300), torch.tensor([0])]))
    a = train_model(data, "resnet", epochs=1, batch_size=100, cache=False)
    b = train_model(data, "resnet", epochs=1, batch_size=100, cache=False)
    assert _identical(_state(a), _state(b))


def test_default_cnn_learns_digits(digits: tuple[Dataset, Dataset]) -> None:
    train, test = digits
    model = train_model(train, "cnn", cache=False)
    assert accuracy(model, test) >= 0.9
    assert model.train_seconds is not None and model.train_seconds > 0


def test_train_model_rejects_bad_input(small_train: Dataset) -> None:
    with pytest.raises(InvalidInputError, match="unknown training option"):
        train_model(small_train, "cnn", cache=False, momentom=0.5)
    with pytest.raises(UnknownNameError, match="unknown architecture"):
        train_model(small_train, "transformer", cache=False)
    with pytest.raises(InvalidInputError, match="at least 2"):
        train_model(small_train.subset(torch.arange(1)), "cnn", cache=False)


def test_accuracy_matches_a_direct_computation(small_train: Dataset) -> None:
    model = train_model(small_train, "mlp", epochs=1, cache=False)
    expected = model.module(small_train.float_images()).argmax(1) == small_train.labels
    assert accuracy(model.module, small_train, batch_size=7) == pytest.approx(
        expected.double().mean().item(), abs=1e-12
    )
    model.module.train()
    logits = predict_logits(model, small_train.float_images()[:10], batch_size=3)
    assert model.module.training  # the caller's mode (e.g. MC-dropout) is kept
    model.module.eval()
    torch.testing.assert_close(logits, model.module(small_train.float_images()[:10]))


# --- cache ---------------------------------------------------------------------------------


def test_cache_hit_loads_identical_weights_without_training(
    small_train: Dataset, scratch_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = train_model(small_train, "cnn", epochs=1)
    key = model_cache_key(small_train, first.config)
    assert first.path == scratch_cache / "models" / key
    assert sorted(p.name for p in first.path.iterdir()) == ["config.json", "model.safetensors"]
    assert not [p for p in (scratch_cache / "models").iterdir() if p.name != key]

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cache hit must not train")

    monkeypatch.setattr(training_module, "fit", no_training)
    second = train_model(small_train, "cnn", epochs=1)
    assert _identical(_state(first), _state(second))
    assert second.config == first.config and second.train_seconds == first.train_seconds
    with pytest.raises(AssertionError, match="must not train"):
        train_model(small_train, "cnn", epochs=1, seed=1)  # another seed is another key


def test_cache_key_covers_data_and_config(small_train: Dataset) -> None:
    config = TrainConfig.for_arch("cnn")
    key = model_cache_key(small_train, config)
    assert key == model_cache_key(small_train.subset(torch.arange(300)), config)
    assert key != model_cache_key(small_train.subset(torch.arange(299)), config)
    assert key != model_cache_key(small_train, dataclasses.replace(config, lr=config.lr / 2))


def test_cached_config_json_records_provenance(small_train: Dataset, scratch_cache: Path) -> None:
    model = train_model(small_train, "mlp", epochs=1)
    text = (model.path / "config.json").read_text()
    meta = json.loads(text)
    assert text == json.dumps(meta, indent=2, sort_keys=True) + "\n"
    assert meta["arch"] == "mlp"
    assert meta["input_shape"] == [1, 8, 8]
    assert meta["num_classes"] == 10 and meta["class_names"] == list(small_train.class_names)
    assert meta["dataset"] == {"name": "digits", "split": "train", "sha256": small_train.sha256()}
    assert meta["train_config"] == model.config.to_dict()
    assert meta["torch_version"] == torch.__version__
    assert meta["train_seconds"] > 0


# --- save / load ---------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_save_load_round_trip_gives_identical_logits(
    arch: str, small_train: Dataset, tmp_path: Path
) -> None:
    model = train_model(small_train, arch, epochs=1, cache=False)
    path = model.save(tmp_path / "saved")
    loaded = load_trained_model(path)
    x = small_train.float_images()[:64]
    with torch.no_grad():
        assert torch.equal(model.module(x), loaded.module(x))
    assert not loaded.module.training
    assert loaded.config == model.config
    assert loaded.class_names == model.class_names
    assert loaded.input_shape == (1, 8, 8)
    assert loaded.dataset_sha256 == small_train.sha256()
    assert loaded.path == path
    assert TrainedModel.load(path).config == model.config


def test_save_refuses_to_clobber_and_load_reports_broken_dirs(
    small_train: Dataset, tmp_path: Path
) -> None:
    model = train_model(small_train, "mlp", epochs=1, cache=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(SupervisorTestingError, match=r"not empty.*overwrite=True"):
        model.save(tmp_path / "busy")
    model.save(tmp_path / "busy", overwrite=True)
    assert not (tmp_path / "busy" / "notes.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left

    with pytest.raises(SupervisorTestingError, match="does not exist"):
        load_trained_model(tmp_path / "absent")
    path = model.save(tmp_path / "broken")
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(SupervisorTestingError, match="does not fit"):
        load_trained_model(path)
    weights.unlink()
    with pytest.raises(SupervisorTestingError, match=r"model\.safetensors missing"):
        load_trained_model(path)

    other = model.save(tmp_path / "other")
    meta = json.loads((other / "config.json").read_text())
    meta["num_classes"] = 3
    (other / "config.json").write_text(json.dumps(meta))
    with pytest.raises(SupervisorTestingError, match="does not fit"):
        load_trained_model(other)
    (other / "config.json").write_text("{not json")
    with pytest.raises(SupervisorTestingError, match="malformed"):
        load_trained_model(other)


def test_models_never_unpickle() -> None:
    sources = (REPO / "supervisor_testing" / "models").glob("*.py")
    for source in [*sources, REPO / "benchmarks" / "reference_models.py"]:
        text = source.read_text()
        assert "torch.load(" not in text and "import pickle" not in text, source


# --- resolve_model -------------------------------------------------------------------------


@pytest.fixture
def factory_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = "reference_models_factories"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            def digits_linear():
                torch.manual_seed(0)
                return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

            def three_classes():
                return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))

            def not_a_module():
                return "a string"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_resolve_architecture_trains_and_caches(small_train: Dataset, scratch_cache: Path) -> None:
    model = resolve_model("cnn", dataset=small_train)
    assert isinstance(model, TrainedModel)
    assert model.config == TrainConfig.for_arch("cnn")
    assert model.path is not None and model.path.parent == scratch_cache / "models"
    with pytest.raises(SupervisorTestingError, match="needs a training data set"):
        resolve_model("cnn")


def test_resolve_saved_directory(small_train: Dataset, tmp_path: Path) -> None:
    model = train_model(small_train, "mlp", epochs=1, cache=False)
    path = model.save(tmp_path / "mlp-digits")
    resolved = resolve_model(str(path), dataset=small_train)
    x = small_train.float_images()[:8]
    with torch.no_grad():
        assert torch.equal(resolved.module(x), model.module(x))
    wrong = Dataset(
        "rgb", "test", torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.zeros(2).long(), ("a", "b")
    )
    with pytest.raises(InvalidInputError, match=r"takes \(1, 8, 8\) images"):
        resolve_model(str(path), dataset=wrong)
    with pytest.raises(SupervisorTestingError, match=r"no saved model at.*package.module:factory"):
        resolve_model(str(tmp_path / "missing"))


def test_resolve_prefers_a_name_over_a_directory_of_that_name(
    small_train: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = train_model(small_train, "mlp", epochs=1, cache=False)
    model.save(tmp_path / "cnn")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SupervisorTestingError, match="needs a training data set"):
        resolve_model("cnn")
    assert resolve_model("./cnn").arch == "mlp"


def test_resolve_factory(factory_module: str, small_train: Dataset, tmp_path: Path) -> None:
    spec = f"{factory_module}:digits_linear"
    bare = resolve_model(spec)
    assert bare.config is None and bare.path is None and bare.input_shape is None
    assert bare.num_classes is None
    model = resolve_model(spec, dataset=small_train)
    assert model.class_names == small_train.class_names and model.input_shape == (1, 8, 8)
    assert predict_logits(model, small_train).shape == (300, 10)
    loaded = load_trained_model(model.save(tmp_path / "factory"))
    assert loaded.factory == spec
    assert _identical(_state(loaded), _state(model))


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("no-such-net", UnknownNameError, "unknown model 'no-such-net'.*cnn, mlp, resnet"),
        ("./no/such/dir", SupervisorTestingError, "no saved model at"),
        ("no_such_package_xyz:build", SupervisorTestingError, "failed to import"),
        ("{mod}:missing", SupervisorTestingError, "has no attribute 'missing'"),
        ("{mod}:not_a_module", InvalidInputError, "returned str, not a torch.nn.Module"),
        ("{mod}:three_classes", InvalidInputError, r"expected logits of shape N x 10"),
        ("{mod}:", SupervisorTestingError, "must look like 'package.module:factory'"),
    ],
)
def test_resolve_rejects_bad_specs(
    spec: str,
    error: type[Exception],
    message: str,
    factory_module: str,
    small_train: Dataset,
) -> None:
    with pytest.raises(error, match=message):
        resolve_model(spec.format(mod=factory_module), dataset=small_train)


# --- package surface -----------------------------------------------------------------------


def test_public_names_resolve() -> None:
    import supervisor_testing.models as models

    for name in models.__all__:
        assert getattr(models, name) is not None
    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018


def test_docstring_examples_run() -> None:
    import supervisor_testing.models.resolve as resolve

    result = doctest.testmod(resolve, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, supervisor_testing.models; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
