"""Ambiguous inputs: AmbiGuess (Weiss, Gómez & Tonella, EMSE 2023) in PyTorch.

One regularized adversarial autoencoder per class pair, all pairs trained as one batched
model; gradient-weighted density sampling of the latent band between the two class
clusters; the discriminator as soft labeller. :func:`assess_ambiguity` measures how
ambiguous and how valid a corpus is with an independent classifier.
"""

from __future__ import annotations

from generators.ambiguous.acceptance import PairReport, passes_acceptance
from generators.ambiguous.config import PairTrainingConfig
from generators.ambiguous.density_sampler import DensitySampler
from generators.ambiguous.generator import (
    AmbiguousGenerator,
    make_ambiguous_corpus,
    sample_corpus_columns,
)
from generators.ambiguous.mixup import pixel_mixup
from generators.ambiguous.pair_model import PairAAE
from generators.ambiguous.pair_store import TrainedPairs, load_trained_pairs
from generators.ambiguous.quality import (
    AmbiguityAssessment,
    AmbiguityScores,
    ambiguity_scores,
    assess_ambiguity,
)
from generators.ambiguous.quantization import to_uint8
from generators.ambiguous.released import import_released_corpus
from generators.ambiguous.soft_labels import soft_labels
from generators.ambiguous.training import train_pair_models

__all__ = [
    "AmbiguityAssessment",
    "AmbiguityScores",
    "AmbiguousGenerator",
    "DensitySampler",
    "PairAAE",
    "PairReport",
    "PairTrainingConfig",
    "TrainedPairs",
    "ambiguity_scores",
    "assess_ambiguity",
    "import_released_corpus",
    "load_trained_pairs",
    "make_ambiguous_corpus",
    "passes_acceptance",
    "pixel_mixup",
    "sample_corpus_columns",
    "soft_labels",
    "to_uint8",
    "train_pair_models",
]

AmbiguousGenerator.__module__ = "generators.ambiguous"
