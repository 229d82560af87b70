"""Sharded, resumable corpus builds on the in-process and the Dask executor, study tasks,
and the one atomic-write module."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from far_ood_recipe import mnist_as_digits
from hypothesis import given
from hypothesis import strategies as st

from supervisor_testing.atomic import atomic_directory, atomic_write_bytes, publish_directory
from supervisor_testing.cli import main
from supervisor_testing.corpus import MANIFEST_NAME, Corpus, corpus_from_dataset
from supervisor_testing.data import load_dataset
from supervisor_testing.errors import CorpusError, InvalidInputError
from supervisor_testing.executors import (
    ExecutorError,
    LocalExecutor,
    create_executor,
)
from supervisor_testing.generation import Generator, create_generator, row_segments
from supervisor_testing.sharded_build import BUILD_FILE, build_sharded, partial_path

SAMPLES = 40  # source images; x 4 corruption cells = 160 corpus rows
CORRUPTION_PARAMS = {
    "suite": "imagenet-c",
    "corruptions": "gaussian_noise,glass_blur",
    "severities": "1,3",
}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "test")


def corrupter() -> Generator:
    return create_generator("corruptions", **CORRUPTION_PARAMS)


@pytest.fixture(scope="module")
def reference(digits, tmp_path_factory) -> Corpus:
    """The corpus streamed in one process by CorpusWriter (the pre-existing path)."""
    path = tmp_path_factory.mktemp("reference") / "digits-c"
    return corrupter().build(digits, path, seed=0, num_samples=SAMPLES)


def build(digits, path: Path, generator: Generator | None = None, **options) -> Corpus:
    options.setdefault("seed", 0)
    return build_sharded(
        generator or corrupter(), digits, path, num_samples=SAMPLES, name="digits-c", **options
    )


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def assert_complete(corpus: Corpus, reference: Corpus) -> None:
    """Every sample once, in order, and nothing but the shards beside the manifest."""
    assert len(corpus) == len(reference)
    for column, tensor in reference.load().items():
        assert torch.equal(corpus.load([column])[column], tensor), column
    names = {p.name for p in corpus.path.iterdir()}
    assert names == {MANIFEST_NAME} | {s.path for s in corpus.manifest.shards}
    assert not partial_path(corpus.path).exists()
    corpus.verify()


# ---------------------------------------------------------------------------------------
# In process


def test_sharded_build_is_the_streamed_corpus_byte_for_byte(digits, reference, tmp_path):
    corpus = build(digits, tmp_path / "a")  # default shard size, like CorpusWriter
    assert corpus.sha256() == reference.sha256()
    assert_complete(corpus, reference)


@pytest.mark.parametrize("shard_size", [7, 159, 160, 1000])
def test_any_shard_size_gives_the_same_samples(digits, reference, tmp_path, shard_size):
    corpus = build(digits, tmp_path / "a", shard_size=shard_size)
    sizes = [s.num_samples for s in corpus.manifest.shards]
    assert sizes == [shard_size] * (160 // shard_size) + (
        [160 % shard_size] if 160 % shard_size else []
    )
    assert_complete(corpus, reference)


@given(
    sizes=st.lists(st.integers(0, 6), max_size=6),
    bounds=st.tuples(st.integers(0, 40), st.integers(0, 40)),
)
def test_row_segments_cover_exactly_the_range(sizes, bounds):
    start, stop = min(bounds), max(bounds)
    rows = [(segment, i) for segment, size in enumerate(sizes) for i in range(size)]
    pieces = [(s, i) for s, lo, hi in row_segments(sizes, start, stop) for i in range(lo, hi)]
    assert pieces == rows[start:stop]


@pytest.mark.parametrize("name", ["nominal", "corruptions", "domains"])
def test_generate_range_equals_the_same_rows_of_generate(digits, name):
    params = {"corruptions": CORRUPTION_PARAMS, "domains": {"domains": "chalkboard,neon-sign"}}
    generator = create_generator(name, **params.get(name, {}))
    source = load_dataset("mnist", "test") if name == "domains" else digits
    assert generator.supports_ranges
    start, stop = 13, 29 if name == "nominal" else 51

    def rows(batches):
        parts = list(batches)
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    # The base class's generic slicing of generate() is the independent reference.
    expected = rows(
        Generator.generate_range(generator, source, seed=3, num_samples=20, start=start, stop=stop)
    )
    actual = rows(generator.generate_range(source, seed=3, num_samples=20, start=start, stop=stop))
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key


class _Numbers(Generator):
    """A generator with no generate_range of its own: built as one task."""

    name = "numbers"
    version = "1"
    kind = "far-ood"

    def generate(self, source, *, seed, num_samples=None):
        for start in range(0, 50, 9):
            n = min(9, 50 - start)
            yield {
                "images": torch.arange(start, start + n, dtype=torch.uint8)
                .view(n, 1, 1, 1)
                .expand(n, 1, 8, 8)
                .contiguous(),
                "labels": torch.full((n,), -1),
                "label_probs": torch.zeros(n, 10),
                "source_index": torch.arange(start, start + n),
            }

    def expected_samples(self, source, num_samples):
        return 50


def test_generators_without_ranges_still_build_shard_by_shard(digits, tmp_path):
    generator = _Numbers()
    assert not generator.supports_ranges
    streamed = generator.build(digits, tmp_path / "a", seed=0, name="n")
    sharded = build_sharded(generator, digits, tmp_path / "b", seed=0, name="n", shard_size=4096)
    assert sharded.sha256() == streamed.sha256()
    small = build_sharded(generator, digits, tmp_path / "c", seed=0, name="n", shard_size=16)
    assert [s.num_samples for s in small.manifest.shards] == [16, 16, 16, 2]
    assert torch.equal(small.load(["source_index"])["source_index"], torch.arange(50))


def _recording_corrupter(*, fail_at: int | None = None):
    """The corruption generator, recording every range it makes and failing (once) at
    the range that starts at ``fail_at``."""
    generator = corrupter()
    generator.calls = []  # type: ignore[attr-defined]
    original = generator.generate_range

    def generate_range(source, *, seed, num_samples=None, start, stop):
        generator.calls.append(start)  # type: ignore[attr-defined]
        if start == fail_at:
            raise RuntimeError("injected failure")
        return original(source, seed=seed, num_samples=num_samples, start=start, stop=stop)

    generator.generate_range = generate_range  # type: ignore[method-assign]
    return generator


def test_interrupted_build_resumes_and_skips_verified_shards(digits, reference, tmp_path):
    target = tmp_path / "a"
    flaky = _recording_corrupter(fail_at=96)
    with pytest.raises(RuntimeError, match="injected"):
        build(digits, target, flaky, shard_size=32)
    assert flaky.calls == [0, 32, 64, 96]
    partial = partial_path(target)
    assert not target.exists() and partial.is_dir()
    record = json.loads((partial / BUILD_FILE).read_text())
    assert sorted(record["shards"]) == ["0", "1", "2"]
    # A shard damaged since is caught by its hash and made again; the others are kept.
    shard = partial / "shard-00001.safetensors"
    data = shard.read_bytes()
    shard.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    kept = (partial / "shard-00000.safetensors").stat().st_mtime_ns

    resumed = _recording_corrupter()
    corpus = build(digits, target, resumed, shard_size=32)
    assert sorted(resumed.calls) == [32, 96, 128]
    assert (target / "shard-00000.safetensors").stat().st_mtime_ns == kept
    assert_complete(corpus, reference)
    assert corpus.sha256() == build(digits, tmp_path / "b", shard_size=32).sha256()


def test_resume_over_a_different_recipe_is_refused_and_deletes_nothing(digits, tmp_path):
    target = tmp_path / "a"
    with pytest.raises(RuntimeError):
        build(digits, target, _recording_corrupter(fail_at=64), shard_size=32)
    partial = partial_path(target)
    before = snapshot(partial)
    for options in ({"seed": 1}, {"shard_size": 16}):
        with pytest.raises(CorpusError, match=r"different corpus.*Nothing was deleted"):
            build(digits, target, **{"shard_size": 32, **options})
        assert snapshot(partial) == before and not target.exists()
    other = create_generator("corruptions", **{**CORRUPTION_PARAMS, "severities": "2"})
    with pytest.raises(CorpusError, match="generator"):
        build(digits, target, other, shard_size=32)
    assert snapshot(partial) == before
    # Asked to overwrite, the stale partial build is discarded.
    corpus = build(digits, target, seed=1, shard_size=32, overwrite=True)
    assert corpus.manifest.generator.seed == 1 and not partial.exists()


def test_an_existing_corpus_is_kept_unless_overwritten(digits, reference, tmp_path):
    target = tmp_path / "a"
    build(digits, target, seed=1)
    before = snapshot(target)
    with pytest.raises(CorpusError, match="already exists"):
        build(digits, target)
    assert snapshot(target) == before
    assert build(digits, target, overwrite=True).sha256() == reference.sha256()


@pytest.mark.parametrize("shard_size", [0, -3, 1.5, True, "64"])
def test_bad_shard_size_is_one_clear_error(digits, tmp_path, shard_size):
    with pytest.raises(InvalidInputError, match="shard size must be a positive number"):
        build(digits, tmp_path / "a", shard_size=shard_size)
    assert not any(tmp_path.iterdir())


def test_a_build_that_fails_before_its_first_shard_leaves_nothing(digits, tmp_path):
    with pytest.raises(InvalidInputError, match="asked for 400 samples"):
        build_sharded(corrupter(), digits, tmp_path / "a", seed=0, num_samples=400)
    assert not any(tmp_path.iterdir())


def test_executor_options_are_checked(tmp_path):
    with pytest.raises(InvalidInputError, match="unknown executor"):
        create_executor("threads")
    with pytest.raises(InvalidInputError, match="dask executor"):
        create_executor("local", workers=2)
    with pytest.raises(InvalidInputError, match="not both"):
        create_executor("dask", workers=2, scheduler="tcp://127.0.0.1:8786")


def test_unreachable_scheduler_fails_within_the_timeout():
    pytest.importorskip("distributed")
    started = time.monotonic()
    # Port 9 (discard) has no scheduler; the connection attempts stop after the timeout.
    with pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler.*within 1 s"):
        create_executor("dask", scheduler="tcp://127.0.0.1:9", timeout=1)
    assert time.monotonic() - started < 15


def test_local_executor_never_imports_dask():
    import subprocess

    code = (
        "import sys; from supervisor_testing.executors import create_executor\n"
        "with create_executor('local') as ex: assert list(ex.run(abs, [(-1,)])) == [(0, 1)]\n"
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------
# Command line


@pytest.fixture
def digits_corpus(digits, tmp_path) -> Path:
    return corpus_from_dataset(digits, tmp_path / "digits-test", num_samples=SAMPLES).path


def generate(corpus: Path, out: Path, *flags: str):
    args = ["--quiet", "generate", "corruptions", "--corpus", str(corpus), "--out", str(out)]
    args += ["--suite", "imagenet-c", "--corruptions", "gaussian_noise,glass_blur"]
    return CliRunner().invoke(main, [*args, "--severities", "1,3", *flags])


def test_cli_builds_shard_by_shard(digits_corpus, tmp_path):
    result = generate(digits_corpus, tmp_path / "digits-c", "--shard-size", "50")
    assert result.exit_code == 0, result.output
    corpus = Corpus.open(tmp_path / "digits-c")
    assert [s.num_samples for s in corpus.manifest.shards] == [50, 50, 50, 10]
    source = Corpus.open(digits_corpus).to_dataset()
    expected = build_sharded(corrupter(), source, tmp_path / "x", seed=0, name="digits-c")
    assert corpus.load().keys() == expected.load().keys()
    for column, tensor in expected.load().items():
        assert torch.equal(corpus.load([column])[column], tensor), column


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--shard-size", "0"), "shard size must be a positive number"),
        (("--workers", "2"), "apply to the dask executor"),
        (
            ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1"),
            "cannot reach the Dask scheduler",
        ),
    ],
)
def test_cli_bad_executor_input_is_one_line(digits_corpus, tmp_path, flags, message):
    if "dask" in flags:
        pytest.importorskip("distributed")
    result = generate(digits_corpus, tmp_path / "out", *flags)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# Study tasks


STUDY_RECIPE = mnist_as_digits(samples=120)


def test_study_tasks_write_the_records_of_a_sequential_run(tmp_path, monkeypatch):
    from supervisor_testing.study import StudyConfig, run_study

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "digits-far-ood-mnist.toml").write_text(STUDY_RECIPE)
    monkeypatch.setenv("SUPERVISOR_TESTING_RECIPES", str(folder))
    config = StudyConfig(
        dataset="digits",
        architectures=("mlp",),
        seeds=(0,),
        supervisors=("msp", "energy"),
        kinds=("invalid",),
        samples=60,
        resamples=50,
        extra={"invalid": "digits-far-ood-mnist"},
    )
    sequential = run_study(config, tmp_path / "sequential")
    tasks = run_study(config, tmp_path / "tasks", executor=LocalExecutor())

    def strip(records):
        # Timings (wall and CPU seconds) are the only fields a rerun may change.
        return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in records]

    assert len(tasks) == 2 and strip(tasks) == strip(sequential)
    # A resume makes only the missing cell and leaves the finished one as it is.
    cells = sorted((tmp_path / "tasks" / "cells").rglob("*.json"))
    kept = cells[0].read_bytes()
    cells[1].unlink()
    assert strip(run_study(config, tmp_path / "tasks", executor=LocalExecutor())) == strip(tasks)
    assert cells[0].read_bytes() == kept and cells[1].exists()


# ---------------------------------------------------------------------------------------
# Scoring in row ranges


@pytest.fixture(scope="module")
def supervisor():
    from supervisor_testing.models import train_model
    from supervisor_testing.supervisors import create_supervisor

    model = train_model(load_dataset("digits", "train"), "mlp", seed=0).module
    return create_supervisor("max-softmax", model)


@pytest.mark.parametrize("rows_per_task", [None, 1, 100, 10_000])
def test_sharded_scores_equal_score_corpus(supervisor, reference, rows_per_task):
    from supervisor_testing.evaluate import score_corpus
    from supervisor_testing.sharded_scoring import score_corpus_sharded

    expected = score_corpus(supervisor, reference, batch_size=32)
    actual = score_corpus_sharded(supervisor, reference, batch_size=32, rows_per_task=rows_per_task)
    assert np.array_equal(actual, expected)
    chosen = np.array([159, 3, 3, 64, 0, 95])
    subset = score_corpus_sharded(
        supervisor, reference, indices=chosen, batch_size=32, rows_per_task=rows_per_task
    )
    assert np.array_equal(
        subset, score_corpus(supervisor, reference, indices=chosen, batch_size=32)
    )


def test_sharded_scoring_rejects_bad_input(supervisor, reference):
    from supervisor_testing.sharded_scoring import score_corpus_sharded

    with pytest.raises(InvalidInputError, match="rows_per_task must be a positive int"):
        score_corpus_sharded(supervisor, reference, rows_per_task=0)
    with pytest.raises(InvalidInputError, match=r"indices must lie in 0\.\.159"):
        score_corpus_sharded(supervisor, reference, indices=[160])


def test_doctests_of_the_scale_out_modules():
    import doctest

    from supervisor_testing import atomic, executors, generation, sharded_build

    for module in (atomic, executors, generation, sharded_build):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# ---------------------------------------------------------------------------------------
# One atomic-write module


def test_atomic_writes_leave_old_or_new_never_half(tmp_path):
    target = tmp_path / "d"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "a").write_text("new")
        raise RuntimeError("interrupted")
    assert (target / "a").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["d"]
    with pytest.raises(FileExistsError), atomic_directory(target, replace=False) as staging:
        (staging / "a").write_text("new")
    assert (target / "a").read_text() == "old"
    other = tmp_path / "staging"
    other.mkdir()
    (other / "a").write_text("new")
    publish_directory(other, target, replace=True)
    assert (target / "a").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["d"]
    atomic_write_bytes(tmp_path / "f", b"x", mode=0o644)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------------------------------
# Dask: one 2-worker LocalCluster shared by the module


@pytest.fixture(scope="module")
def dask_executor():
    pytest.importorskip("distributed")
    import cloudpickle

    # Workers cannot import this test module; ship its fault-injecting classes by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = create_executor("dask", workers=2)
    try:
        yield executor
    finally:
        executor.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


class _Faulty(Generator):
    """Corruptions that fail once, in whichever worker first makes the range at
    ``fail_at``: by raising, or by killing the worker process."""

    name = "corruptions"
    version = corrupter().version
    kind = "corrupted"
    defaults = corrupter().defaults

    def __init__(self, marker: Path, fail_at: int, mode: str) -> None:
        super().__init__(**CORRUPTION_PARAMS)
        self._inner = corrupter()
        self.marker, self.fail_at, self.mode = str(marker), fail_at, mode

    def check_params(self, params):
        return corrupter().check_params(params)

    def extra_columns(self):
        return self._inner.extra_columns()

    def expected_samples(self, source, num_samples):
        return self._inner.expected_samples(source, num_samples)

    def generate(self, source, *, seed, num_samples=None):
        return self._inner.generate(source, seed=seed, num_samples=num_samples)

    def generate_range(self, source, *, seed, num_samples=None, start, stop):
        if start == self.fail_at:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass  # failed once already: succeed now
            else:
                if self.mode == "kill":
                    os._exit(1)  # the nanny restarts the worker; Dask reschedules the task
                raise RuntimeError("injected failure")
        return self._inner.generate_range(
            source, seed=seed, num_samples=num_samples, start=start, stop=stop
        )


def test_dask_build_is_byte_identical_to_the_in_process_one(
    digits, reference, tmp_path, dask_executor
):
    assert dask_executor.workers == 2
    local = build(digits, tmp_path / "local", shard_size=32)
    on_dask = build(digits, tmp_path / "dask", shard_size=32, executor=dask_executor)
    assert [s.sha256 for s in on_dask.manifest.shards] == [s.sha256 for s in local.manifest.shards]
    assert on_dask.sha256() == local.sha256()
    assert_complete(on_dask, reference)


def test_dask_workers_compute_like_this_process(tmp_path, dask_executor):
    """Defocus blur is a matmul whose rounding follows the thread count torch starts with;
    Dask's default one-thread worker environment put some pixels one grey level off."""
    from supervisor_testing.errors import DatasetNotFoundError

    try:
        mnist = load_dataset("mnist", "test")
    except DatasetNotFoundError:
        pytest.skip("MNIST is not on this machine")
    generator = create_generator(
        "corruptions", suite="imagenet-c", corruptions="defocus_blur", severities="4"
    )
    options = {"seed": 0, "num_samples": 16, "name": "m", "shard_size": 8}
    local = build_sharded(generator, mnist, tmp_path / "a", **options)
    on_dask = build_sharded(generator, mnist, tmp_path / "b", executor=dask_executor, **options)
    assert on_dask.sha256() == local.sha256()


def test_dask_scores_equal_in_process_scores(supervisor, reference, dask_executor):
    from supervisor_testing.evaluate import score_corpus
    from supervisor_testing.sharded_scoring import score_corpus_sharded

    scores = score_corpus_sharded(supervisor, reference, executor=dask_executor, batch_size=32)
    assert np.array_equal(scores, score_corpus(supervisor, reference, batch_size=32))


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_a_failed_task_or_killed_worker_loses_and_duplicates_nothing(
    digits, reference, tmp_path, dask_executor, mode
):
    marker = tmp_path / "failed-once"
    faulty = _Faulty(marker, fail_at=64, mode=mode)
    corpus = build(digits, tmp_path / "a", faulty, shard_size=32, executor=dask_executor)
    assert marker.exists()  # the fault did fire
    assert corpus.sha256() == build(digits, tmp_path / "b", shard_size=32).sha256()
    assert_complete(corpus, reference)
