"""Accuracy and training time of the reference classifiers with their default configs.

Trains each architecture on each data set's ``train`` split without the weights cache,
scores its ``test`` split, prints a table and writes
``benchmarks/results/reference_models.json`` (entries from earlier runs for other
architecture / data set pairs are kept). Exits with 1 when a model misses its target, so the
defaults cannot silently regress.

    python benchmarks/reference_models.py                      # everything
    python benchmarks/reference_models.py --arch cnn           # CNN on both data sets
    python benchmarks/reference_models.py --arch cnn --dataset mnist
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "benchmarks" / "results" / "reference_models.json"
ARCHS = ("cnn", "mlp", "resnet")
DATASETS = ("mnist", "fashion-mnist")
#: Minimum test accuracy the default config must reach (the contract the suite relies on).
TARGETS: dict[tuple[str, str], float] = {
    ("cnn", "mnist"): 0.97,
    ("cnn", "fashion-mnist"): 0.88,
}


def run_one(arch: str, dataset_name: str, *, seed: int, progress: bool) -> dict[str, Any]:
    import torch

    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import accuracy, train_model

    train = load_dataset(dataset_name, "train")
    test = load_dataset(dataset_name, "test")
    start = time.perf_counter()
    model = train_model(train, arch, seed=seed, cache=False, progress=progress)
    wall = time.perf_counter() - start
    test_accuracy = accuracy(model, test)
    target = TARGETS.get((arch, dataset_name))
    return {
        "arch": arch,
        "dataset": dataset_name,
        "source": train.source,
        "train_size": len(train),
        "test_size": len(test),
        "train_config": model.config.to_dict(),
        "parameters": sum(p.numel() for p in model.module.parameters()),
        "test_accuracy": round(test_accuracy, 5),
        "target_accuracy": target,
        "meets_target": None if target is None else test_accuracy >= target,
        "train_seconds": model.train_seconds,
        "wall_seconds": round(wall, 3),
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("arch", "dataset", "train", "epochs", "test acc", "target", "train s")
    lines = [header]
    for row in rows:
        target = row["target_accuracy"]
        verdict = (
            "" if target is None else f"{target:.2f} {'ok' if row['meets_target'] else 'MISS'}"
        )
        lines.append(
            (
                row["arch"],
                row["dataset"],
                str(row["train_size"]),
                str(row["train_config"]["epochs"]),
                f"{row['test_accuracy']:.4f}",
                verdict,
                f"{row['train_seconds']:.1f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def write_results(rows: list[dict[str, Any]], path: Path) -> None:
    """Merge ``rows`` into ``path`` by (arch, dataset), keeping the other pairs' entries."""
    previous: list[dict[str, Any]] = []
    if path.is_file():
        previous = json.loads(path.read_text()).get("results", [])
    fresh = {(r["arch"], r["dataset"]) for r in rows}
    merged = [r for r in previous if (r["arch"], r["dataset"]) not in fresh] + rows
    order = {(a, d): i for i, (a, d) in enumerate((a, d) for a in ARCHS for d in DATASETS)}
    merged.sort(key=lambda r: order.get((r["arch"], r["dataset"]), len(order)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"benchmark": "reference_models", "results": merged}, indent=2))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHS, help="repeatable")
    parser.add_argument("--dataset", action="append", choices=DATASETS, help="repeatable")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--progress", action="store_true", help="show training progress")
    args = parser.parse_args(argv)

    rows = []
    for arch in args.arch or ARCHS:
        for dataset_name in args.dataset or DATASETS:
            row = run_one(arch, dataset_name, seed=args.seed, progress=args.progress)
            print(
                f"{arch} on {dataset_name}: test accuracy {row['test_accuracy']:.4f} "
                f"after {row['train_seconds']:.1f} s",
                flush=True,
            )
            rows.append(row)
            write_results([row], args.output)  # a long run keeps what it finished
    print()
    print(format_table(rows))
    print(f"\nwrote {args.output}")
    return 0 if all(r["meets_target"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
