"""Where independent tasks run: in this process, or on a Dask cluster.

Corpus shards, study units and scoring chunks are independent tasks whose results depend
only on their arguments, so the callers need one small interface: share a large value
once, run a list of tasks, and receive each result as it finishes. :class:`LocalExecutor`
runs them in order in this process and never imports Dask; :class:`DaskExecutor` starts a
``LocalCluster`` of worker processes or connects to a running scheduler, and lets Dask
retry a task whose worker died or that raised (a killed worker's tasks are rescheduled by
Dask itself).

Example:
    >>> with create_executor("local") as executor:
    ...     sorted(executor.run(pow, [(2, 3), (3, 2)]))
    [(0, 8), (1, 9)]
"""

from __future__ import annotations

import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

from supervisor_testing.errors import InvalidInputError, SupervisorTestingError

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "create_executor",
]

EXECUTORS = ("local", "dask")

#: Seconds to wait for a scheduler before saying it is unreachable.
DEFAULT_CONNECT_TIMEOUT = 10.0


class ExecutorError(SupervisorTestingError):
    """The executor cannot run: the scheduler is unreachable or the options conflict."""


class Executor(ABC):
    """Runs independent tasks and yields ``(task index, result)`` as each one finishes."""

    #: How many tasks can run at once (for sizing and progress messages).
    workers: int = 1

    def share(self, value: Any) -> Any:
        """A handle to pass as a task argument in place of ``value``, so a large value
        (a source data set) travels to each worker once rather than with every task."""
        return value

    @abstractmethod
    def run(
        self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, retries: int = 2
    ) -> Iterator[tuple[int, Any]]:
        """Call ``function(*args)`` for every ``args`` in ``tasks``.

        Results arrive in completion order, each with its index in ``tasks``. A task that
        raises is retried up to ``retries`` times where the executor can do so; after
        that its error is raised here and the remaining tasks are cancelled.
        """

    def close(self) -> None:  # noqa: B027 (a no-op unless the executor holds resources)
        """Release workers and connections."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalExecutor(Executor):
    """Runs every task in this process, in order: the default, and what tests use.

    A failure here is raised at once: retrying in the same process would rerun the same
    deterministic code on the same input.
    """

    def run(
        self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, retries: int = 2
    ) -> Iterator[tuple[int, Any]]:
        for index, args in enumerate(tasks):
            yield index, function(*args)

    def __repr__(self) -> str:
        return "LocalExecutor()"


class DaskExecutor(Executor):
    """Runs tasks on ``dask.distributed``.

    Args:
        workers: start a ``LocalCluster`` with this many worker processes, one task at a
            time each (default: one per CPU core); ignored when ``scheduler`` is given.
        scheduler: address of a running scheduler (``tcp://host:8786``) to connect to.
        timeout: seconds to wait for the scheduler before raising :class:`ExecutorError`.
        client: an existing ``distributed.Client`` to use (and not close).

    Workers must see the same file system paths as this process for tasks that write
    files (corpus shards are written by the workers); results travel back over Dask.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        client: Any = None,
    ) -> None:
        import logging

        from distributed import Client, LocalCluster

        self._cluster = None
        self._owns_client = client is None
        if client is not None:
            self._client = client
        elif scheduler is not None:
            try:
                self._client = Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                    f"({_first_line(exc)}); "
                    f"check the address (e.g. tcp://host:8786) and that `dask scheduler` "
                    f"is running there, or use --executor dask --workers N for a local cluster"
                ) from None
        else:
            if workers is not None and (
                not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
            ):
                raise InvalidInputError(f"workers must be a positive int, got {workers!r}")
            import dask

            # Dask's nanny starts workers with OMP/MKL/OPENBLAS_NUM_THREADS=1 and
            # MALLOC_TRIM_THRESHOLD_=65536. The thread count torch starts with changes its
            # matmul blocking, so corruptions built on matmuls (defocus blur) landed one
            # grey level apart at rounding ties; and the trim threshold made large
            # temporary arrays cost twice the CPU (measured: 3.6 against 1.4 CPU s per
            # 224 px shard). Workers keep this process's environment instead, so a
            # LocalCluster build equals the in-process one byte for byte; the price is
            # that each worker may run as many torch threads as there are cores.
            unset = {f"distributed.nanny.pre-spawn-environ.{v}": None for v in _NANNY_VARS}
            with dask.config.set(unset):
                # One thread per worker process: torch releases the GIL unevenly, and
                # processes isolate a crash to one worker that the nanny restarts.
                self._cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                )
            self._client = Client(self._cluster, set_as_default=False)
        info = self._client.scheduler_info(n_workers=-1)["workers"]
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (for restarting workers, diagnostics)."""
        return self._client

    def share(self, value: Any) -> Any:
        [future] = self._client.scatter([value], broadcast=True, hash=False)
        return future

    def run(
        self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, retries: int = 2
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        prefix = f"{getattr(function, '__name__', 'task')}-{secrets.token_hex(4)}"
        futures = [
            self._client.submit(function, *args, key=f"{prefix}-{i}", pure=False, retries=retries)
            for i, args in enumerate(tasks)
        ]
        position = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in as_completed(futures, loop=self._client.loop):
                yield position[future.key], future.result()
                future.release()
        finally:
            self._client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor(workers={self.workers}, scheduler={self._client.scheduler.address!r})"


#: What Dask's nanny would set in worker environments (see DaskExecutor).
_NANNY_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MALLOC_TRIM_THRESHOLD_",
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().strip("'\"")
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def create_executor(
    kind: str = "local",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Executor:
    """The executor named ``kind`` (``local`` or ``dask``).

    Raises:
        InvalidInputError: an unknown kind, or ``workers`` / ``scheduler`` given for
            ``local`` (which runs in this process only).
        ExecutorError: the scheduler cannot be reached within ``timeout`` seconds.
    """
    if kind not in EXECUTORS:
        raise InvalidInputError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
    if kind == "local":
        if workers is not None or scheduler is not None:
            raise InvalidInputError(
                "workers and scheduler apply to the dask executor; pass executor 'dask' "
                "(--executor dask) to use them"
            )
        return LocalExecutor()
    if workers is not None and scheduler is not None:
        raise InvalidInputError(
            "pass either workers (start a local Dask cluster) or scheduler (connect to a "
            "running one), not both"
        )
    return DaskExecutor(workers=workers, scheduler=scheduler, timeout=timeout)
