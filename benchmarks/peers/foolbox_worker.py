"""Run foolbox 3.3.4 L-inf attacks over an epsilon ladder, inside foolbox's own venv.

``benchmarks/adversarial_reference.py`` starts this file with the peer environment's
Python, so foolbox, eagerpy and their numpy never share a process with this project. The
model is rebuilt from this repository's architecture code (which needs only torch) and
the weights in the input file; nothing is pickled.

Set the peer up once (torch comes from the local wheel directory)::

    python3 -m venv /tmp/peer-venv-foolbox
    /tmp/peer-venv-foolbox/bin/pip install torch==2.13.0 foolbox==3.3.4 eagerpy
    export FOOLBOX_PYTHON=/tmp/peer-venv-foolbox/bin/python   # the default

Usage::

    python foolbox_worker.py IN.npz JOBS.json OUT.npz

``IN.npz`` holds ``images`` (float32 N x C x H x W in [0, 1]), ``labels`` (int64 N) and
``weight/<name>`` arrays (the model's state dict); ``JOBS.json`` is
``{"arch", "num_classes", "epsilons", "jobs": [{"attack", "settings", "seed"}]}``.
``OUT.npz`` gets ``success_K`` (bool, len(epsilons) x N: foolbox's verdict on the
clipped adversarial at each epsilon) and ``seconds_K`` (CPU seconds) for job K.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(source: str, jobs_path: str, target: str) -> None:
    import foolbox as fb
    import numpy as np
    import torch

    sys.path.insert(0, str(REPO))
    from supervisor_testing.models.networks import build_model

    torch.set_num_threads(1)
    spec = json.loads(Path(jobs_path).read_text())
    with np.load(source) as data:
        images = torch.from_numpy(data["images"])
        labels = torch.from_numpy(data["labels"])
        state = {
            key.removeprefix("weight/"): torch.from_numpy(data[key])
            for key in data
            if key.startswith("weight/")
        }
    model = build_model(
        spec["arch"],
        in_channels=images.shape[1],
        image_size=tuple(images.shape[2:]),
        num_classes=spec["num_classes"],
    )
    model.load_state_dict(state)
    model.eval()
    fmodel = fb.PyTorchModel(model, bounds=(0, 1))
    classes = {
        "fgsm": fb.attacks.LinfFastGradientAttack,
        "pgd": fb.attacks.LinfPGD,
        "bim": fb.attacks.LinfBasicIterativeAttack,
        "deepfool": fb.attacks.LinfDeepFoolAttack,
    }
    out = {}
    for index, job in enumerate(spec["jobs"]):
        torch.manual_seed(job.get("seed", 0))
        attack = classes[job["attack"]](**job.get("settings", {}))
        start = time.process_time()
        _, _, success = attack(fmodel, images, labels, epsilons=spec["epsilons"])
        out[f"seconds_{index}"] = np.array(time.process_time() - start)
        out[f"success_{index}"] = success.numpy()
    np.savez(target, **out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
