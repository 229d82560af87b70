"""Wall time to train every AmbiGuess pair model of a data set, and the generation rate.

Trains the 45 class-pair models of MNIST's ``train`` split as one batched model, one try
(``max_tries = 1``, no cache), with the reference hyper-parameters unless overridden, then
samples a corpus's columns from the trained models and reports samples per second. The
training target (45 pairs, 80 epochs, 10 minutes) is for MNIST's 60,000 training images:
the time is also scaled to that size, and the target is judged on the scaled time (the
Fashion-MNIST run, 55,000 images, needs the least scaling). Prints
a table and writes ``benchmarks/results/ambiguous_training.json`` (one entry per data set
and epoch count; other entries are kept). Record the machine load beside the numbers:
timings on a shared CPU are noisy.

    python benchmarks/ambiguous_training.py                          # 45 MNIST pairs, 80 epochs
    python benchmarks/ambiguous_training.py --epochs 2               # per-epoch time only
    python benchmarks/ambiguous_training.py --dataset fashion-mnist
    python benchmarks/ambiguous_training.py --batch-size 120         # the mnist recipe's steps
    python benchmarks/ambiguous_training.py --cached --batch-size 120 --max-tries 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "benchmarks" / "results" / "ambiguous_training.json"
#: The issue's targets on a 2-core machine.
TARGET_TRAIN_SECONDS = 600.0
TARGET_SAMPLES_PER_SECOND = 2000.0
#: The training target is for MNIST's full training set; the MNIST pool that ships here
#: holds about 7,000 images. A try costs time in proportion to the images per pair (the
#: batch count per epoch grows with them), so timings are also scaled to this size.
REFERENCE_TRAIN_SIZE = 60_000


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from generators.ambiguous import PairTrainingConfig, sample_corpus_columns, train_pair_models
    from generators.ambiguous.config import DISC_ACCURACY_MEASURES
    from supervisor_testing.data import load_dataset
    from supervisor_testing.errors import InvalidInputError

    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = load_dataset(args.dataset, "train")
    # One uncached try measures training; --cached uses the generator's own setting (up to
    # 20 tries, cached), e.g. to measure generation from the models a recipe trained.
    config = PairTrainingConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_tries=(args.max_tries or 20) if args.cached else 1,
        disc_accuracy_measure=args.measure,
    )
    load_before = _load_average()
    start = time.perf_counter()
    cpu_start = time.process_time()
    trained = train_pair_models(
        dataset, config=config, seed=args.seed, cache=args.cached, progress=not args.quiet
    )
    train_wall = time.perf_counter() - start
    train_cpu = time.process_time() - cpu_start
    load_after = _load_average()
    accepted = len(trained.accepted)
    # What each real/fake accuracy measure would have accepted (first try only when
    # uncached): which criterion fails, and whether the measure matters.
    low, high = config.disc_accuracy_range
    by_measure = {
        measure: sum(
            low < dict(r.disc_accuracies).get(measure, math.nan) < high
            and r.class_accuracy >= config.min_class_accuracy
            for r in trained.reports
        )
        for measure in DISC_ACCURACY_MEASURES
    }
    failing_window = sum(not low < r.disc_accuracy < high for r in trained.reports)
    failing_class = sum(r.class_accuracy < config.min_class_accuracy for r in trained.reports)
    # a cache hit took no training here; its own training time is in its metadata
    loaded = args.cached and train_wall < 0.5 * (trained.train_seconds or 0)

    # The rate is that of sampling from trained models; with no accepted pair (too few
    # epochs) every pair is sampled so that the rate is still measured.
    sampled = trained
    if not accepted:
        sampled = dataclasses.replace(
            trained,
            reports=tuple(dataclasses.replace(r, accepted=True) for r in trained.reports),
        )
    # Undertrained models may label no point of the band ambiguous at the requested
    # max_label_diff; the rate is then measured with every point admitted. The first run
    # also computes the density grid (a decoder gradient per cell and pair, kept with the
    # models afterwards); the second shows the rate once the grid exists.
    max_label_diff = args.max_label_diff
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pairs running short are reported by the count
        start = time.perf_counter()
        try:
            columns = sample_corpus_columns(
                sampled, args.samples, max_label_diff=max_label_diff, seed=args.seed
            )
        except InvalidInputError:
            max_label_diff = 1.0
            sampled.gradient_norms(50)
            start = time.perf_counter()
            columns = sample_corpus_columns(
                sampled, args.samples, max_label_diff=max_label_diff, seed=args.seed
            )
        cold_wall = time.perf_counter() - start
        start = time.perf_counter()
        columns = sample_corpus_columns(
            sampled, args.samples, max_label_diff=max_label_diff, seed=args.seed + 1
        )
        sample_wall = time.perf_counter() - start
    made = int(columns["images"].shape[0])
    return {
        "dataset": args.dataset,
        "source": dataset.source,
        "train_size": len(dataset),
        "pairs": len(trained.reports),
        "config": config.to_dict(),
        "cached": args.cached,
        "train_wall_seconds": round(train_wall, 2),
        "train_cpu_seconds": round(train_cpu, 2),
        "seconds_per_epoch": round(train_wall / args.epochs, 3),
        "extrapolated_80_epoch_seconds": round(train_wall / args.epochs * 80, 1),
        "scaled_to_60k_80_epoch_seconds": round(
            train_wall / args.epochs * 80 * REFERENCE_TRAIN_SIZE / len(dataset), 1
        ),
        "accepted_pairs": accepted,
        "accepted_by_measure": by_measure,
        "failing_disc_window": failing_window,
        "failing_class_accuracy": failing_class,
        "pair_reports": [r.to_dict() for r in trained.reports],
        "samples": made,
        "max_label_diff": max_label_diff,
        "sampled_from": "accepted pairs" if accepted else "all pairs (none accepted)",
        "sampling_seconds": round(sample_wall, 3),
        "first_sampling_seconds_with_grid": round(cold_wall, 3),
        "samples_per_second": round(made / sample_wall, 1),
        "loaded_from_cache": loaded,
        "cached_train_seconds": trained.train_seconds if loaded else None,
        "meets_train_target": None
        if loaded
        else train_wall / args.epochs * 80 * REFERENCE_TRAIN_SIZE / len(dataset)
        <= TARGET_TRAIN_SECONDS,
        "meets_rate_target": made / sample_wall >= TARGET_SAMPLES_PER_SECOND,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def format_table(row: dict[str, Any]) -> str:
    if row.get("loaded_from_cache"):
        training = [
            f"training            loaded from the cache (trained in "
            f"{row['cached_train_seconds']:.0f} s wall, retries included)"
        ]
    else:
        training = [
            f"training            {row['train_wall_seconds']:.1f} s wall, "
            f"{row['train_cpu_seconds']:.1f} s CPU, {row['seconds_per_epoch']:.2f} s/epoch",
            f"80 epochs           {row['extrapolated_80_epoch_seconds']:.0f} s here; "
            f"{row['scaled_to_60k_80_epoch_seconds']:.0f} s scaled to "
            f"{REFERENCE_TRAIN_SIZE:,} images (target {TARGET_TRAIN_SECONDS:.0f} s: "
            f"{'ok' if row['meets_train_target'] else 'MISS'})",
        ]
    lines = [
        f"data set            {row['dataset']} ({row['train_size']} train images, "
        f"{row['pairs']} pairs)",
        f"epochs x batch      {row['config']['epochs']} x {row['config']['batch_size']}",
        *training,
        f"accepted pairs      {row['accepted_pairs']} / {row['pairs']} "
        f"(measure {row['config'].get('disc_accuracy_measure', 'last-epoch')}; by measure "
        f"{row['accepted_by_measure']}; outside the real/fake window "
        f"{row['failing_disc_window']}, class accuracy too low {row['failing_class_accuracy']})",
        f"generation          {row['samples']} samples (MLD {row['max_label_diff']}) in "
        f"{row['sampling_seconds']:.2f} s = "
        f"{row['samples_per_second']:.0f} /s (target {TARGET_SAMPLES_PER_SECOND:.0f}: "
        f"{'ok' if row['meets_rate_target'] else 'MISS'}; {row['sampled_from']})",
        f"first generation    {row['first_sampling_seconds_with_grid']:.2f} s, including "
        f"computing (or loading) the density grid of every pair",
        f"load average        {row['load_average_before']} -> {row['load_average_after']} "
        f"on {row['cpu_count']} CPUs, {row['torch_threads']} torch threads",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--max-label-diff", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--cached", action="store_true", help="train with retries into the cache, or load"
    )
    parser.add_argument("--max-tries", type=int, default=0, help="with --cached (default 20)")
    parser.add_argument(
        "--measure", default="last-epoch", help="real/fake accuracy the acceptance window tests"
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    row = run(args)
    print(format_table(row))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []

    def key(r: dict[str, Any]) -> tuple:
        config = r["config"]
        return (
            r["dataset"],
            config["epochs"],
            config["batch_size"],
            config["max_tries"],
            config.get("disc_accuracy_measure", "last-epoch"),
        )

    kept = [r for r in previous if key(r) != key(row)]
    RESULTS.write_text(json.dumps([*kept, row], indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
