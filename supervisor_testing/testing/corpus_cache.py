"""Corpora by name or path, opened and verified once per test session.

Verifying a corpus hashes every shard, and building a recipe can take minutes, so a
session resolves each corpus once and hands the same :class:`Corpus` to every test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus

__all__ = ["CorpusCache"]


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or os.sep in spec or spec.endswith(".toml") or spec.startswith(("~", "."))


class CorpusCache:
    """Resolve corpus specs the way tests and gate files write them, and cache the result.

    A spec is, in this order of lookup:

    1. a name found in ``corpus_dir`` (a corpus directory ``NAME`` or a recipe ``NAME.toml``);
    2. a path (absolute, or relative to ``root``) to a corpus directory or a recipe file;
    3. a recipe name on the recipe search path (``corpora/`` and
       ``$SUPERVISOR_TESTING_RECIPES``), built into the cache on first use.

    Args:
        corpus_dir: searched first for names.
        root: relative paths are resolved against it.
        progress: show progress bars while building recipes.
    """

    def __init__(
        self,
        *,
        corpus_dir: Path | None = None,
        root: Path | None = None,
        progress: bool = False,
    ) -> None:
        self.corpus_dir = corpus_dir
        self.root = root if root is not None else Path.cwd()
        self.progress = progress
        self._corpora: dict[str, Corpus] = {}

    def locate(self, spec: str | os.PathLike[str]) -> str:
        """What ``spec`` refers to, as a path or recipe name, checked without building.

        Raises:
            InvalidInputError: a path that does not exist.
            UnknownNameError: a name that is neither in ``corpus_dir`` nor a recipe; the
                message says where it looked.
        """
        text = os.fspath(spec)
        if not text.strip():
            raise InvalidInputError("a corpus spec is empty; name a recipe or a corpus path")
        if self.corpus_dir is not None and not _looks_like_path(text):
            for candidate in (self.corpus_dir / text, self.corpus_dir / f"{text}.toml"):
                if candidate.exists():
                    return str(candidate)
        if _looks_like_path(text) or not isinstance(spec, str):
            path = Path(text).expanduser()
            path = path if path.is_absolute() else self.root / path
            if not path.exists():
                raise InvalidInputError(
                    f"corpus {text!r} not found: {path} does not exist; pass a corpus directory, "
                    "a recipe .toml file or a recipe name"
                )
            return str(path)
        from supervisor_testing.errors import UnknownNameError
        from supervisor_testing.recipes import load_recipe

        try:
            load_recipe(text)
        except UnknownNameError as exc:
            if self.corpus_dir is None:
                raise
            raise UnknownNameError(f"no corpus {text!r} in {self.corpus_dir}, and {exc}") from None
        return text

    def __call__(self, spec: str | os.PathLike[str] | Corpus) -> Corpus:
        """The corpus ``spec`` names, resolved on first use and cached."""
        from supervisor_testing.corpus import Corpus

        if isinstance(spec, Corpus):
            return spec
        key = self.locate(spec)
        if key not in self._corpora:
            from supervisor_testing.recipes import resolve_corpus

            self._corpora[key] = resolve_corpus(key, progress=self.progress)
        return self._corpora[key]
