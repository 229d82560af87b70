"""Quality and speed of diffusion edits, next to corruptions at a matched pixel distance.

Run from the repository root::

    python benchmarks/diffusion_edits.py [--n 64] [--strengths 0.2,0.4,0.6,0.8] [--pipeline PATH]

Edits ``--n`` seeded MNIST test digits with SDEdit (stochastic, eta = 1), SDEdit-ODE
(eta = 0) and CODE at each strength, with the model the generator uses by default (the
shipped one) unless ``--pipeline`` names another. Per (method, strength):

- ``l2``: median L2 distance to the source in [0, 1] pixel units (28 x 28);
- ``feat``: median L2 distance between the reference CNN's penultimate features of the
  edit and of its source;
- ``kept``: share whose label an independent classifier (the ResNet, not the CNN) still
  reads as the source label;
- ``conf``: share the ResNet classifies with confidence > 0.9 (real test digits: its share
  on them is printed beside);
- ``knn%``: nominal-likeness: the median percentile of the edit's distance to its nearest
  training image in CNN feature space among the test digits' own distances (50 = as
  typical as a real test digit, 100 = farther than every one);
- ``img/s`` (wall) and CPU seconds per image, one intra-op thread.

Corruptions (ImageNet-C's Gaussian noise, Gaussian blur, contrast and elastic transform at
severities 1-5) are scored the same way; each edit row is printed next to the corruption
cell whose median L2 is nearest. Writes ``benchmarks/results/diffusion_edits.json`` and a
grid of sources x strengths per method, ``benchmarks/results/diffusion_edits.png``.
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
os.environ.setdefault("SUPERVISOR_TESTING_CACHE", str(REPO / ".cache"))

import torch  # noqa: E402

from generators.corruptions import corrupt  # noqa: E402
from generators.diffusion import DiffusionEditGenerator  # noqa: E402
from supervisor_testing.data import load_dataset  # noqa: E402
from supervisor_testing.generation import subsample_indices  # noqa: E402
from supervisor_testing.models import train_model  # noqa: E402
from supervisor_testing.report.grid import image_grid  # noqa: E402
from supervisor_testing.supervisors.thread_limit import limited_threads  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "diffusion_edits.json"
GRID_PATH = REPO / "benchmarks" / "results" / "diffusion_edits.png"

#: (row label, generator parameters)
METHODS = (
    ("sdedit", {"method": "sdedit", "eta": 1.0}),
    ("sdedit-ode", {"method": "sdedit", "eta": 0.0}),
    ("code", {"method": "code"}),
)
CORRUPTIONS = ("gaussian_noise", "gaussian_blur", "contrast", "elastic_transform")


class Scorer:
    """Distances and classifier readings that every row shares."""

    def __init__(self, *, progress: bool) -> None:
        train = load_dataset("mnist", "train")
        self.test = load_dataset("mnist", "test")
        self.cnn = train_model(train, "cnn", seed=0, progress=progress).module.eval()
        self.oracle = train_model(train, "resnet", seed=0, progress=progress).module.eval()
        self.train_features = self.features(train.images)
        self.test_nn = self.nearest(self.features(self.test.images))
        self.test_confident = float(
            (self.probs(self.test.images).max(1).values > 0.9).float().mean()
        )

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        with limited_threads(1):
            return torch.cat([self.cnn.features(b.float() / 255) for b in images.split(500)])

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> torch.Tensor:
        with limited_threads(1):
            return torch.cat([self.oracle(b.float() / 255).softmax(1) for b in images.split(500)])

    def nearest(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cdist(features, self.train_features).min(dim=1).values

    def score(
        self, edited: torch.Tensor, source: torch.Tensor, labels: torch.Tensor
    ) -> dict[str, float]:
        l2 = (edited.float() - source.float()).div(255).flatten(1).norm(dim=1)
        feat = (self.features(edited) - self.features(source)).norm(dim=1)
        probs = self.probs(edited)
        nn = self.nearest(self.features(edited))
        percentile = (self.test_nn[None, :] < nn[:, None]).float().mean(dim=1) * 100
        return {
            "l2": float(l2.median()),
            "feat": float(feat.median()),
            "kept": float((probs.argmax(1) == labels).float().mean()),
            "conf": float((probs.max(1).values > 0.9).float().mean()),
            "knn_percentile": float(percentile.median()),
        }


def _quality(row: dict[str, Any]) -> str:
    return (f"{row['l2']:5.2f} {row['feat']:5.2f} {row['kept']:5.2f} {row['conf']:5.2f} "
            f"{row['knn_percentile']:5.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--strengths", default="0.2,0.4,0.6,0.8")
    parser.add_argument("--pipeline", default=None)
    parser.add_argument("--grid-sources", type=int, default=8)
    args = parser.parse_args()
    strengths = [float(s) for s in args.strengths.split(",")]

    started = time.process_time()
    scorer = Scorer(progress=False)
    print(f"reference classifiers and features ready ({time.process_time() - started:.1f} s CPU)")
    test = scorer.test
    rows_index = subsample_indices(len(test), args.n, seed=0)
    source, labels = test.images[rows_index], test.labels[rows_index]

    results: list[dict[str, Any]] = []
    grid_rows: dict[str, list[torch.Tensor]] = {}
    model_info: dict[str, Any] = {}
    for label, params in METHODS:
        generator = DiffusionEditGenerator(pipeline=args.pipeline, strengths=strengths, **params)
        generator.prepare(test)
        model_info = {"path": str(generator.model.path), "training": generator.model.training}
        grid_rows[label] = []
        for strength in strengths:
            wall, cpu = time.perf_counter(), time.process_time()
            edited, t0 = generator.edit(
                source, labels, rows_index, method=params["method"], strength=strength, seed=0
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            row = {
                "method": label,
                "strength": strength,
                "t0": t0,
                **scorer.score(edited, source, labels),
            }
            row.update(images_per_s=args.n / wall, cpu_s_per_image=cpu / args.n)
            results.append(row)
            grid_rows[label].append(edited[: args.grid_sources])
            print(
                f"{label:11s} {strength:.1f} done ({wall:.1f} s wall, {cpu:.1f} s CPU)", flush=True
            )

    corruption_rows = []
    for name in CORRUPTIONS:
        for severity in range(1, 6):
            wall, cpu = time.perf_counter(), time.process_time()
            with limited_threads(1):
                images = corrupt(source, name, severity=severity, seed=0, indices=rows_index)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            corruption_rows.append(
                {"corruption": name, "severity": severity, **scorer.score(images, source, labels),
                 "images_per_s": args.n / max(wall, 1e-9)}
            )  # fmt: skip
    for row in results:
        nearest = min(corruption_rows, key=lambda c: abs(c["l2"] - row["l2"]))
        row["matched_corruption"] = nearest

    columns = ("l2", "feat", "kept", "conf", "knn%")
    print(f"{'method':11s} {'str':>4s} {'t0':>4s} " + " ".join(f"{c:>5s}" for c in columns)
          + f" {'img/s':>6s} | {'matched corruption':>24s} "
          + " ".join(f"{c:>5s}" for c in columns))  # fmt: skip
    for r in results:
        c = r["matched_corruption"]
        cell = f"{c['corruption']}/{c['severity']}"
        print(f"{r['method']:11s} {r['strength']:4.1f} {r['t0']:4d} {_quality(r)} "
              f"{r['images_per_s']:6.1f} | {cell:>24s} {_quality(c)}")  # fmt: skip
    print(f"real test digits: ResNet confident share {scorer.test_confident:.2f}")

    # grid: one block per method, rows = sources, columns = source then each strength
    tiles = []
    for label, _ in METHODS:
        for i in range(min(args.grid_sources, args.n)):
            tiles.append(source[i : i + 1])
            tiles.extend(edits[i : i + 1] for edits in grid_rows[label])
    captions = [
        "src" if j == 0 else f"{label} {strengths[j - 1]:.1f}"
        for label, _ in METHODS
        for _ in range(min(args.grid_sources, args.n))
        for j in range(len(strengths) + 1)
    ]
    GRID_PATH.parent.mkdir(parents=True, exist_ok=True)
    image_grid(torch.cat(tiles), columns=len(strengths) + 1, scale=3, captions=captions).save(
        GRID_PATH
    )

    with os.popen("uptime") as pipe:
        load = pipe.read().strip()
    payload = {
        "n": args.n,
        "strengths": strengths,
        "model": model_info,
        "rows": results,
        "corruptions": corruption_rows,
        "real_test_confident_share": scorer.test_confident,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "uptime": load,
            "torch": torch.__version__,
            "threads": 1,
        },
    }
    RESULT_PATH.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"load: {load}\nwrote {RESULT_PATH} and {GRID_PATH}")


if __name__ == "__main__":
    main()
