"""Minimal epsilons of our attacks against foolbox 3.3.4's, on the same MNIST inputs.

Run from the repository root (foolbox runs in its own venv, see
``benchmarks/peers/foolbox_worker.py``)::

    python benchmarks/adversarial_reference.py [--n 40]

Both sides attack the same seeded MNIST test digits with the reference CNN (trained once,
cached) over the AmbiGuess study's epsilon ladder, one thread each. For every input,
foolbox's minimal epsilon is the first ladder step at which its clipped float adversarial
is misclassified; ours is ``float_epsilon`` (``track_float=True``), the same quantity.
Our uint8 ``epsilon`` (what the corpus stores) is shown beside it. Jobs: FGSM, PGD without
random start (deterministic on both sides), BIM, DeepFool, and PGD with its random start
(the two sides draw different starts, so agreement is statistical there). Settings are
foolbox's defaults on both sides. Prints the agreement per attack and CPU seconds, and
writes ``benchmarks/results/adversarial_reference.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from generators.adversarial import STUDY_EPSILONS, create_attack, minimal_epsilons  # noqa: E402
from supervisor_testing.data import load_dataset  # noqa: E402
from supervisor_testing.generation import subsample_indices  # noqa: E402
from supervisor_testing.models import train_model  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "adversarial_reference.json"
WORKER = REPO / "benchmarks" / "peers" / "foolbox_worker.py"
PEER_ENV = "FOOLBOX_PYTHON"
DEFAULT_PEER = "/tmp/peer-venv-foolbox/bin/python"

#: (label, attack, settings for both sides); foolbox's keyword names are ours too.
JOBS: list[tuple[str, str, dict[str, Any]]] = [
    ("fgsm", "fgsm", {}),
    ("pgd, no random start", "pgd", {"random_start": False}),
    ("bim", "bim", {}),
    ("deepfool", "deepfool", {}),
    ("pgd, random start", "pgd", {}),
]


def peer_python() -> str:
    python = os.environ.get(PEER_ENV, DEFAULT_PEER)
    probe = subprocess.run([python, "-c", "import foolbox, eagerpy"], capture_output=True)
    if probe.returncode != 0:
        sys.exit(
            f"foolbox not importable with {python} (set ${PEER_ENV}); set it up with:\n"
            f"  python3 -m venv /tmp/peer-venv-foolbox\n"
            f"  /tmp/peer-venv-foolbox/bin/pip install torch==2.13.0 foolbox==3.3.4 eagerpy"
        )
    return python


def first_success(success: np.ndarray) -> np.ndarray:
    """Ladder epsilon of the first True in each column of a K x N matrix (inf if none)."""
    ladder = np.array((*STUDY_EPSILONS, math.inf))
    first = np.where(success.any(axis=0), success.argmax(axis=0), len(STUDY_EPSILONS))
    return ladder[first]


def run_foolbox(python: str, model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor):
    with tempfile.TemporaryDirectory() as scratch:
        source, jobs, target = (Path(scratch) / n for n in ("in.npz", "jobs.json", "out.npz"))
        weights = {f"weight/{k}": v.numpy() for k, v in model.state_dict().items()}
        np.savez(source, images=images.float().div(255).numpy(), labels=labels.numpy(), **weights)
        spec = {
            "arch": "cnn",
            "num_classes": 10,
            "epsilons": list(STUDY_EPSILONS),
            "jobs": [{"attack": a, "settings": s, "seed": 0} for _, a, s in JOBS],
        }
        jobs.write_text(json.dumps(spec))
        subprocess.run([python, str(WORKER), str(source), str(jobs), str(target)], check=True)
        with np.load(target) as data:
            return [
                (first_success(data[f"success_{i}"]), float(data[f"seconds_{i}"]))
                for i in range(len(JOBS))
            ]


def steps_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ladder = [*STUDY_EPSILONS, math.inf]
    return np.abs(np.array([ladder.index(x) for x in a]) - np.array([ladder.index(x) for x in b]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=40, help="MNIST test inputs per attack")
    args = parser.parse_args()
    python = peer_python()
    torch.set_num_threads(1)
    model = train_model(load_dataset("mnist", "train"), "cnn", seed=0).module
    test = load_dataset("mnist", "test")
    index = subsample_indices(len(test), args.n, seed=0)
    images, labels = test.images[index], test.labels[index]
    theirs = run_foolbox(python, model, images, labels)
    rows = []
    for (label, attack, settings), (their_eps, their_seconds) in zip(JOBS, theirs, strict=True):
        start = time.process_time()
        ours = minimal_epsilons(
            create_attack(attack, **settings), model, images, labels, keys=index, track_float=True
        )
        seconds = time.process_time() - start
        float_eps, uint8_eps = ours.float_epsilon.numpy(), ours.epsilon.numpy()
        apart = steps_apart(float_eps, their_eps)
        rows.append(
            {
                "attack": label,
                "inputs": len(index),
                "float_eps_equal": float((apart == 0).mean()),
                "within_one_step": float((apart <= 1).mean()),
                "disagreements": [
                    {"source_index": int(i), "ours": float(o), "foolbox": float(t)}
                    for i, o, t, d in zip(index, float_eps, their_eps, apart, strict=True)
                    if d
                ],
                "ours_success": float(np.isfinite(float_eps).mean()),
                "foolbox_success": float(np.isfinite(their_eps).mean()),
                "ours_median_float_eps": float(np.median(float_eps)),
                "foolbox_median_eps": float(np.median(their_eps)),
                "ours_median_uint8_eps": float(np.median(uint8_eps)),
                "uint8_above_float": float((uint8_eps > float_eps).mean()),
                "ours_cpu_s": round(seconds, 2),
                "foolbox_cpu_s": round(their_seconds, 2),
            }
        )
    print(
        f"{'attack':<22} {'n':>3} {'equal':>6} {'<=1 step':>8} {'med ours':>9} {'med fb':>7} "
        f"{'med uint8':>9} {'uint8>fl':>8} {'ours s':>7} {'fb s':>7}"
    )
    for r in rows:
        print(
            f"{r['attack']:<22} {r['inputs']:>3} {r['float_eps_equal']:>6.1%} "
            f"{r['within_one_step']:>8.1%} {r['ours_median_float_eps']:>9g} "
            f"{r['foolbox_median_eps']:>7g} {r['ours_median_uint8_eps']:>9g} "
            f"{r['uint8_above_float']:>8.1%} {r['ours_cpu_s']:>7} {r['foolbox_cpu_s']:>7}"
        )
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(
        json.dumps(
            {
                "benchmark": "adversarial_reference",
                "peer": "foolbox 3.3.4 (eagerpy 0.30.0), torch 2.13.0 CPU, one thread",
                "model": "reference cnn trained on mnist (seed 0)",
                "epsilons": list(STUDY_EPSILONS),
                "machine": {"platform": platform.platform(), "load": os.getloadavg()},
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULT_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
