"""What is installed: data sets, architectures, supervisors, generators, corpus recipes."""

from __future__ import annotations

__all__ = ["catalog"]

Entries = list[tuple[str, str]]


def _summary(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _datasets() -> Entries:
    from supervisor_testing.data import dataset_info, list_datasets

    entries = []
    for name in list_datasets():
        info = dataset_info(name)
        where = "available" if info.available else "not on this machine"
        entries.append((name, f"{info.description} [{where}]"))
    return entries


def _models() -> Entries:
    from supervisor_testing.models import architectures

    return [(name, _summary(architectures.get(name))) for name in architectures.names()]


def _supervisors() -> Entries:
    from supervisor_testing.supervisors import supervisors

    entries = []
    order = {}
    for name in supervisors.names():
        factory = supervisors.get(name)  # importing it registers its aliases
        aliases = supervisors.aliases(name)
        also = f" (also: {', '.join(aliases)})" if aliases else ""
        family = getattr(factory, "family", "") or "other"
        fit_needs = getattr(factory, "fit_needs", "") or "nothing"
        meaning = getattr(factory, "score_meaning", "") or "see its documentation"
        details = f"[{family}] {_summary(factory)} Fits: {fit_needs}. Score: {meaning}."
        entries.append((name, details + also))
        order[name] = family
    # Rows of one family together, families in the README's order, names sorted within.
    families = ["softmax", "sampling", "feature", "gradient", "reconstruction", "evidential"]
    rank = {f: i for i, f in enumerate(families)}
    return sorted(entries, key=lambda e: (rank.get(order[e[0]], len(families)), order[e[0]], e[0]))


def _generators() -> Entries:
    from supervisor_testing.generation import generators

    return [(name, _summary(generators.get(name))) for name in generators.names()]


def _corpora() -> Entries:
    from supervisor_testing.recipes import list_recipes, load_recipe

    return [(name, load_recipe(name).description) for name in list_recipes()]


def _domains() -> Entries:
    # through the registry, so the core names no generator package
    from supervisor_testing.generation import generators

    return generators.get("domains").list_domain_entries()


_SECTIONS = {
    "datasets": _datasets,
    "models": _models,
    "supervisors": _supervisors,
    "generators": _generators,
    "corpora": _corpora,
    "domains": _domains,
}


def catalog(what: str = "all") -> dict[str, Entries]:
    """``{section: [(name, one-line description), ...]}`` for one section or all."""
    names = list(_SECTIONS) if what == "all" else [what]
    return {name: _SECTIONS[name]() for name in names}
