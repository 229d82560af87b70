"""Name -> factory registries that third-party packages fill through entry points.

A :class:`Registry` knows its built-ins from ``@registry.register(...)`` and everything else
from an entry-point group, read on the first lookup. Only the entry point's dotted path is
kept until a name is asked for, so listing names never imports a plugin, and a plugin whose
import fails breaks only the lookup of its own name (with a message naming the package).
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from supervisor_testing.errors import SupervisorTestingError, UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _same_factory(a: object, b: object) -> bool:
    """Whether ``a`` and ``b`` are one definition, perhaps imported twice.

    A module that is unloaded and imported again (pytest's ``pytester`` does this, as does
    ``importlib.reload``) runs its ``@register`` decorators again with new objects of the
    same module and qualified name; that is the same factory, not a clash.
    """
    if a is b:
        return True
    names = [(getattr(x, "__module__", None), getattr(x, "__qualname__", None)) for x in (a, b)]
    # lambdas and functions defined inside functions share a name without being one thing
    if names[0][1] is None or "<" in names[0][1]:
        return False
    return names[0] == names[1]


class Registry(Generic[T]):
    """Factories registered under canonical names and aliases.

    Names are case-insensitive and ``_`` is the same as ``-``, so ``max_softmax``,
    ``Max-Softmax`` and ``max-softmax`` name one supervisor.
    """

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._factories: dict[str, T] = {}
        self._lazy: dict[str, str] = {}  # name -> "module:attr" from entry points
        self._aliases: dict[str, str] = {}
        self._entry_points_read = group is None

    def register(
        self, name: str, *, aliases: tuple[str, ...] = (), clobber: bool = False
    ) -> Callable[[T], T]:
        """Class or function decorator that registers a factory under ``name``."""

        def decorator(factory: T) -> T:
            self.add(name, factory, aliases=aliases, clobber=clobber)
            return factory

        return decorator

    def add(
        self, name: str, factory: T, *, aliases: tuple[str, ...] = (), clobber: bool = False
    ) -> None:
        key = _canonical(name)
        known = self._factories.get(key)
        if known is not None and not clobber and not _same_factory(known, factory):
            raise SupervisorTestingError(
                f"{self.kind} {key!r} is already registered; pass clobber=True to replace it"
            )
        self._factories[key] = factory
        self._lazy.pop(key, None)
        for alias in aliases:
            self._aliases[_canonical(alias)] = key

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for ep in entry_points(group=self.group):
            key = _canonical(ep.name)
            if key not in self._factories:
                self._lazy[key] = ep.value

    def resolve(self, name: str) -> str:
        """The canonical name for ``name`` or one of its aliases."""
        self._read_entry_points()
        key = _canonical(name)
        key = self._aliases.get(key, key)
        if key not in self._factories and key not in self._lazy:
            self._import_lazy_modules()  # importing a module may register aliases
            key = self._aliases.get(_canonical(name), _canonical(name))
        if key not in self._factories and key not in self._lazy:
            known = ", ".join(self.names()) or "none"
            hint = ""
            if "/" in name or name.endswith((".py", ".toml", ".json")):
                hint = " (it looks like a path: pass it where a path is expected)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint}; known: {known}")
        return key

    def _import_lazy_modules(self) -> None:
        for target in set(self._lazy.values()):
            module = target.partition(":")[0]
            try:
                importlib.import_module(module)
            except ImportError:
                continue

    def get(self, name: str) -> T:
        """The factory registered as ``name`` (or an alias of it)."""
        key = self.resolve(name)
        if key not in self._factories:
            target = self._lazy[key]
            module_name, _, attr = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise SupervisorTestingError(
                    f"{self.kind} {key!r} comes from {module_name!r}, which failed to import "
                    f"({exc}); install the package that provides it"
                ) from exc
            factory = module
            for part in attr.split("."):
                factory = getattr(factory, part)
            self._factories[key] = factory  # type: ignore[assignment]
            self._lazy.pop(key, None)
        return self._factories[key]

    def aliases(self, name: str) -> tuple[str, ...]:
        key = self.resolve(name)
        return tuple(sorted(a for a, k in self._aliases.items() if k == key))

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style ``pattern``, in natural order."""
        self._read_entry_points()
        names = set(self._factories) | set(self._lazy)
        return sorted(fnmatch.filter(names, _canonical(pattern)), key=_natural_key)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.resolve(name)
        except UnknownNameError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, group={self.group!r})"
