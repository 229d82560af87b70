"""Every hyper-parameter of the pair models: one frozen record that also keys their cache."""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

from supervisor_testing.errors import InvalidInputError

__all__ = ["DISC_ACCURACY_MEASURES", "LATENT_DIM", "PairTrainingConfig"]

#: The latent space is 2-d: the density sampler lays a grid over it, and two axes are enough
#: to place two class clusters with an ambiguous band between them.
LATENT_DIM = 2
#: The real/fake accuracies training records; ``disc_accuracy_measure`` picks one.
DISC_ACCURACY_MEASURES = ("reference", "last-epoch")


@dataclass(frozen=True)
class PairTrainingConfig:
    """How one regularized adversarial autoencoder per class pair is trained and accepted.

    The defaults are those of the AmbiGuess reference implementation (Weiss, Gómez &
    Tonella, EMSE 2023). Adam's ``eps`` is Keras's default, which that implementation used.

    Attributes:
        hidden_dim: width of the two hidden layers of encoder, decoder and discriminator.
        dropout: dropout after each hidden layer (all three networks, training only).
        negative_slope: LeakyReLU slope (Keras's default of 0.3).
        learning_rate: Adam learning rate of each of the three optimisers.
        adam_eps: Adam's epsilon.
        batch_size: images per step (the last batch of an epoch may be smaller).
        epochs: passes over the pair's training images.
        prior_mean: the prior of the first class is ``N((-m, 0), s²I)``, of the second
            ``N((+m, 0), s²I)``; the ambiguous band lies between them on axis 0.
        prior_std: ``s`` above.
        disc_accuracy_range: a model is kept only if the discriminator's real/fake accuracy
            over the last epoch lies strictly inside this open interval (it neither wins
            nor loses the adversarial game).
        min_class_accuracy: ... and if the discriminator, used as the two-class labeller,
            classifies at least this fraction of the pair's training images correctly.
        disc_accuracy_measure: which real/fake accuracy the window applies to.
            ``"last-epoch"``: the accuracy over the last epoch alone, logits thresholded
            at 0 (probability 0.5), as the rule is stated. ``"reference"``: the figure the
            reference implementation tested, a running accuracy over all of training (its
            Keras metric was never reset) with logits thresholded at 0.5, averaged over
            the last epoch's batches. Both are recorded in every pair's report.
        max_tries: retrain a rejected pair with a fresh seed at most this many times in all.
    """

    hidden_dim: int = 128
    dropout: float = 0.1
    negative_slope: float = 0.3
    learning_rate: float = 1e-3
    adam_eps: float = 1e-7
    batch_size: int = 1000
    epochs: int = 80
    prior_mean: float = 3.0
    prior_std: float = 1.0
    disc_accuracy_range: tuple[float, float] = (0.4, 0.6)
    min_class_accuracy: float = 0.9
    disc_accuracy_measure: str = "last-epoch"
    max_tries: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "disc_accuracy_range", tuple(self.disc_accuracy_range))
        problems = []
        for name in ("hidden_dim", "batch_size", "epochs", "max_tries"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a positive int, got {value!r}")
        for name in ("learning_rate", "adam_eps", "prior_mean", "prior_std"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                problems.append(f"{name} must be a positive number, got {value!r}")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if not 0 <= self.negative_slope < 1:
            problems.append(f"negative_slope must lie in [0, 1), got {self.negative_slope!r}")
        low_high = self.disc_accuracy_range
        if len(low_high) != 2 or not 0 <= low_high[0] < low_high[1] <= 1:
            problems.append(
                f"disc_accuracy_range must be [low, high] with 0 <= low < high <= 1, "
                f"got {list(low_high)!r}"
            )
        if not 0 <= self.min_class_accuracy <= 1:
            problems.append(
                f"min_class_accuracy must lie in [0, 1], got {self.min_class_accuracy!r}"
            )
        if self.disc_accuracy_measure not in DISC_ACCURACY_MEASURES:
            problems.append(
                f"disc_accuracy_measure must be one of {', '.join(DISC_ACCURACY_MEASURES)}, "
                f"got {self.disc_accuracy_measure!r}"
            )
        if problems:
            raise InvalidInputError("invalid pair-model config: " + "; ".join(problems))

    @property
    def prior_means(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The two class means in latent space: first class, then second class."""
        return (-float(self.prior_mean), 0.0), (float(self.prior_mean), 0.0)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["disc_accuracy_range"] = list(self.disc_accuracy_range)
        if self.disc_accuracy_measure == "last-epoch":
            # The rule before the option existed: leaving it out keeps the cache keys of
            # models trained then valid.
            del out["disc_accuracy_measure"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairTrainingConfig:
        """Rebuild from :meth:`to_dict`; unknown keys warn, missing keys take defaults."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            warnings.warn(
                f"ignoring unknown pair-model option(s) {', '.join(unknown)}", stacklevel=2
            )
        return cls(**{k: v for k, v in data.items() if k in fields})
