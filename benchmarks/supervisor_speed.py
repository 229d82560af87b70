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

Usage: python benchmarks/supervisor_speed.py [--images N] [--threads T]
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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import train_model
    from supervisor_testing.supervisors import create_supervisor
    from supervisor_testing.supervisors.result_cache import clear_shared_caches

    load_before = os.getloadavg()
    train = load_dataset("mnist", "train")
    model = train_model(train, "cnn", seed=0, progress=True).module.eval()
    pool = torch.cat([load_dataset("mnist", s).images for s in ("train", "calibration", "test")])
    x = pool[: args.images]
    print(f"{len(x)} images, torch threads {torch.get_num_threads()}, load {load_before}")

    start = time.perf_counter()
    for seed in range(1, args.members):
        train_model(train, "cnn", seed=seed, progress=True)
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
    battery_start = time.perf_counter()
    for name in BATTERY:
        supervisor = create_supervisor(name, model, **params.get(name, {}))
        start = time.perf_counter()
        if supervisor.requires_fit:
            supervisor.fit(train)
        fitted = time.perf_counter()
        for batch in x.split(BATCH):
            scores = supervisor.score(batch)
            assert torch.isfinite(scores).all(), name
        done = time.perf_counter()
        rows.append(
            {
                "supervisor": name,
                "family": supervisor.family,
                "fit_s": round(fitted - start, 2),
                "score_s": round(done - fitted, 2),
                "total_s": round(done - start, 2),
            }
        )
        print(f"{name:<34} fit {fitted - start:7.2f} s  score {done - fitted:7.2f} s", flush=True)
    battery = time.perf_counter() - battery_start

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

    print(f"\n{'supervisor':<34} {'family':<15} {'fit s':>8} {'score s':>8} {'total s':>8}")
    for r in rows:
        print(
            f"{r['supervisor']:<34} {r['family']:<15} {r['fit_s']:8.2f} "
            f"{r['score_s']:8.2f} {r['total_s']:8.2f}"
        )
    print(f"\nbattery: {battery:.1f} s (target {TARGET_SECONDS:.0f} s)")
    print(f"ensemble member training (cached on disk): {member_seconds:.1f} s")
    print(
        f"MC-dropout S={args.samples}: {multiples['first_dropout']}x a forward pass replicating "
        f"at the first dropout, {multiples['input']}x replicating the input"
    )
    print(f"load average before {load_before}, after {load_after}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "supervisor_speed",
                "images": len(x),
                "fit_data": f"mnist train ({len(train)} images, {train.source})",
                "torch_threads": torch.get_num_threads(),
                "forward_pass_s": round(forward, 2),
                "battery_s": round(battery, 1),
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
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
