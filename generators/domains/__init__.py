"""Extrapolated domains: the same classes drawn in domains the training data never showed.

In the spirit of "Beyond Finite Data" (arXiv 2403.05523): a curated catalogue of domains
(``catalogue.toml``: styles, media, environments, sensor renderings), optionally extended
by a user's proposer callable, realised offline by procedural renderers or through a
local diffusers pipeline. The inputs stay on topic (the class is kept) yet are novel,
which is what supervisors must flag without confusing it with ambiguity.

Names are imported on first use (PEP 562): reading the catalogue imports no torch.

Example:
    >>> from generators.domains import load_catalogue
    >>> len(load_catalogue().names()) >= 20
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "GROUPS",
    "Domain",
    "DomainCatalogue",
    "DomainGenerator",
    "PipelineUnavailableError",
    "check_proposals",
    "list_domains",
    "list_renderers",
    "load_catalogue",
    "load_pipeline",
    "propose_domains",
    "render_domain",
]

_LOCATIONS = {
    "GROUPS": "catalogue",
    "Domain": "catalogue",
    "DomainCatalogue": "catalogue",
    "load_catalogue": "catalogue",
    "DomainGenerator": "generator",
    "PipelineUnavailableError": "text_guided",
    "load_pipeline": "text_guided",
    "check_proposals": "proposals",
    "propose_domains": "proposals",
    "list_renderers": "renderers",
    "render_domain": "rendering",
}

if TYPE_CHECKING:
    from generators.domains.catalogue import GROUPS, Domain, DomainCatalogue, load_catalogue
    from generators.domains.generator import DomainGenerator
    from generators.domains.proposals import check_proposals, propose_domains
    from generators.domains.renderers import list_renderers
    from generators.domains.rendering import render_domain
    from generators.domains.text_guided import PipelineUnavailableError, load_pipeline


def list_domains(group: str | None = None) -> list[str]:
    """Names of the shipped catalogue's domains, optionally of one group."""
    from generators.domains.catalogue import load_catalogue

    return load_catalogue().names(group)


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"generators.domains.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
