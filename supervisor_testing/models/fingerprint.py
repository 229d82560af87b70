"""A content hash of a model's weights, so a baseline can tell which model it describes.

Baselines and gate reports record it: a regression check against numbers measured on
other weights would compare two different classifiers and mean nothing.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

__all__ = ["model_sha256"]


def model_sha256(module: nn.Module) -> str:
    """sha256 over ``module.state_dict()``: every entry's name, dtype, shape and raw bytes.

    Entries are hashed in sorted-name order, so the digest depends only on the weights,
    not on the order the submodules were defined in or on the device they live on; the
    same weights saved and loaded give the same digest.

    Example:
        >>> layer = nn.Linear(2, 2)
        >>> copy = nn.Linear(2, 2)
        >>> _ = copy.load_state_dict(layer.state_dict())
        >>> model_sha256(copy) == model_sha256(layer)
        True
    """
    digest = hashlib.sha256()
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        # The header separates entries unambiguously: a name, dtype and shape can never
        # run into the next entry's bytes.
        header = f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0{tensor.numel()}\0"
        digest.update(header.encode("utf-8"))
        # Viewing as bytes covers every dtype, bfloat16 included, which numpy cannot hold.
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
