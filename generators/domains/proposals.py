"""Domains proposed at run time by a user's callable (for example one that asks their LLM).

The callable receives the class names and returns domain phrases ("origami paper",
"etched glass"). Each phrase becomes a record ``{"name", "phrase", "like"}``: ``name`` is
its slug, ``phrase`` goes into the text prompt, and ``like`` is the catalogue domain whose
offline renderer realises it procedurally, chosen by the catalogue's keywords (``None``
when no keyword matches: such a proposal can only be realised text-guided). The records
are plain JSON, so they are stored in the generator's parameters, and a corpus built from
proposals is rebuilt from its manifest or recipe without calling the proposer again.

Example:
    >>> propose_domains(lambda classes: ["neon tubes", "origami"], ["0", "1"])
    [{'name': 'neon-tubes', 'phrase': 'neon tubes', 'like': 'neon-sign'}, \
{'name': 'origami', 'phrase': 'origami', 'like': None}]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from generators.domains.catalogue import PROPOSED_GROUP, Domain, DomainCatalogue, load_catalogue
from supervisor_testing.errors import InvalidInputError

__all__ = ["Proposer", "check_proposals", "match_renderer", "propose_domains", "proposed_domains"]

#: ``proposer(class_names) -> domain phrases``.
Proposer = Callable[[Sequence[str]], Sequence[str]]

_MAX_PHRASE = 120
_WORD = re.compile(r"[a-z0-9]+")


def _slug(phrase: str) -> str:
    return "-".join(_WORD.findall(phrase.lower()))


def match_renderer(phrase: str, catalogue: DomainCatalogue) -> str | None:
    """The catalogue domain whose keywords best match ``phrase`` (most shared words, the
    earlier domain on ties), or ``None`` when none is shared.

    A word matches a keyword when equal, or when one starts with the other and the
    shorter has four letters or more ("chalky" matches "chalk").
    """
    words = _WORD.findall(phrase.lower())
    best, best_score = None, 0
    for domain in catalogue.domains.values():
        if domain.renderer is None:
            continue
        keys = {k for keyword in domain.keywords for k in _WORD.findall(keyword)}
        keys |= set(domain.name.split("-"))
        score = sum(
            any(
                word == key
                or (
                    min(len(word), len(key)) >= 4 and (word.startswith(key) or key.startswith(word))
                )
                for key in keys
            )
            for word in words
        )
        if score > best_score:
            best, best_score = domain.name, score
    return best


def _as_phrases(result: Any) -> list[str]:
    if isinstance(result, (str, bytes, Mapping)):
        raise InvalidInputError(
            f"the domain proposer must return a list of domain phrases, got "
            f"{type(result).__name__} {result!r:.80}"
        )
    try:
        items = list(result)
    except TypeError:
        raise InvalidInputError(
            f"the domain proposer must return a list of domain phrases, got "
            f"{type(result).__name__} {result!r:.80}"
        ) from None
    if not items:
        raise InvalidInputError(
            "the domain proposer returned no domains; it must propose at least one phrase"
        )
    phrases = []
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError(
                f"the domain proposer returned a {type(item).__name__} at position {position} "
                f"({item!r:.80}); every proposal must be a string"
            )
        phrase = " ".join(item.split())
        if not _slug(phrase):
            raise InvalidInputError(
                f"proposal {position} ({item!r:.80}) has no letters or digits; propose a "
                f"domain phrase such as 'origami paper'"
            )
        if len(phrase) > _MAX_PHRASE:
            raise InvalidInputError(
                f"proposal {position} is {len(phrase)} characters long; keep domain phrases "
                f"under {_MAX_PHRASE} characters"
            )
        phrases.append(phrase)
    return phrases


def _check_names(names: list[str], phrases: list[str], catalogue: DomainCatalogue) -> None:
    seen: dict[str, str] = {}
    for name, phrase in zip(names, phrases, strict=True):
        if name in seen:
            raise InvalidInputError(
                f"the domain proposals repeat {name!r} ({seen[name]!r} and {phrase!r}); "
                f"propose each domain once"
            )
        if name in catalogue.domains:
            raise InvalidInputError(
                f"proposed domain {phrase!r} is already the catalogue domain {name!r}; "
                f"select it by name instead of proposing it"
            )
        seen[name] = phrase


def propose_domains(
    proposer: Proposer,
    class_names: Sequence[str],
    *,
    catalogue: DomainCatalogue | None = None,
) -> list[dict[str, Any]]:
    """Ask ``proposer`` for domains of ``class_names`` and return checked records.

    Raises:
        InvalidInputError: the proposer returned something other than a non-empty list of
            distinct, non-blank strings, or a phrase that names a catalogue domain.
    """
    if not callable(proposer):
        raise InvalidInputError(f"proposer must be callable, got {proposer!r}")
    catalogue = catalogue or load_catalogue()
    phrases = _as_phrases(proposer(tuple(class_names)))
    names = [_slug(p) for p in phrases]
    _check_names(names, phrases, catalogue)
    return [
        {"name": name, "phrase": phrase, "like": match_renderer(phrase, catalogue)}
        for name, phrase in zip(names, phrases, strict=True)
    ]


def check_proposals(records: Any, catalogue: DomainCatalogue) -> list[dict[str, Any]]:
    """Normalise stored proposals: phrases (``"origami"``) or records with ``phrase`` and
    optional ``name`` and ``like``; a record without ``like`` is matched by keyword.

    Raises:
        InvalidInputError: a record is malformed, repeats a name, or ``like`` names no
            catalogue domain.
    """
    if records is None:
        return []
    if not isinstance(records, (list, tuple)):
        raise InvalidInputError(
            f"proposed must be a list of phrases or {{phrase, name, like}} tables, got {records!r}"
        )
    phrases, names, likes = [], [], []
    for position, record in enumerate(records):
        if isinstance(record, str):
            record = {"phrase": record}
        if not isinstance(record, Mapping) or not set(record) <= {"name", "phrase", "like"}:
            raise InvalidInputError(
                f"proposed[{position}] must be a phrase or a table with phrase, name and "
                f"like, got {record!r}"
            )
        (phrase,) = _as_phrases([record.get("phrase")])
        name = record.get("name") or _slug(phrase)
        if not isinstance(name, str) or _slug(name) != name:
            raise InvalidInputError(
                f"proposed[{position}].name must be lowercase words joined by '-', got {name!r}"
            )
        like = record.get("like", "")
        if like == "":
            like = match_renderer(phrase, catalogue)
        elif like is not None and like not in catalogue.domains:
            raise InvalidInputError(
                f"proposed[{position}].like names no catalogue domain: {like!r}; choose from: "
                f"{', '.join(catalogue.names())}"
            )
        phrases.append(phrase)
        names.append(name)
        likes.append(like)
    _check_names(names, phrases, catalogue)
    return [
        {"name": n, "phrase": p, "like": lk} for n, p, lk in zip(names, phrases, likes, strict=True)
    ]


def proposed_domains(
    records: Sequence[Mapping[str, Any]], catalogue: DomainCatalogue
) -> list[Domain]:
    """Catalogue entries for checked proposal records."""
    domains = []
    for record in records:
        like = catalogue.domains[record["like"]] if record["like"] is not None else None
        phrase = record["phrase"]
        domains.append(
            Domain(
                name=record["name"],
                group=PROPOSED_GROUP,
                description=f"proposed: {phrase}",
                unlike_corruptions=(
                    f"realised offline like {like.name}" if like else "no offline renderer"
                ),
                prompt=catalogue.proposal_prompt.replace("{domain}", phrase),
                keywords=(),
                renderer=like.renderer if like else None,
                options=like.options if like else {},
                strength=like.strength if like else 0.7,
                like=like.name if like else None,
            )
        )
    return domains
