"""Content hashes that key shared work: which model, which inputs.

Several supervisors in one run look at the same model on the same inputs (the feature
family shares activations, the four MC-dropout quantifiers share one set of samples). The
keys must change when the weights or the inputs change and stay equal otherwise, so they
hash content, never object identity.
"""

from __future__ import annotations

import hashlib
import itertools
import weakref

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.models.fingerprint import model_sha256

__all__ = ["model_fingerprint", "model_key", "nominal_fingerprint", "tensor_fingerprint"]

# module -> (version signature, digest). Hashing every weight on every batch would cost
# more than some of the supervisors it serves; torch bumps a tensor's ``_version`` on each
# in-place write (optimiser steps, ``load_state_dict``, batch-norm statistics), so an
# unchanged signature proves the digest is still right.
_MODEL_DIGESTS: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, str]] = (
    weakref.WeakKeyDictionary()
)


def _version_signature(module: nn.Module) -> tuple:
    return tuple(
        (name, t.data_ptr(), t._version, t.dtype, tuple(t.shape), str(t.device))
        for name, t in module.state_dict(keep_vars=True).items()
    )


def model_fingerprint(module: nn.Module) -> str:
    """:func:`~supervisor_testing.models.fingerprint.model_sha256`, recomputed only when a
    weight or buffer of ``module`` has changed since the last call."""
    signature = _version_signature(module)
    known = _MODEL_DIGESTS.get(module)
    if known is not None and known[0] == signature:
        return known[1]
    digest = model_sha256(module)
    _MODEL_DIGESTS[module] = (signature, digest)
    return digest


# module -> a number never given to another module object in this process. Two wrappers
# around the same weights (say, logits scaled by different Python-float temperatures)
# have equal state dicts; the token keeps their cached results apart.
_MODEL_TOKENS: weakref.WeakKeyDictionary[nn.Module, int] = weakref.WeakKeyDictionary()
_next_token = itertools.count()


def model_key(module: nn.Module) -> str:
    """Cache key for work done with ``module``: this object, with these weights.

    Results stay valid while the weights and buffers are unchanged; attributes outside
    the state dict (a Python-float temperature) are not seen, so changing those on the
    same object calls for :func:`~supervisor_testing.supervisors.result_cache.clear_shared_caches`.
    """
    token = _MODEL_TOKENS.get(module)
    if token is None:
        token = _MODEL_TOKENS[module] = next(_next_token)
    return f"{token}:{model_fingerprint(module)}"


def tensor_fingerprint(x: torch.Tensor) -> str:
    """sha256 over a tensor's dtype, shape and bytes."""
    if not isinstance(x, torch.Tensor):
        raise InvalidInputError(f"expected a torch.Tensor of images, got {type(x).__name__}")
    t = x.detach().to("cpu").contiguous()
    digest = hashlib.sha256(f"{t.dtype}\0{tuple(t.shape)}\0".encode())
    digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def nominal_fingerprint(nominal: object) -> str:
    """A key for nominal data: a Dataset's or Corpus's own content hash, else the tensor's."""
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

    if isinstance(nominal, Dataset):
        return f"dataset:{nominal.sha256()}"
    if isinstance(nominal, Corpus):
        return f"corpus:{nominal.sha256()}"
    if isinstance(nominal, torch.Tensor):
        return f"tensor:{tensor_fingerprint(nominal)}"
    raise TypeError(f"no fingerprint for {type(nominal).__name__}")
