"""The offline renderers: which function draws each, and the options it accepts.

The table names functions by module and attribute and imports a family only when one of
its renderers runs, so reading the catalogue (``suptest list domains``) stays cheap.
One module per renderer family; each family's docstring says how its renderings differ in
kind from the corruption suites.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from supervisor_testing.errors import UnknownNameError

__all__ = ["RENDERERS", "Renderer", "get_renderer", "list_renderers"]


@dataclass(frozen=True)
class Renderer:
    """One offline renderer.

    Attributes:
        name: the name catalogue entries use.
        module: the family module under ``generators.domains``.
        function: the drawing function in it, ``(canvas, strength, rng, **options)``.
        options: each option's allowed values, the default first.
    """

    name: str
    module: str
    function: str
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def load(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(f"generators.domains.{self.module}"), self.function)

    def defaults(self) -> dict[str, str]:
        return {key: values[0] for key, values in self.options.items()}


_COLOURS = ("amber", "red", "green", "blue")

RENDERERS: Mapping[str, Renderer] = MappingProxyType(
    {
        r.name: r
        for r in (
            Renderer("dot-matrix", "display", "dot_matrix", {"colour": _COLOURS}),
            Renderer(
                "segment-display",
                "display",
                "segment_display",
                {"style": ("led", "lcd"), "colour": ("red", "amber", "green", "blue")},
            ),
            Renderer("crt-terminal", "display", "crt_terminal", {"colour": ("green", "amber")}),
            Renderer("bubble-outline", "line_art", "bubble_outline"),
            Renderer("hatched-sketch", "line_art", "hatched_sketch"),
            Renderer("blueprint", "line_art", "blueprint"),
            Renderer("chalkboard", "dry_media", "chalkboard"),
            Renderer("pencil", "dry_media", "pencil"),
            Renderer("crayon", "dry_media", "crayon"),
            Renderer("embossed", "relief", "embossed"),
            Renderer("engraved", "relief", "engraved"),
            Renderer("sand-drawing", "relief", "sand_drawing"),
            Renderer("neon-sign", "glow", "neon_sign"),
            Renderer("thermal-camera", "glow", "thermal_camera"),
            Renderer("constellation", "glow", "constellation"),
            Renderer("graffiti-stencil", "paint", "graffiti_stencil"),
            Renderer("calligraphy", "paint", "calligraphy"),
            Renderer(
                "patterned-fill",
                "fills",
                "patterned_fill",
                {"pattern": ("stripes", "checks", "dots")},
            ),
            Renderer("wood-inlay", "fills", "wood_inlay"),
            Renderer("cross-stitch", "textiles", "cross_stitch"),
            Renderer("halftone", "halftone", "halftone"),
            Renderer("sticky-note", "surfaces", "sticky_note"),
            Renderer("denim-patch", "surfaces", "denim_patch"),
            Renderer("tabletop-card", "projection", "tabletop_card"),
            Renderer("fisheye-lens", "projection", "fisheye_lens"),
            Renderer("can-label", "projection", "can_label"),
        )
    }
)


def list_renderers() -> list[str]:
    """Names of the offline renderers."""
    return sorted(RENDERERS)


def get_renderer(name: str) -> Renderer:
    """The renderer called ``name``; an unknown name lists the valid ones."""
    try:
        return RENDERERS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown renderer {name!r}; choose one of: {', '.join(list_renderers())}"
        ) from None
