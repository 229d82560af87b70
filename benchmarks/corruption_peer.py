"""Shared by the corruption benchmarks: test images and the imagecorruptions peer.

Not a benchmark itself (running it prints where the peer is looked for). The peer runs in
its own virtual environment through ``peers/imagecorruptions_worker.py``; see that file
for the two-line setup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "benchmarks" / "peers" / "imagecorruptions_worker.py"
PEER_ENV = "IMAGECORRUPTIONS_PYTHON"
DEFAULT_PEER = "/tmp/peer-venv/bin/python"


def peer_python() -> str | None:
    """The peer environment's interpreter, or None (with setup instructions printed)."""
    python = os.environ.get(PEER_ENV, DEFAULT_PEER)
    if Path(python).exists():
        probe = subprocess.run([python, "-c", "import imagecorruptions"], capture_output=True)
        if probe.returncode == 0:
            return python
    print(
        f"imagecorruptions not found at {python} (set ${PEER_ENV}); the peer columns stay "
        f"empty. Set it up with:\n  python3 -m venv /tmp/peer-venv\n  /tmp/peer-venv/bin/pip "
        f"install 'setuptools<82' imagecorruptions==1.1.2",
        file=sys.stderr,
    )
    return None


def run_peer(python: str, images: np.ndarray, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``jobs`` on ``images`` (N x C x H x W uint8) in the peer; one result per job with
    ``images`` (N x C x H x W) and ``seconds`` (per image)."""
    hwc = images.transpose(0, 2, 3, 1)
    if hwc.shape[-1] == 1:
        hwc = hwc[..., 0]
    with tempfile.TemporaryDirectory() as scratch:
        source, jobs_path, target = (Path(scratch) / n for n in ("in.npz", "jobs.json", "o.npz"))
        np.savez(source, images=hwc)
        jobs_path.write_text(json.dumps(jobs))
        subprocess.run([python, str(WORKER), str(source), str(jobs_path), str(target)], check=True)
        with np.load(target) as data:
            results = []
            for index in range(len(jobs)):
                out = data[f"out_{index}"]
                out = out[..., None] if out.ndim == 3 else out
                results.append(
                    {"images": out.transpose(0, 3, 1, 2), "seconds": data[f"seconds_{index}"]}
                )
    return results


def smooth_images(n: int, channels: int, size: int, *, seed: int) -> np.ndarray:
    """Photo-like test images (no photo data set ships here): bicubically enlarged 4 x 4
    and 16 x 16 noise plus fine texture, mid-range levels; uint8 N x C x H x W."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, channels, size, size)
    for cells, weight in ((4, 0.55), (16, 0.2)):
        coarse = torch.rand(n, channels, cells, cells, generator=generator)
        out += weight * torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic")
    out += 0.12 * torch.rand(n, channels, size, size, generator=generator)
    return (out.clamp(0, 1) * 235 + 10).to(torch.uint8).numpy()


def mnist_images(n: int) -> np.ndarray:
    """MNIST test digits when the data set is available, else smooth gray images."""
    try:
        from supervisor_testing.data import load_dataset

        return load_dataset("mnist", "test").images[:n].numpy()
    except Exception:
        return smooth_images(n, 1, 28, seed=28)


if __name__ == "__main__":
    print(peer_python() or "no peer")
