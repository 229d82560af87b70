"""How nominal an input looks: its distance to nominal data in a classifier's feature space.

Validity is judged in the assessment classifier's own representation: the distance from
an input's L2-normalised penultimate features to the k-th nearest feature of the nominal
training images (deep nearest neighbours, Sun et al., ICML 2022; the suite's ``knn``
supervisor), ranked among the distances of held-out nominal images. About 50 means as
typical as nominal data, near 100 unlike anything nominal.

Why not the reconstruction error of an autoencoder of nominal data, the usual pixel-space
choice: it measures how an image is rendered rather than what it shows. On MNIST a dense
autoencoder placed the pair models' own reconstructions of real test digits at the 16th
percentile of nominal errors (smooth images are easy to reconstruct), so AmbiGuess
samples looked more nominal than the test set; a Bernoulli VAE's likelihood placed the
same reconstructions at the 91st (every grey pixel costs). The feature distance placed
them at the 49th, as nominal as the test set, and pixel mixups of two digits above
AmbiGuess samples; the assessment's ``reconstruction`` row repeats that control.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError

__all__ = ["DEFAULT_NEIGHBOURS", "FeatureValidity", "error_percentiles"]

#: The neighbour whose distance counts (the deep-kNN paper's setting).
DEFAULT_NEIGHBOURS = 50


def error_percentiles(errors: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Percentile (0..100) of each score among ``reference`` scores: the share of
    reference scores at or below it (ties count half, so nominal inputs average 50)."""
    if len(reference) == 0:
        raise InvalidInputError("error_percentiles needs at least one reference score")
    ref = np.sort(reference.double().numpy())
    e = errors.double().numpy()
    below = np.searchsorted(ref, e, side="left")
    at_or_below = np.searchsorted(ref, e, side="right")
    return torch.from_numpy(100.0 * (below + at_or_below) / (2 * len(ref)))


class FeatureValidity:
    """Percentiles of k-th-nearest-nominal-neighbour distances in ``classifier``'s features.

    Args:
        classifier: maps ``[0, 1]`` images to logits through a penultimate layer (every
            reference architecture has one).
        train: nominal images whose features form the neighbour bank.
        reference: held-out nominal images whose distances define the percentiles.
        k: which neighbour.
    """

    def __init__(
        self,
        classifier: nn.Module,
        *,
        train: Dataset,
        reference: Dataset,
        k: int = DEFAULT_NEIGHBOURS,
    ) -> None:
        from supervisor_testing.supervisors import create_supervisor

        if len(train) < k:
            raise InvalidInputError(
                f"feature validity with k={k} needs at least {k} nominal training images, "
                f"got {len(train)}"
            )
        self.knn = create_supervisor("knn", classifier, k=k).fit(train)
        self.reference_distances = self.distances(reference.images)

    def distances(self, images: torch.Tensor) -> torch.Tensor:
        """Distance of each uint8 image's features to the k-th nearest nominal one."""
        return self.knn.score(images)

    def percentiles(self, images: torch.Tensor) -> torch.Tensor:
        """float64 ``N``: each image's distance as a percentile of the reference's."""
        return error_percentiles(self.distances(images), self.reference_distances)
