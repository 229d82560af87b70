"""Model calls whose per-row results do not depend on how rows are batched.

CPU GEMM and convolution kernels work on blocks of rows and compute a batch's tail rows
with other kernels, so the same image can get logits that differ in the last bits when it
sits in a batch of 7 rather than 8 (measured: up to 4e-6 in the reference CNN's logits,
while batches that were multiples of 8 agreed to the bit). An attack that shrinks its set
of unfinished inputs at every epsilon, or a caller that changes the batch size, would
then see different gradient signs near zero and write other bytes. Padding every call
with zero rows to a whole number of blocks puts every real row in a full block: with it,
the reference CNN's (MNIST) and MLP's (digits) logits and input gradients were
bit-identical for every batch size tried (1 to 20, 31, 33, 40, 64, 100).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ROW_BLOCK", "input_gradient", "logits_of", "pad_rows", "predict_labels"]

#: Rows per call are rounded up to a multiple of this (a multiple of the 8- and 16-row
#: blocks of AVX2 / AVX-512 kernels).
ROW_BLOCK = 32


def pad_rows(x: torch.Tensor) -> torch.Tensor:
    """``x`` followed by zero rows up to a multiple of :data:`ROW_BLOCK` rows."""
    extra = -x.shape[0] % ROW_BLOCK
    if not extra:
        return x
    return torch.cat([x, x.new_zeros((extra, *x.shape[1:]))])


@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits of float images ``x`` in ``[0, 1]``, computed on padded rows."""
    return model(pad_rows(x))[: x.shape[0]]


def predict_labels(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Arg-max class of each float image in ``x``."""
    return logits_of(model, x).argmax(dim=1)


def input_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Gradient of the summed cross-entropy with respect to ``x`` (the ascent direction
    of an untargeted attack); the model's parameters get no gradient."""
    padded = pad_rows(x.detach()).requires_grad_(True)
    loss = F.cross_entropy(model(padded)[: x.shape[0]], labels, reduction="sum")
    (gradient,) = torch.autograd.grad(loss, padded)
    return gradient[: x.shape[0]]
