"""Adam over stacked per-pair parameters that steps only the pairs that had a batch.

Pairs hold different numbers of images, so within an epoch some pairs run out of batches
before others. ``torch.optim.Adam`` would still move an idle pair (its momentum keeps
going even with a zero gradient) and advance its bias correction; this optimiser keeps
one step count per pair and leaves idle pairs exactly as they were, so every pair follows
the schedule it would follow if trained alone. No library optimiser masks slices of a
parameter, hence this small hand-written one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["MaskedAdam"]


class MaskedAdam:
    """Adam (Kingma & Ba) in Keras's formulation, with per-pair steps.

    Every parameter's first dimension indexes pairs. The update is Keras's:
    ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)`` and ``w -= lr_t * m / (sqrt(v) + eps)``.
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        *,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
    ) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("MaskedAdam needs at least one parameter")
        self.pairs = int(self.params[0].shape[0])
        self.lr, self.betas, self.eps = lr, betas, eps
        self.steps = torch.zeros(self.pairs, dtype=torch.float64)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: torch.Tensor) -> None:
        """Apply ``grads`` to the pairs where ``active`` (bool ``P``) is true."""
        beta1, beta2 = self.betas
        everyone = bool(active.all())
        self.steps += active.to(torch.float64)
        t = self.steps.clamp(min=1)
        lr_t = self.lr * torch.sqrt(1 - beta2**t) / (1 - beta1**t)
        # Until some pair has idled, every pair shares one step count and so one rate.
        shared = everyone and bool((self.steps == self.steps[0]).all())
        for param, grad, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            shape = (self.pairs,) + (1,) * (param.ndim - 1)
            if everyone:
                m.lerp_(grad, 1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            else:
                mask = active.view(shape)
                m.copy_(torch.where(mask, m.lerp(grad, 1 - beta1), m))
                v.copy_(torch.where(mask, v * beta2 + grad * grad * (1 - beta2), v))
            denom = v.sqrt().add_(self.eps)
            if shared:
                param.addcdiv_(m, denom, value=-float(lr_t[0]))
                continue
            # A per-pair rate cannot be addcdiv_'s scalar: fold it into the denominator.
            # Idle pairs get an infinite denominator, i.e. no update.
            rate = torch.where(active, lr_t, torch.zeros_like(lr_t)).to(param.dtype)
            param.addcdiv_(m, denom.div_(rate.view(shape)), value=-1)
