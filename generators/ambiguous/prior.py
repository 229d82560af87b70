"""The label-conditioned prior that the encoder is pushed towards.

Class one of a pair is drawn to ``N((-m, 0), s²I)`` and class two to ``N((+m, 0), s²I)``:
two clusters on axis 0 with a band between them where the decoder must blend the classes.
That band is where the density sampler looks for ambiguous points.
"""

from __future__ import annotations

import torch

from generators.ambiguous.config import LATENT_DIM, PairTrainingConfig

__all__ = ["prior_means", "sample_prior"]


def prior_means(config: PairTrainingConfig) -> torch.Tensor:
    """``2 x 2`` float32: row 0 the first class's mean, row 1 the second's."""
    return torch.tensor(config.prior_means, dtype=torch.float32)


def sample_prior(
    batch_sizes: torch.Tensor,
    classes: torch.Tensor,
    config: PairTrainingConfig,
    *,
    width: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one padded batch of prior samples per pair.

    As in the reference implementation, the first ``b // 2`` rows of a pair's batch of
    ``b`` come from the first class's Gaussian and the rest from the second's, whatever
    the classes of the images in that batch. Rows at or beyond ``b`` are padding.

    Args:
        batch_sizes: int64 ``P``: real rows per pair.
        classes: int64 ``P x 2``: the pair's two class indices.
        width: padded batch width (at least ``batch_sizes.max()``).
        generator: the only source of randomness.

    Returns:
        ``z`` float32 ``P x width x 2`` and the class index of each row, int64 ``P x width``.
    """
    pairs = int(batch_sizes.shape[0])
    noise = torch.randn((pairs, width, LATENT_DIM), generator=generator)
    rows = torch.arange(width)
    second = rows[None, :] >= (batch_sizes // 2)[:, None]  # P x width
    means = prior_means(config)[second.long()]  # P x width x 2
    labels = torch.where(second, classes[:, 1:2], classes[:, 0:1])
    return noise * config.prior_std + means, labels
