"""The root ``suptest`` group: user errors as one line with exit code 2, and ``list``."""

from __future__ import annotations

import errno
import sys
from typing import Any

import click

from supervisor_testing._version import __version__
from supervisor_testing.errors import SupervisorTestingError

# click >= 8.2 signals "a bare group: show its help" with a usage error; older clicks
# print the help themselves. An empty tuple catches nothing.
_HELP_REQUEST: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _os_error_message(exc: OSError) -> str:
    """One line for a file-system failure: the path, the reason, what to do."""
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    if not paths:
        return f"{reason}; check the paths given and the free disk space"
    return (
        f"cannot use {' -> '.join(map(str, paths))}: {reason}; choose another path, or "
        f"remove what is in the way or fix its permissions"
    )


class _Group(click.Group):
    """Turns bad input into one line and exit code 2, never a traceback.

    Bad input is the suite's own errors, a path the file system refuses (a read-only
    folder, a file where a folder must go) and click's usage errors, which click would
    otherwise print over several lines.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SupervisorTestingError as exc:
            message = str(exc)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # output piped into `head`: click exits quietly
            message = _os_error_message(exc)
        except _HELP_REQUEST:
            raise  # a bare group prints its help, as click intends
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "suptest"
            message = f"{exc.format_message()} (see '{command} --help')"
        click.echo(f"error: {message}", err=True)
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
