"""Scale-out: corpus build throughput in-process against a 2-worker Dask LocalCluster, and
a paper estimate of ImageNet-C-sized builds on N workers from measured per-shard cost.

Run from the repository root::

    python benchmarks/scale_out.py [--quick]

Part 1 builds the same corruption corpus (64 synthetic 224 x 224 RGB images, the 15
ImageNet-C benchmark corruptions x 5 severities: 4,800 images) with the in-process
executor and on a ``LocalCluster`` of two single-threaded worker processes, checks that
both give the same corpus hash, and reports wall time, CPU time (this process; the
workers' own CPU time from the workers) and the ratio. Every process computes on one
thread (``OMP_NUM_THREADS=1`` unless set), so this is one core in-process against two
single-threaded workers. The cluster's start-up and the workers' first task (importing
torch and the generators) are timed apart from the build (both sides first set up every
cell once), and the ratio is given with and without them.

Part 2 times one shard per (corruption, severity) cell of the 19 ImageNet-C corruptions
at 224 x 224 RGB (photo-like synthetic images: no photo data set ships here) in CPU
seconds, and from that estimates the wall time of a 50,000 x 19 x 5 corpus on N
workers: ceil(shards / N) waves x the CPU of one shard / the CPU efficiency measured in
part 1, but no less than the scheduler's measured CPU per task x the number of shards.
Wall-time ratios on a shared machine mostly measure the other load, so the estimate rests
on CPU time. Writes
``benchmarks/results/scale_out.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# One thread per process, set before torch starts: the in-process build is one core's
# work against two single-threaded workers, and idle OpenMP threads spinning on a loaded
# machine do not inflate the CPU times the estimate rests on.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:  # a script run from a checkout, not an installed package
        sys.path.insert(0, str(path))

import torch  # noqa: E402
from corruption_peer import smooth_images  # noqa: E402

from supervisor_testing.corpus import _required_schema  # noqa: E402
from supervisor_testing.data.dataset import Dataset  # noqa: E402
from supervisor_testing.executors import DaskExecutor, LocalExecutor  # noqa: E402
from supervisor_testing.generation import create_generator  # noqa: E402
from supervisor_testing.sharded_build import build_sharded, make_shards  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "scale_out.json"
IMAGENET_C = {"images": 50_000, "corruptions": 19, "severities": 5, "size": 224}
WORKER_COUNTS = (1, 2, 8, 32, 128, 512)


def _worker_cpu(executor: DaskExecutor) -> float:
    """CPU seconds the worker processes have used so far (summed over workers)."""
    return sum(executor.client.run(time.process_time).values())


def _synthetic_224(images: int) -> Dataset:
    pixels = torch.from_numpy(smooth_images(images, 3, IMAGENET_C["size"], seed=0))
    return Dataset("synthetic-224", "test", pixels, torch.zeros(images, dtype=torch.int64),
                   ("a", "b"), source="benchmarks/corruption_peer.smooth_images")  # fmt: skip


def _warm(generator: Any, source: Dataset) -> None:
    """Pay one-time set-up (kernel tables, textures) of every cell in this process."""
    for _ in generator.generate(source, seed=0, num_samples=1):
        pass


def throughput(*, samples: int, shard_size: int) -> dict[str, Any]:
    source = _synthetic_224(samples)
    generator = create_generator("corruptions", suite="imagenet-c", severities="1-5",
                                 table="imagenet-c")  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="scale-out-"))
    options = {"seed": 0, "name": "imagenet-c-224", "shard_size": shard_size}

    _warm(generator, source)
    wall, cpu = time.perf_counter(), time.process_time()
    local = build_sharded(generator, source, root / "local", executor=LocalExecutor(), **options)
    local_wall, local_cpu = time.perf_counter() - wall, time.process_time() - cpu

    wall = time.perf_counter()
    executor = DaskExecutor(workers=2)
    startup = time.perf_counter() - wall
    try:
        # Every worker imports torch and the generators and sets up every cell first.
        wall = time.perf_counter()
        executor.client.run(_warm, generator, source)
        warmup = time.perf_counter() - wall
        wall, cpu, workers_cpu = time.perf_counter(), time.process_time(), _worker_cpu(executor)
        on_dask = build_sharded(generator, source, root / "dask", executor=executor, **options)
        dask_wall = time.perf_counter() - wall
        dask_cpu = time.process_time() - cpu
        dask_workers_cpu = _worker_cpu(executor) - workers_cpu
    finally:
        executor.close()
    if on_dask.sha256() != local.sha256():
        raise SystemExit("the Dask build differs from the in-process build")
    tasks = len(on_dask.manifest.shards)
    # What the cluster costs beyond perfect halving of the in-process work, per task.
    overhead = max(0.0, dask_wall - local_wall / 2) / tasks
    return {
        "corpus": f"{samples} images at 224 px x {len(generator.cells(source.image_shape))} cells",
        "images": len(local),
        "shard_size": shard_size,
        "tasks": tasks,
        "identical": True,
        "in_process": {"wall_s": local_wall, "cpu_s": local_cpu},
        "dask_2_workers": {
            "startup_s": startup,
            "first_task_warmup_s": warmup,
            "wall_s": dask_wall,
            "client_cpu_s": dask_cpu,
            "workers_cpu_s": dask_workers_cpu,
        },
        "cpu_efficiency": local_cpu / (dask_cpu + dask_workers_cpu),
        "client_cpu_per_task_s": dask_cpu / tasks,
        "speedup": local_wall / dask_wall,
        "speedup_with_startup": local_wall / (dask_wall + startup + warmup),
        "efficiency": local_wall / dask_wall / 2,
        "overhead_per_task_s": overhead,
        "images_per_s": {"in_process": len(local) / local_wall, "dask": len(local) / dask_wall},
    }


def shard_costs(*, images: int) -> dict[str, Any]:
    """CPU seconds per image of one shard of every ImageNet-C cell at 224 px."""
    source = _synthetic_224(images)
    generator = create_generator("corruptions", suite="imagenet-c", corruptions="all",
                                 severities="1-5", table="imagenet-c")  # fmt: skip
    cells = generator.cells(source.image_shape)
    schema = {**_required_schema(source.image_shape, 2), **generator.extra_columns()}
    per_cell = {}
    with tempfile.TemporaryDirectory() as staging:
        for k, (corruption, severity) in enumerate(cells):
            cpu = time.process_time()
            make_shards(generator, source, seed=0, num_samples=None, start=k * images,
                        stop=(k + 1) * images, first_shard=k, shard_size=images,
                        staging=staging, schema=schema, num_classes=2,
                        name="imagenet-c-224")  # fmt: skip
            per_cell[f"{corruption}/{severity}"] = (time.process_time() - cpu) / images
    return {"images_per_cell": images, "cpu_s_per_image": per_cell,
            "cpu_s_per_source_image": sum(per_cell.values()), "cells": len(cells)}  # fmt: skip


def estimate(costs: dict[str, Any], scaling: dict[str, Any]) -> list[dict[str, Any]]:
    """Wall hours of the ImageNet-C-sized build on N dedicated single-core workers.

    Shards run in waves of N: ceil(shards / N) x the CPU of one shard, divided by the CPU
    efficiency measured in part 1 (in-process CPU / all CPU the cluster build used,
    robust to other load where wall-time ratios are not), and never below the time the
    scheduler spends on the tasks one after another (its measured CPU per task).
    """
    total_images = IMAGENET_C["images"] * IMAGENET_C["corruptions"] * IMAGENET_C["severities"]
    cpu = IMAGENET_C["images"] * costs["cpu_s_per_source_image"]
    shards = -(-total_images // 4096)
    rows = []
    for workers in WORKER_COUNTS:
        efficiency = 1.0 if workers == 1 else min(1.0, scaling["cpu_efficiency"])
        scheduling = 0.0 if workers == 1 else shards * scaling["client_cpu_per_task_s"]
        waves = -(-shards // workers)
        wall = max(waves * (cpu / shards) / efficiency, scheduling)
        rows.append({"workers": workers, "wall_h": wall / 3600, "shards": shards,
                     "shard_cpu_s": 4096 * cpu / total_images})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpora")
    args = parser.parse_args()
    load = os.getloadavg()
    scaling = throughput(samples=8 if args.quick else 64,
                         shard_size=100 if args.quick else 400)  # fmt: skip
    costs = shard_costs(images=1 if args.quick else 2)
    rows = estimate(costs, scaling)
    result = {
        "benchmark": "scale_out",
        "environment": {
            "cpus": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in load],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "torch": torch.__version__,
            "dask": __import__("distributed").__version__,
        },
        "throughput": scaling,
        "imagenet_c_224": costs,
        "estimate": {"corpus": IMAGENET_C, "rows": rows},
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")

    d, p = scaling["dask_2_workers"], scaling["in_process"]
    start_load, end_load = load[0], os.getloadavg()[0]
    print(f"load average {start_load:.1f} at start, {end_load:.1f} at end ({os.cpu_count()} CPUs)")
    print(f"\nbuild of {scaling['images']} images ({scaling['corpus']}), {scaling['tasks']} "
          f"shards of {scaling['shard_size']}; identical corpus hash")  # fmt: skip
    print(f"{'':24} {'wall s':>8} {'CPU s':>8} {'img/s':>8}")
    rate = scaling["images_per_s"]
    print(f"{'in-process':24} {p['wall_s']:8.2f} {p['cpu_s']:8.2f} {rate['in_process']:8.0f}")
    cpu = d["workers_cpu_s"] + d["client_cpu_s"]
    print(f"{'LocalCluster, 2 workers':24} {d['wall_s']:8.2f} {cpu:8.2f} {rate['dask']:8.0f}")
    print(f"cluster start {d['startup_s']:.1f} s, workers' first task "
          f"{d['first_task_warmup_s']:.1f} s; speedup {scaling['speedup']:.2f}x "
          f"({scaling['speedup_with_startup']:.2f}x with start-up), overhead "
          f"{scaling['overhead_per_task_s'] * 1000:.0f} ms per task")  # fmt: skip
    slowest = sorted(costs["cpu_s_per_image"].items(), key=lambda kv: -kv[1])[:3]
    print(f"\n224 px: {costs['cpu_s_per_source_image']:.2f} CPU s per source image over "
          f"{costs['cells']} cells; slowest: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in slowest))  # fmt: skip
    print(f"CPU efficiency of the cluster build {scaling['cpu_efficiency']:.2f} (in-process CPU "
          f"/ cluster CPU); scheduler CPU {scaling['client_cpu_per_task_s'] * 1000:.0f} ms "
          f"per task")  # fmt: skip
    print(f"\nImageNet-C-sized corpus (50,000 x 19 x 5 at 224 px, {rows[0]['shards']} shards "
          f"of 4096, {rows[0]['shard_cpu_s']:.0f} CPU s each), estimated wall time on "
          f"dedicated single-core workers:")  # fmt: skip
    for row in rows:
        print(f"  {row['workers']:>4} workers  {row['wall_h']:8.1f} h")
    print(f"\nwrote {RESULT_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
