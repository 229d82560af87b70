"""Attack throughput on MNIST: inputs per second for each attack over the full ladder.

Run from the repository root::

    python benchmarks/adversarial_speed.py [--n 64] [--threads 1]

Each attack (foolbox's default settings) searches the AmbiGuess study's 13-step ladder
for the same seeded MNIST test digits against the reference CNN, as the generator does:
once for the stored uint8 image only (the default) and once also in float space
(``store_float``, which runs the attack at the sub-level steps too). Time is CPU seconds
of this process (``time.process_time``), which other load on a shared machine disturbs
far less than wall time; wall time is recorded beside it. Prints inputs/s, the share of
inputs flipped and the median stored epsilon per attack, the implied time for the
1,000-input ``mnist-adversarial`` recipe, and writes
``benchmarks/results/adversarial_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from generators.adversarial import ATTACKS, create_attack, minimal_epsilons  # noqa: E402
from supervisor_testing.data import load_dataset  # noqa: E402
from supervisor_testing.generation import subsample_indices  # noqa: E402
from supervisor_testing.models import train_model  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "adversarial_speed.json"
RECIPE_INPUTS_PER_ATTACK = 250


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="MNIST test inputs per attack")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = train_model(load_dataset("mnist", "train"), "cnn", seed=0).module
    test = load_dataset("mnist", "test")
    index = subsample_indices(len(test), args.n, seed=0)
    images, labels = test.images[index], test.labels[index]
    load_before = os.getloadavg()
    rows = []
    for name in ATTACKS:
        for track_float in (False, True):
            wall, cpu = time.perf_counter(), time.process_time()
            result = minimal_epsilons(
                create_attack(name), model, images, labels, keys=index, track_float=track_float
            )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            flipped = result.epsilon[result.success]
            rows.append(
                {
                    "attack": name,
                    "search": "uint8 + float" if track_float else "uint8",
                    "inputs": len(index),
                    "inputs_per_cpu_s": round(len(index) / cpu, 2),
                    "inputs_per_wall_s": round(len(index) / wall, 2),
                    "cpu_s": round(cpu, 2),
                    "wall_s": round(wall, 2),
                    "flipped": float(result.success.float().mean()),
                    "median_epsilon": float(flipped.median()) if len(flipped) else None,
                }
            )
            r = rows[-1]
            print(
                f"{name:<9} {r['search']:<14} {r['inputs_per_cpu_s']:>8.2f} inputs/CPU s "
                f"({r['inputs_per_wall_s']:.2f}/wall s)  flipped {r['flipped']:.0%}  "
                f"median epsilon {r['median_epsilon']}"
            )
    recipe = {
        search: round(
            sum(
                RECIPE_INPUTS_PER_ATTACK / r["inputs_per_cpu_s"]
                for r in rows
                if r["search"] == search
            ),
            1,
        )
        for search in ("uint8", "uint8 + float")
    }
    print(f"implied CPU seconds for mnist-adversarial (4 x 250 inputs): {recipe}")
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(
        json.dumps(
            {
                "benchmark": "adversarial_speed",
                "model": "reference cnn trained on mnist (seed 0)",
                "threads": args.threads,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_before": load_before,
                    "load_after": os.getloadavg(),
                },
                "rows": rows,
                "recipe_cpu_s": recipe,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULT_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
