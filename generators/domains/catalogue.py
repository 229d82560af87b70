"""The domain catalogue: domains as data, read from TOML and checked strictly.

The shipped catalogue is ``catalogue.toml`` beside this module; a user may pass their own
file of the same form. Every problem (a TOML syntax error, a missing or unknown key, a
wrong type, an unknown renderer or option, a prompt without ``{class}``) is reported as
one :class:`~supervisor_testing.errors.InvalidInputError` naming the file and the key.
Reading it imports no torch.

Example:
    >>> catalogue = load_catalogue()
    >>> catalogue.get("chalkboard").group
    'medium'
    >>> catalogue.get("chalkboard").prompt_for("7")
    'a 7 drawn in white chalk on a blackboard'
"""

from __future__ import annotations

import hashlib
import os
import re
import string
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from generators.domains.renderers import RENDERERS, list_renderers
from supervisor_testing.errors import InvalidInputError, UnknownNameError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "CATALOGUE_FORMAT",
    "GROUPS",
    "SHIPPED_CATALOGUE",
    "Domain",
    "DomainCatalogue",
    "load_catalogue",
]

#: The shipped catalogue file.
SHIPPED_CATALOGUE = Path(__file__).resolve().with_name("catalogue.toml")

CATALOGUE_FORMAT = 1

#: Domain groups, in the order listings show them; proposals form their own group.
GROUPS = ("style", "medium", "environment", "sensor-rendering")
PROPOSED_GROUP = "proposed"

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TOP_KEYS = ("format", "proposal_prompt", "domains")
_REQUIRED = (
    "group",
    "description",
    "unlike_corruptions",
    "prompt",
    "keywords",
    "renderer",
    "strength",
)
_OPTIONAL = ("options",)


@dataclass(frozen=True)
class Domain:
    """One domain and how to realise it.

    Attributes:
        name: catalogue key (lowercase, ``-`` separated).
        group: one of :data:`GROUPS`, or ``proposed`` for run-time proposals.
        description: what the rendering looks like.
        unlike_corruptions: why it is a new depiction rather than a degraded one.
        prompt: text prompt with a ``{class}`` placeholder (text-guided realisation).
        keywords: words that match run-time proposals to this domain's renderer.
        renderer: offline renderer name; ``None`` for a proposal nothing matched.
        options: renderer options.
        strength: default strength in ``(0, 1]``.
        like: for a proposal, the catalogue domain whose renderer it borrows.
    """

    name: str
    group: str
    description: str
    unlike_corruptions: str
    prompt: str
    keywords: tuple[str, ...] = ()
    renderer: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    strength: float = 0.7
    like: str | None = None

    def prompt_for(self, class_phrase: str) -> str:
        """The text prompt for one class."""
        return self.prompt.replace("{class}", class_phrase)


@dataclass(frozen=True)
class DomainCatalogue:
    """The domains by name, in file order.

    Attributes:
        path: the file it was read from.
        sha256: content hash of that file (recorded with custom catalogues).
        proposal_prompt: prompt template for proposals, with ``{class}`` and ``{domain}``.
        domains: every domain by name.
    """

    path: Path
    sha256: str
    proposal_prompt: str
    domains: Mapping[str, Domain]

    def names(self, group: str | None = None) -> list[str]:
        """Domain names in catalogue order, optionally of one group."""
        return [d.name for d in self.domains.values() if group is None or d.group == group]

    def get(self, name: str) -> Domain:
        """The domain called ``name``; an unknown name lists the valid ones."""
        key = name.strip().lower().replace("_", "-") if isinstance(name, str) else name
        if key not in self.domains:
            raise UnknownNameError(
                f"unknown domain {name!r}; choose from: {', '.join(self.names())}"
            )
        return self.domains[key]

    def select(self, domains: str | Sequence[str] | None) -> tuple[Domain, ...]:
        """``"all"`` / ``None`` (every domain), a comma-separated string or a list of names.

        Raises:
            UnknownNameError: a name is not in the catalogue (the valid ones are listed).
            InvalidInputError: the selection is empty, repeats a name or is not text.
        """
        if domains is None or domains == "all":
            return tuple(self.domains.values())
        if isinstance(domains, str):
            items = [item.strip() for item in domains.split(",")]
        elif isinstance(domains, (list, tuple)):
            items = list(domains)
        else:
            raise InvalidInputError(
                f"domains must be 'all', a comma-separated string or a list of names, got "
                f"{domains!r}"
            )
        if not items or any(not isinstance(item, str) or not item.strip() for item in items):
            raise InvalidInputError(
                f"domains must name at least one domain and no empty ones, got {domains!r}; "
                f"use 'all' or names such as 'chalkboard,neon-sign'"
            )
        chosen = [self.get(item) for item in items]
        names = [d.name for d in chosen]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInputError(f"domain {repeated[0]!r} is selected twice; name it once")
        return tuple(chosen)

    def with_domains(self, extra: Iterable[Domain]) -> DomainCatalogue:
        """A catalogue with ``extra`` domains (proposals) appended."""
        merged = dict(self.domains)
        for domain in extra:
            if domain.name in merged:
                raise InvalidInputError(
                    f"domain {domain.name!r} is already in the catalogue; give it another name"
                )
            merged[domain.name] = domain
        return replace(self, domains=MappingProxyType(merged))


class _Checker:
    """Builds the one-line errors that name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> InvalidInputError:
        where = f"{self.path}: {key}" if key else str(self.path)
        return InvalidInputError(f"{where}: {problem}")

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            name = f"{where}.{key}" if where else key
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def keys(
        self, table: Mapping[str, Any], where: str, required: Sequence[str], allowed: Sequence[str]
    ) -> None:
        missing = [k for k in required if k not in table]
        if missing:
            raise self.fail(f"{where}.{missing[0]}" if where else missing[0], "is missing")
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            name = f"{where}.{unknown[0]}" if where else unknown[0]
            raise self.fail(name, f"is not a known key; allowed: {', '.join(allowed)}")


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _check_template(check: _Checker, template: str, key: str, wanted: set[str]) -> None:
    try:
        found = _placeholders(template)
    except ValueError as exc:
        raise check.fail(
            key, f"is not a valid template ({exc}); write placeholders as {{class}}"
        ) from None
    for name in wanted:
        if name not in found:
            raise check.fail(key, f"must contain {{{name}}}, got {template!r}")
    extra = sorted(set(found) - wanted)
    if extra:
        allowed = ", ".join(f"{{{n}}}" for n in sorted(wanted))
        raise check.fail(
            key, f"has unknown placeholder {{{extra[0]}}}; only {allowed} are filled in"
        )


def _domain(check: _Checker, name: str, table: Any) -> Domain:
    where = f"domains.{name}"
    if not isinstance(table, dict):
        raise check.fail(where, f"must be a table ([{where}]), got {table!r}")
    if not _NAME.match(name):
        raise check.fail(
            where, "domain names use lowercase letters, digits and '-' (e.g. neon-sign)"
        )
    check.keys(table, where, _REQUIRED, _REQUIRED + _OPTIONAL)
    group = check.text(table, "group", where)
    if group not in GROUPS:
        raise check.fail(f"{where}.group", f"must be one of {', '.join(GROUPS)}, got {group!r}")
    prompt = check.text(table, "prompt", where)
    _check_template(check, prompt, f"{where}.prompt", {"class"})
    keywords = table["keywords"]
    if (
        not isinstance(keywords, list)
        or not keywords
        or not all(isinstance(k, str) and k.strip() for k in keywords)
    ):
        raise check.fail(
            f"{where}.keywords", f"must be a non-empty list of words, got {keywords!r}"
        )
    renderer_name = check.text(table, "renderer", where)
    if renderer_name not in RENDERERS:
        raise check.fail(
            f"{where}.renderer",
            f"unknown renderer {renderer_name!r}; choose one of: {', '.join(list_renderers())}",
        )
    renderer = RENDERERS[renderer_name]
    strength = table["strength"]
    if (
        isinstance(strength, bool)
        or not isinstance(strength, (int, float))
        or not 0 < strength <= 1
    ):
        raise check.fail(f"{where}.strength", f"must be a number in (0, 1], got {strength!r}")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise check.fail(f"{where}.options", f"must be a table, got {options!r}")
    for key, value in options.items():
        if key not in renderer.options:
            accepted = ", ".join(renderer.options) or "none"
            raise check.fail(
                f"{where}.options.{key}",
                f"is not an option of renderer {renderer_name!r}; it accepts: {accepted}",
            )
        if value not in renderer.options[key]:
            raise check.fail(
                f"{where}.options.{key}",
                f"must be one of {', '.join(renderer.options[key])}, got {value!r}",
            )
    return Domain(
        name=name,
        group=group,
        description=check.text(table, "description", where),
        unlike_corruptions=check.text(table, "unlike_corruptions", where),
        prompt=prompt,
        keywords=tuple(k.strip().lower() for k in keywords),
        renderer=renderer_name,
        options=MappingProxyType({**renderer.defaults(), **options}),
        strength=float(strength),
    )


def load_catalogue(path: str | os.PathLike[str] | None = None) -> DomainCatalogue:
    """Read and check a catalogue file (the shipped one by default).

    Raises:
        InvalidInputError: the file is missing, is not TOML or breaks a rule; the message
            names the file and the key.
    """
    file = SHIPPED_CATALOGUE if path is None else Path(path)
    check = _Checker(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read domain catalogue {file} ({exc.strerror or exc}); pass an existing "
            f"TOML file or leave it unset for the shipped catalogue"
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise check.fail("", f"is not valid TOML ({exc})") from None
    check.keys(data, "", _TOP_KEYS, _TOP_KEYS)
    if data["format"] != CATALOGUE_FORMAT or isinstance(data["format"], bool):
        raise check.fail(
            "format", f"must be {CATALOGUE_FORMAT} (this version reads format {CATALOGUE_FORMAT})"
        )
    proposal_prompt = check.text(data, "proposal_prompt", "").strip()
    _check_template(check, proposal_prompt, "proposal_prompt", {"class", "domain"})
    tables = data["domains"]
    if not isinstance(tables, dict) or not tables:
        raise check.fail("domains", "must hold at least one [domains.NAME] table")
    domains = {name: _domain(check, name, table) for name, table in tables.items()}
    return DomainCatalogue(
        path=file,
        sha256=hashlib.sha256(raw).hexdigest(),
        proposal_prompt=proposal_prompt,
        domains=MappingProxyType(domains),
    )
