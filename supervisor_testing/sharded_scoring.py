"""Score a large corpus in row ranges on an executor, with :func:`score_corpus`'s values.

Each task opens the corpus by path, reads only its rows from the shards that hold them
and scores them in the batches :func:`~supervisor_testing.evaluate.score_corpus` would
use (ranges start at multiples of ``batch_size``), so a supervisor whose score depends on
its batch (seeded MC dropout) gives the same values. The supervisor travels to each
worker once; workers need the corpus directory at the same path.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.executors import Executor
    from supervisor_testing.supervisors import Supervisor

__all__ = ["score_corpus_sharded"]

#: Tasks per worker when the caller does not size them: enough to balance uneven workers.
_TASKS_PER_WORKER = 4


def _read_images(corpus: Corpus, start: int, stop: int) -> torch.Tensor:
    """Rows ``start..stop-1`` of the ``images`` column, reading only the shards that
    hold them."""
    from safetensors import safe_open

    parts, offset = [], 0
    for shard in corpus.manifest.shards:
        lo, hi = max(start - offset, 0), min(stop - offset, shard.num_samples)
        if lo < hi:
            with safe_open(str(corpus.path / shard.path), framework="pt") as f:
                parts.append(f.get_slice("images")[lo:hi])
        offset += shard.num_samples
        if offset >= stop:
            break
    return torch.cat(parts) if len(parts) > 1 else parts[0]


def _score_rows(
    supervisor: Supervisor,
    path: str,
    start: int,
    stop: int,
    chosen: np.ndarray | None,
    batch_size: int,
) -> np.ndarray:
    """One task: the scores of rows ``start..stop-1`` (only ``chosen`` ones if given)."""
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.evaluate import _checked_scores

    corpus = Corpus.open(path, verify=False)  # verified by the caller
    images = _read_images(corpus, start, stop)
    what = f"supervisor {supervisor.name!r} output on {corpus.name!r}"
    out = []
    for first in range(start, stop, batch_size):
        batch = images[first - start : first - start + batch_size]
        if chosen is not None:
            local = chosen[(chosen >= first) & (chosen < first + batch_size)] - first
            batch = batch[torch.from_numpy(local)]
        if len(batch):
            out.append(_checked_scores(supervisor.score(batch), what=what, n=len(batch)))
    return np.concatenate(out) if out else np.empty(0, dtype=np.float64)


def score_corpus_sharded(
    supervisor: Supervisor,
    corpus: Corpus,
    *,
    executor: Executor | None = None,
    indices: np.ndarray | None = None,
    batch_size: int = 256,
    rows_per_task: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """:func:`~supervisor_testing.evaluate.score_corpus`, spread over ``executor``.

    Args:
        executor: where the tasks run (default: in this process).
        indices: score only these sample indices (returned in ascending order).
        batch_size: inputs per ``supervisor.score`` call, as in ``score_corpus``.
        rows_per_task: corpus rows per task, rounded up to a multiple of ``batch_size``
            (default: about four tasks per worker).

    Raises:
        InvalidInputError: a bad size, or nothing to score.
    """
    from tqdm.auto import tqdm

    from supervisor_testing.executors import LocalExecutor

    for label, value in (("batch_size", batch_size), ("rows_per_task", rows_per_task)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise InvalidInputError(f"{label} must be a positive int, got {value!r}")
    chosen = None if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    if chosen is not None and len(chosen) and (chosen[0] < 0 or chosen[-1] >= len(corpus)):
        raise InvalidInputError(f"indices must lie in 0..{len(corpus) - 1} for {corpus.name!r}")
    owned = executor is None
    executor = executor or LocalExecutor()
    try:
        batches = math.ceil(len(corpus) / batch_size)
        per_task = rows_per_task or batch_size * math.ceil(
            batches / (_TASKS_PER_WORKER * executor.workers)
        )
        per_task = batch_size * max(1, math.ceil(per_task / batch_size))
        ranges = [(a, min(a + per_task, len(corpus))) for a in range(0, len(corpus), per_task)]
        shared = executor.share(supervisor) if ranges else supervisor
        tasks: list[tuple[Any, ...]] = []
        for a, b in ranges:
            part = None if chosen is None else chosen[(chosen >= a) & (chosen < b)]
            if part is None or len(part):
                tasks.append((shared, str(corpus.path), a, b, part, batch_size))
        results: dict[int, np.ndarray] = {}
        with tqdm(total=len(tasks), desc=f"{supervisor.name} on {corpus.name}", unit="task",
                  disable=not progress, leave=False) as bar:  # fmt: skip
            for index, scores in executor.run(_score_rows, tasks):
                results[index] = scores
                bar.update(1)
    finally:
        if owned:
            executor.close()
    if not results or not sum(len(r) for r in results.values()):
        raise InvalidInputError(f"corpus {corpus.name!r} is empty; nothing to score")
    return np.concatenate([results[i] for i in range(len(tasks))])
