"""The discriminator as labeller: how much a latent point belongs to each class.

The discriminator was trained to tell prior samples of class ``c`` (``[z, onehot(c)]``)
from encoded images; asked about the same ``z`` under both classes of its pair, its two
logits say which class's prior cluster ``z`` is closer to in the learnt sense. Their
softmax is the soft label, exactly as in the reference implementation.
"""

from __future__ import annotations

import torch

from generators.ambiguous.pair_model import PairAAE

__all__ = ["soft_labels"]


@torch.no_grad()
def soft_labels(model: PairAAE, z: torch.Tensor) -> torch.Tensor:
    """``P x B x 2`` probabilities ``softmax(D([z, onehot(c1)]), D([z, onehot(c2)]))``.

    Args:
        model: the pair models (dropout is off: inference).
        z: latent points ``P x B x 2``, one row of points per pair.
    """
    pairs, width = int(z.shape[0]), int(z.shape[1])
    first = model.classes[:, 0:1].expand(pairs, width)
    second = model.classes[:, 1:2].expand(pairs, width)
    logits = torch.stack([model.discriminate(z, first), model.discriminate(z, second)], dim=-1)
    return torch.softmax(logits, dim=-1)
