"""``--executor``, ``--workers``, ``--scheduler`` and ``--shard-size``: one definition for
every command that can spread its work over Dask."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from supervisor_testing.executors import Executor

__all__ = ["ExecutorSpec", "executor_options", "shard_size_option"]


@dataclass(frozen=True)
class ExecutorSpec:
    """The executor flags as given; :meth:`open` creates the executor (and, for Dask,
    starts or connects to the cluster) only when the command needs it."""

    kind: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    timeout: float = 10.0

    def open(self) -> Executor:
        from supervisor_testing.executors import create_executor

        return create_executor(
            self.kind, workers=self.workers, scheduler=self.scheduler, timeout=self.timeout
        )


def executor_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the executor flags; the command receives them as ``executor_spec``."""

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        executor: str,
        workers: int | None,
        scheduler: str | None,
        scheduler_timeout: float,
        **kwargs: Any,
    ) -> Any:
        spec = ExecutorSpec(executor, workers, scheduler, scheduler_timeout)
        return function(*args, executor_spec=spec, **kwargs)

    for option in reversed(
        [
            click.option(
                "--executor",
                type=click.Choice(["local", "dask"]),
                default="local",
                show_default=True,
                help="local: in this process; dask: a LocalCluster of --workers "
                "processes, or the cluster at --scheduler.",
            ),
            click.option(
                "--workers",
                type=int,
                default=None,
                help="Worker processes of the local Dask cluster [one per core].",
            ),
            click.option(
                "--scheduler",
                metavar="ADDRESS",
                default=None,
                help="Connect to this Dask scheduler (tcp://host:8786) instead of "
                "starting a local cluster.",
            ),
            click.option(
                "--scheduler-timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=10.0,
                show_default=True,
                help="Seconds to wait for --scheduler before giving up.",
            ),
        ]
    ):
        wrapper = option(wrapper)
    return wrapper


def shard_size_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--shard-size`` (checked by the library, so a bad value is one error line)."""
    return click.option(
        "--shard-size",
        type=int,
        default=4096,
        show_default=True,
        help="Samples per shard: one task each; an interrupted build resumes shard by shard.",
    )(function)
