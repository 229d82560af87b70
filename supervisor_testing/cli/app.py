"""The root ``suptest`` group: user errors as one line with exit code 2, and ``list``."""

from __future__ import annotations

import sys
from typing import Any

import click

from supervisor_testing._version import __version__
from supervisor_testing.errors import SupervisorTestingError


class _Group(click.Group):
    """Turns the suite's own errors into one line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SupervisorTestingError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="suptest")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def main(quiet: bool) -> None:
    """Generate high-uncertainty inputs and test DNN supervisors against them."""


@main.command("list")
@click.argument(
    "what",
    required=False,
    default="all",
    type=click.Choice(
        ["all", "datasets", "models", "supervisors", "generators", "corpora", "domains"]
    ),
)
def list_command(what: str) -> None:
    """List data sets, model architectures, supervisors, generators or corpus recipes."""
    from supervisor_testing.catalog import catalog

    for section, entries in catalog(what).items():
        click.echo(f"{section}:")
        for name, description in entries:
            click.echo(f"  {name:<28} {description}".rstrip())
