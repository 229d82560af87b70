"""Run imagecorruptions 1.1.2 on images from an .npz file, inside the peer's own venv.

The corruption benchmarks start this file with the peer environment's Python, so the
peer never shares a process (or numpy, scikit-image, OpenCV versions) with this project.
It imports only numpy, Pillow and imagecorruptions.

Set the peer up once (imagecorruptions needs ``pkg_resources``, hence setuptools < 82)::

    python3 -m venv /tmp/peer-venv
    /tmp/peer-venv/bin/pip install 'setuptools<82' imagecorruptions==1.1.2
    export IMAGECORRUPTIONS_PYTHON=/tmp/peer-venv/bin/python   # the default

imagecorruptions 1.1.2 predates numpy 2 and scikit-image 0.19+: ``fog`` uses the removed
``np.float_`` and ``glass_blur`` / ``gaussian_blur`` pass ``multichannel=True`` to
``skimage.filters.gaussian``. :func:`load_peer` patches both names before use (the alias
``np.float_ = np.float64`` and a wrapper that turns ``multichannel`` into
``channel_axis=-1``); nothing else is changed.

Usage (what the benchmarks run)::

    python imagecorruptions_worker.py IN.npz JOBS.json OUT.npz

``IN.npz`` holds ``images`` (uint8 N x H x W x C, or N x H x W for gray). ``JOBS.json`` is
a list of ``{"corruption", "severity", "seed", "limit", "budget", "direct"}`` (the last three
optional): at most ``limit`` images, stopping once ``budget`` seconds are spent (after two
images at least); ``direct`` calls the corruption function itself instead of
``corrupt()``, which refuses images under 32 px, giving it the 3-channel image
``corrupt()`` would. ``OUT.npz`` gets ``out_K`` (outputs of job K) and ``seconds_K``
(CPU time per image, ``corrupt()``'s conversions included; CPU time rather than wall time
so that other load on the machine distorts the comparison less).
"""

from __future__ import annotations

import json
import sys
import time


def load_peer():
    """Import imagecorruptions with its two incompatibilities patched."""
    import numpy as np

    if not hasattr(np, "float_"):
        np.float_ = np.float64  # removed in numpy 2; only fog's plasma map uses it
    import imagecorruptions
    from imagecorruptions import corruptions as module

    original = module.gaussian

    def gaussian(image, sigma=1, *args, multichannel=None, **kwargs):
        if multichannel:
            kwargs.setdefault("channel_axis", -1)
        return original(image, sigma, *args, **kwargs)

    module.gaussian = gaussian
    return imagecorruptions


def run_job(peer, images, job):
    import numpy as np
    from PIL import Image

    np.random.seed(job.get("seed", 0))  # the peer draws from numpy's global generator
    function = peer.corruption_dict[job["corruption"]]
    limit = min(len(images), job.get("limit") or len(images))
    budget = job.get("budget")
    outputs, seconds = [], []
    for image in images[:limit]:
        start = time.process_time()
        if job.get("direct"):
            rgb = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image
            out = np.uint8(function(Image.fromarray(rgb), job["severity"]))
        else:
            out = peer.corrupt(image, corruption_name=job["corruption"], severity=job["severity"])
        seconds.append(time.process_time() - start)
        outputs.append(out)
        if budget is not None and len(outputs) >= 2 and sum(seconds) > budget:
            break
    return np.stack(outputs), np.array(seconds)


def main() -> None:
    import numpy as np

    source, jobs_path, target = sys.argv[1:4]
    peer = load_peer()
    images = np.load(source)["images"]
    with open(jobs_path) as handle:
        jobs = json.load(handle)
    results = {}
    for index, job in enumerate(jobs):
        outputs, seconds = run_job(peer, images, job)
        results[f"out_{index}"] = outputs
        results[f"seconds_{index}"] = seconds
    np.savez(target, **results)


if __name__ == "__main__":
    main()
