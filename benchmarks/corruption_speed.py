"""Corruption speed: ours against imagecorruptions 1.1.2, same images, same script.

Run from the repository root (the peer runs in its own venv, see
``benchmarks/peers/imagecorruptions_worker.py``; without it only our column is filled)::

    python benchmarks/corruption_speed.py [--quick]

For each of the 19 ImageNet-C corruptions at severity 3 and at 28 px (MNIST digits, gray),
32 px and 224 px (RGB), both implementations corrupt the same images with the same
ImageNet-C parameter values (``table="imagenet-c"``; the peer has no other table), each on
one thread. Both are timed in CPU seconds of their own process (``time.process_time``),
which other load on a shared machine disturbs far less than wall time: ours as the
generator runs it (cache-sized chunks, best of three), the peer per image through
``corrupt()`` in a loop (summed over the images it got through in its time budget). At
28 px the peer's ``corrupt()`` refuses the size, so its function is called directly on the
3-channel image ``corrupt()`` would build; ours stays gray. Prints images per CPU second
and the ratio per corruption, the median ratio per size and the peak resident memory of
both processes, and writes ``benchmarks/results/corruption_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:  # a script run from a checkout, not an installed package
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from corruption_peer import mnist_images, peer_python, run_peer, smooth_images  # noqa: E402

from generators.corruptions import corrupt, list_corruptions  # noqa: E402
from generators.corruptions.generator import _CHUNK_VALUES  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "corruption_speed.json"
SEVERITY = 3
TARGETS = {"32 px median": 10.0, "224 px median": 3.0, "glass_blur, every size": 100.0}


def ours_rate(images: np.ndarray, name: str, *, repeats: int) -> float:
    """Images per CPU second of ``corrupt`` over cache-sized chunks, best of ``repeats``."""
    batch = torch.from_numpy(images)
    chunk = max(1, _CHUNK_VALUES // int(np.prod(images.shape[1:])))
    corrupt(batch[:2], name, severity=SEVERITY, table="imagenet-c")  # build caches
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for first in range(0, len(batch), chunk):
            part = batch[first : first + chunk]
            corrupt(part, name, severity=SEVERITY, table="imagenet-c",
                    indices=range(first, first + len(part)))  # fmt: skip
        best = min(best, time.process_time() - start)
    return len(batch) / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer images, shorter budgets")
    args = parser.parse_args()
    torch.set_num_threads(1)
    python = peer_python()
    counts = {28: 256, 32: 256, 224: 16} if args.quick else {28: 1024, 32: 1024, 224: 48}
    budget = {28: 1.0, 32: 1.0, 224: 3.0} if args.quick else {28: 2.0, 32: 2.0, 224: 6.0}
    names = list_corruptions("imagenet-c", "all")
    sizes = {
        28: mnist_images(counts[28]),
        32: smooth_images(counts[32], 3, 32, seed=32),
        224: smooth_images(counts[224], 3, 224, seed=224),
    }
    rows: list[dict[str, Any]] = []
    for size, images in sizes.items():
        peer = [None] * len(names)
        if python is not None:
            jobs = [
                {"corruption": name, "severity": SEVERITY, "budget": budget[size],
                 "direct": size < 32, "limit": 1 + len(images)}
                for name in names
            ]  # fmt: skip
            # One warm-up image first so that imports and file reads are not timed.
            warm = np.concatenate([images[:1], images])
            peer = run_peer(python, warm, jobs)
        for index, name in enumerate(names):
            ours = ours_rate(images, name, repeats=3)
            row: dict[str, Any] = {"size": size, "corruption": name, "ours_per_s": ours}
            if peer[index] is not None:
                seconds = peer[index]["seconds"][1:]
                row["peer_per_s"] = len(seconds) / float(seconds.sum())
                row["peer_images"] = len(seconds)
                row["ratio"] = ours / row["peer_per_s"]
            rows.append(row)
            shown = f"{row['peer_per_s']:10.1f} {row['ratio']:8.1f}x" if "ratio" in row else ""
            print(f"{size:4d} px  {name:18s} ours {ours:10.1f}/s  peer {shown}", flush=True)

    ours_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peer_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = {}
    print(f"\n{'size':>6} {'corruption':<18} {'ours img/s':>11} {'peer img/s':>11} {'ratio':>8}")
    for row in rows:
        peer_text = f"{row['peer_per_s']:11.1f} {row['ratio']:7.1f}x" if "ratio" in row else ""
        print(f"{row['size']:>4} px {row['corruption']:<18} {row['ours_per_s']:11.1f} {peer_text}")
    for size in sizes:
        ratios = [r["ratio"] for r in rows if r["size"] == size and "ratio" in r]
        if ratios:
            glass = next(
                r["ratio"] for r in rows if r["size"] == size and r["corruption"] == "glass_blur"
            )
            summary[f"{size} px"] = {
                "median_ratio": statistics.median(ratios),
                "min_ratio": min(ratios),
                "glass_blur_ratio": glass,
            }
            print(f"{size:>4} px: median ratio {statistics.median(ratios):.1f}x, "
                  f"glass_blur {glass:.0f}x")  # fmt: skip
    print(f"peak RSS: ours {ours_peak:.0f} MiB, peer worker {peer_peak:.0f} MiB")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    result = {
        "benchmark": "corruption_speed",
        "severity": SEVERITY,
        "table": "imagenet-c",
        "threads": 1,
        "images": {str(k): len(v) for k, v in sizes.items()},
        "rows": rows,
        "summary": summary,
        "targets": TARGETS,
        "peak_rss_mib": {"ours": ours_peak, "peer": peer_peak if python else None},
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "peer": "imagecorruptions 1.1.2" if python else None,
            "machine": platform.machine(),
            "load_average": load,
            "uname": subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip(),
        },
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULT_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
