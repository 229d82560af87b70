"""Option types and helpers shared by the command modules."""

from __future__ import annotations

import click

__all__ = ["OPEN_UNIT", "show_progress"]

#: a rate or level strictly between 0 and 1.
OPEN_UNIT = click.FloatRange(0, 1, min_open=True, max_open=True)


def show_progress(ctx: click.Context) -> bool:
    """Progress bars unless ``suptest --quiet``."""
    return not ctx.find_root().params.get("quiet", False)
