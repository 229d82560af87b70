"""The noise predictor every edit calls, batched so that a sample's result never
depends on the other rows of its batch.

CPU convolution kernels handle a batch's tail rows with other code paths, so the same
image can get a noise prediction that differs in the last bits in a batch of 7 rather than
8; an edit that runs 50 such calls would then write different bytes. Every call therefore
runs in fixed blocks of :data:`ROW_BLOCK` rows, the last one padded with zeros.

The UNet runs on one intra-op thread: its kernels on small images are far too short to
split, and on a shared two-core machine (load ~12) a 32-row call on 8x8 images took
0.64 s of CPU with two threads against 0.007 s with one; the outputs are the same bits.
"""

from __future__ import annotations

import torch

from generators.diffusion.model_store import DiffusionModel
from supervisor_testing.supervisors.thread_limit import limited_threads

__all__ = ["ROW_BLOCK", "Denoiser"]

ROW_BLOCK = 32


class Denoiser:
    """``eps(x_t, t)`` of a :class:`DiffusionModel`, with its class conditioning.

    Args:
        model: the diffusion model.
        class_labels: one label per row for a class-conditional model, ``None`` to run it
            unconditionally (its null class); ignored by unconditional models.
    """

    def __init__(self, model: DiffusionModel, class_labels: torch.Tensor | None = None) -> None:
        self.model = model
        self.class_labels = class_labels if model.num_classes is not None else None

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        with limited_threads(1):
            return self._predict(x, t)

    def _predict(self, x: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        step = int(t)
        out = []
        for lo in range(0, n, ROW_BLOCK):
            block = x[lo : lo + ROW_BLOCK]
            rows = block.shape[0]
            if rows < ROW_BLOCK:
                block = torch.cat([block, block.new_zeros((ROW_BLOCK - rows, *block.shape[1:]))])
            labels = None
            if self.model.num_classes is not None:
                labels = torch.full((ROW_BLOCK,), self.model.num_classes, dtype=torch.int64)
                if self.class_labels is not None:
                    labels[:rows] = self.class_labels[lo : lo + rows]
            timesteps = torch.full((ROW_BLOCK,), step, dtype=torch.int64)
            out.append(self.model.unet(block, timesteps, class_labels=labels).sample[:rows])
        return torch.cat(out) if out else x.new_zeros(x.shape)
