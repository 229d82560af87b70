"""Resumable training checkpoints: weights, EMA and optimiser state without pickle.

Tensors go into one safetensors file and the scalars into JSON, so a checkpoint is as safe
to open as a corpus. Batch order and noise are derived from (seed, step), so the step
count is all the random state a resumed run needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from supervisor_testing.atomic import atomic_directory

__all__ = ["load_checkpoint", "save_checkpoint"]

_TENSORS = "checkpoint.safetensors"
_STATE = "state.json"


def save_checkpoint(
    directory: Path,
    *,
    unet: torch.nn.Module,
    ema: Any,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
) -> None:
    """Write the checkpoint atomically, replacing any earlier one."""
    tensors: dict[str, torch.Tensor] = {
        f"unet.{k}": v.detach().contiguous() for k, v in unet.state_dict().items()
    }
    ema_state = ema.state_dict()
    for i, shadow in enumerate(ema_state.pop("shadow_params")):
        tensors[f"ema.{i}"] = shadow.detach().contiguous()
    for i, slot in optimizer.state_dict()["state"].items():
        for name, value in slot.items():
            tensors[f"opt.{i}.{name}"] = torch.as_tensor(value).detach().contiguous()
    with atomic_directory(directory) as staging:
        save_file(tensors, str(staging / _TENSORS))
        record = {"state": state, "ema": ema_state}
        (staging / _STATE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def load_checkpoint(
    directory: Path, *, unet: torch.nn.Module, ema: Any, optimizer: torch.optim.Optimizer
) -> dict[str, Any] | None:
    """Restore a checkpoint into the given objects; its state dict, or ``None`` if absent."""
    if not (directory / _STATE).is_file() or not (directory / _TENSORS).is_file():
        return None
    record = json.loads((directory / _STATE).read_text())
    tensors = load_file(str(directory / _TENSORS))
    unet.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("unet.")})
    ema_state = dict(record["ema"])
    count = sum(1 for k in tensors if k.startswith("ema."))
    ema_state["shadow_params"] = [tensors[f"ema.{i}"] for i in range(count)]
    ema.load_state_dict(ema_state)
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            slots.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict(
        {"state": slots, "param_groups": optimizer.state_dict()["param_groups"]}
    )
    return record["state"]
