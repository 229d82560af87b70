"""S stochastic forward passes of a dropout network as one replicated batch.

MC-dropout (Gal & Ghahramani, ICML 2016) needs the softmax under S random dropout masks.
Looping S Python-level forward passes repeats the deterministic part of the network S
times; here the batch is replicated S times instead, at the input of the first dropout
layer the forward pass reaches, so everything before it runs once and everything after it
runs on one ``S * n`` batch.

Masks are drawn by hooks on the dropout modules (the modules themselves stay in eval mode,
as does batch norm): sample ``s`` of every input uses mask ``s``, drawn from a generator
seeded by ``(seed, dropout call index)``. Each input therefore sees S independent masks, as
in plain MC-dropout, while its scores do not depend on which other inputs share its batch:
the same input and seed give the same samples in any batch and any chunking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError

__all__ = ["REPLICATION_MODES", "DropoutSampler", "dropout_layers"]

#: ``first-dropout`` replicates where the first dropout layer is reached (the deterministic
#: prefix runs once); ``input`` replicates the input (works for any graph); ``auto`` checks
#: once per model that ``first-dropout`` matches ``input`` and falls back otherwise.
REPLICATION_MODES = ("auto", "first-dropout", "input")

_ELEMENTWISE = (nn.Dropout,)
_CHANNELWISE = (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_UNSUPPORTED = (nn.AlphaDropout, nn.FeatureAlphaDropout)


def dropout_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's dropout modules with a positive rate, by name.

    Raises:
        InvalidInputError: the model has none (so MC-dropout cannot sample anything), or
            uses alpha dropout, whose masks are not a plain rescaled Bernoulli.
    """
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, _ELEMENTWISE + _CHANNELWISE)]
    alpha = [n for n, m in model.named_modules() if isinstance(m, _UNSUPPORTED)]
    if alpha:
        raise InvalidInputError(
            f"MC-dropout does not support alpha dropout (layers {', '.join(alpha)})"
        )
    active = [(n, m) for n, m in found if m.p > 0]
    if not active:
        what = "only dropout layers with p=0" if found else "no dropout layers"
        raise InvalidInputError(
            f"model {type(model).__name__} has {what} (nn.Dropout, nn.Dropout1d/2d/3d), so "
            "MC-dropout has nothing to sample; use a model trained with dropout or a "
            "deep-ensemble-* supervisor"
        )
    return active


def _mask_seed(seed: int, call: int) -> int:
    return int(np.random.SeedSequence([seed, call]).generate_state(1, dtype=np.uint64)[0] >> 1)


class DropoutSampler:
    """Softmax outputs of ``model`` under ``samples`` dropout masks.

    Args:
        model: a classifier with at least one dropout layer.
        samples: number of masks S.
        seed: seeds every mask; the same seed gives the same samples.
        replicate: one of :data:`REPLICATION_MODES`.
        max_rows: rows per replicated forward pass (``S * inputs``); inputs are chunked so
            that a pass stays within it, which bounds memory.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        samples: int,
        seed: int,
        replicate: str = "auto",
        max_rows: int = 8192,
    ) -> None:
        if samples < 1:
            raise InvalidInputError(f"samples must be positive, got {samples}")
        if replicate not in REPLICATION_MODES:
            raise InvalidInputError(
                f"replicate must be one of {REPLICATION_MODES}, got {replicate!r}"
            )
        if max_rows < 1:
            raise InvalidInputError(f"max_rows must be positive, got {max_rows}")
        self.model = model
        self.layers = dropout_layers(model)
        self.samples = int(samples)
        self.seed = int(seed)
        self.replicate = replicate
        self.max_rows = int(max_rows)
        self._resolved: str | None = None if replicate == "auto" else replicate
        self._masks: dict[tuple[int, tuple[int, ...], str, str], torch.Tensor] = {}

    def _mask(self, call: int, module: nn.Module, shape: torch.Size, like: torch.Tensor):
        """``S x shape`` keep-masks scaled by ``1 / (1 - p)``, cached per call and shape."""
        channelwise = isinstance(module, _CHANNELWISE)
        mask_shape = (shape[0], *([1] * (len(shape) - 1))) if channelwise else tuple(shape)
        key = (call, mask_shape, str(like.dtype), str(like.device))
        mask = self._masks.get(key)
        if mask is None:
            generator = torch.Generator().manual_seed(_mask_seed(self.seed, call))
            keep = torch.rand((self.samples, *mask_shape), generator=generator) >= module.p
            mask = (keep.to(like.dtype) / (1.0 - module.p)).to(like.device)
            if mask.numel() <= (1 << 24):  # keep masks up to 64 MiB for the next batch
                self._masks[key] = mask
        return mask

    def _run(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """Logits ``S x n x K`` for one chunk, replicating in ``mode``."""
        s, n = self.samples, len(x)
        state = {"call": 0, "replicated": mode == "input"}
        handles = []

        def make_hook(module: nn.Module) -> Callable[..., Any]:
            def hook(_m: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
                inp = args[0]
                if not state["replicated"]:
                    inp = inp.unsqueeze(0).expand(s, *inp.shape).reshape(s * n, *inp.shape[1:])
                    state["replicated"] = True
                elif inp.shape[0] != s * n:
                    raise _ReplicationMismatch
                call = state["call"]
                state["call"] += 1
                mask = self._mask(call, module, inp.shape[1:], inp)
                out = inp.reshape(s, n, *inp.shape[1:]) * mask.unsqueeze(1)
                return out.reshape(s * n, *inp.shape[1:])

            return hook

        for _, module in self.layers:
            handles.append(module.register_forward_hook(make_hook(module)))
        try:
            if mode == "input":
                x = x.unsqueeze(0).expand(s, *x.shape).reshape(s * n, *x.shape[1:])
            out = self.model(x)
        finally:
            for handle in handles:
                handle.remove()
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != s * n:
            raise _ReplicationMismatch
        if state["call"] == 0:
            raise InvalidInputError(
                "no dropout layer ran during the forward pass; MC-dropout has nothing to sample"
            )
        return out.reshape(s, n, -1)

    def _resolve_mode(self, x: torch.Tensor) -> str:
        """Check ``first-dropout`` against ``input`` on two inputs; remember the answer."""
        if self._resolved is None:
            probe = x[:2] if len(x) >= 2 else x[:1].expand(2, *x.shape[1:])
            try:
                fast = self._run(probe, "first-dropout").softmax(dim=2)
                slow = self._run(probe, "input").softmax(dim=2)
                same = torch.allclose(fast, slow, atol=1e-4, rtol=1e-3)
            except (_ReplicationMismatch, RuntimeError):
                same = False
            self._resolved = "first-dropout" if same else "input"
        return self._resolved

    @torch.no_grad()
    def sample_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities ``S x N x K`` for float inputs ``x`` on the model's device."""
        was_training = self.model.training
        self.model.eval()  # batch norm in eval; dropout applied by the hooks
        try:
            mode = self._resolve_mode(x)
            per_chunk = max(1, self.max_rows // self.samples)
            parts = []
            for chunk in x.split(per_chunk):
                try:
                    logits = self._run(chunk, mode)
                except _ReplicationMismatch:
                    if mode == "input":
                        raise InvalidInputError(
                            "the model's output is not one row of logits per input"
                        ) from None
                    self._resolved = mode = "input"
                    logits = self._run(chunk, mode)
                parts.append(logits.float().softmax(dim=2))
        finally:
            self.model.train(was_training)
        return torch.cat(parts, dim=1)


class _ReplicationMismatch(Exception):
    """Replication at the first dropout does not carry through this model's graph."""
