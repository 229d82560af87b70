"""An optional second opinion on each ambiguous sample, from a classifier of its own.

AmbiGuess trusts the pair model's discriminator as labeller, and a 2-d decoder renders
some points of the ambiguous band as a third class or as a smudge. The filter asks an
independent classifier, trained on the same nominal data, two questions per sample and
keeps it only if both answers are yes:

* **Is it ambiguous between exactly these two classes?** The classifier's two most
  probable classes must be the pair.
* **Does it look like the data?** The k-th-nearest-neighbour distance of its features to
  the nominal images' (the assessment's validity figure) must not exceed a percentile of
  held-out nominal images' distances.

On MNIST, with ``mlp`` as the filter, the cnn assessor's top-pair accuracy rose from 0.33
to 0.65 and the validity percentile fell from 80 to 69 (nominal: 50); see
``benchmarks/ambiguity_quality.py``. The filter is off by default (the published
technique has none) and must not be the classifier that later assesses the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from generators.ambiguous.validity import DEFAULT_NEIGHBOURS, FeatureValidity
from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from torch import nn

    from supervisor_testing.data.dataset import Dataset

__all__ = ["HELD_OUT_EVERY", "QualityFilter", "check_filter_params"]

#: Every this-many-th source image is held out of the neighbour bank to set the validity
#: percentiles (the source is the training split; it has no held-out part of its own).
HELD_OUT_EVERY = 10


def check_filter_params(arch: Any, seed: Any, max_validity: Any) -> None:
    """Validate the generator's ``filter_*`` parameters (``arch`` ``None``: no filter)."""
    from supervisor_testing.models import list_architectures

    if arch is not None and arch not in list_architectures():
        raise InvalidInputError(
            f"filter_arch must be a reference architecture ({', '.join(list_architectures())})"
            f" or absent for no filter, got {arch!r}"
        )
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"filter_seed must be a non-negative int, got {seed!r}")
    if (
        not isinstance(max_validity, (int, float))
        or isinstance(max_validity, bool)
        or not 0 < float(max_validity) <= 100
    ):
        raise InvalidInputError(
            f"filter_max_validity must be a percentile in (0, 100] (100 keeps every "
            f"sample whose top two classes are the pair), got {max_validity!r}"
        )


@dataclass(frozen=True)
class QualityFilter:
    """Keeps samples whose top-2 classes are their pair and whose validity percentile
    under ``classifier`` is at most ``max_validity``."""

    classifier: nn.Module
    validity: FeatureValidity
    max_validity: float

    @classmethod
    def train(
        cls,
        source: Dataset,
        *,
        arch: str,
        seed: int,
        max_validity: float,
        neighbours: int = DEFAULT_NEIGHBOURS,
    ) -> QualityFilter:
        """Train (or load from the cache) ``arch`` on ``source`` and build its validity
        bank; every :data:`HELD_OUT_EVERY`-th image sets the percentiles."""
        from supervisor_testing.models import train_model

        check_filter_params(arch, seed, max_validity)
        classifier = train_model(source, arch, seed=seed).module.eval()
        index = np.arange(len(source))
        held_out = torch.from_numpy(index[index % HELD_OUT_EVERY == 0])
        bank = torch.from_numpy(index[index % HELD_OUT_EVERY != 0])
        validity = FeatureValidity(
            classifier, train=source.subset(bank), reference=source.subset(held_out), k=neighbours
        )
        return cls(classifier, validity, float(max_validity))

    @torch.no_grad()
    def keep(self, images: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """bool ``N``: which uint8 ``N x C x H x W`` images pass, given their int64
        ``N x 2`` class pairs."""
        if len(images) == 0:
            return torch.zeros(0, dtype=torch.bool)
        logits = torch.cat([self.classifier(x.float() / 255.0) for x in images.split(1024)])
        top2 = logits.topk(2, dim=1).indices.sort(dim=1).values
        keep = (top2 == pairs.sort(dim=1).values).all(dim=1)
        # the neighbour search is the costly part: only for samples still in the running
        candidates = torch.nonzero(keep).squeeze(1)
        if len(candidates):
            percentiles = self.validity.percentiles(images[candidates])
            keep[candidates] = percentiles <= self.max_validity
        return keep
