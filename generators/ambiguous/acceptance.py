"""When a trained pair model is good enough to sample from.

A regularized AAE is useful only if its adversarial game ended in a draw (the encoder's
codes look like the prior, so the latent space has the intended two-cluster layout) and
its discriminator separates the two classes (it is the labeller). The reference
implementation discards a model failing either test and retrains with a new seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generators.ambiguous.config import PairTrainingConfig

__all__ = ["PairReport", "passes_acceptance"]


def passes_acceptance(
    disc_accuracy: float, class_accuracy: float, config: PairTrainingConfig
) -> bool:
    """``low < disc_accuracy < high`` and ``class_accuracy >= min_class_accuracy``.

    Args:
        disc_accuracy: the discriminator's real/fake accuracy over the last epoch.
        class_accuracy: the discriminator's accuracy as a two-class labeller on the pair's
            training images.

    Example:
        >>> config = PairTrainingConfig()
        >>> passes_acceptance(0.5, 0.95, config), passes_acceptance(0.6, 0.95, config)
        (True, False)
    """
    low, high = config.disc_accuracy_range
    return low < disc_accuracy < high and class_accuracy >= config.min_class_accuracy


@dataclass(frozen=True)
class PairReport:
    """How training went for one class pair.

    Attributes:
        classes: the pair's class indices (first < second).
        tries: trainings run (1 when the first one passed).
        disc_accuracy: real/fake accuracy of the kept model (the last try if none passed),
            as ``disc_accuracy_measure`` defines it: the figure the rule tested.
        class_accuracy: two-class accuracy of the kept model.
        accepted: whether the kept model passed; samples come from accepted pairs only.
        disc_accuracies: every recorded real/fake accuracy of the kept model by measure
            name (see :data:`~generators.ambiguous.config.DISC_ACCURACY_MEASURES`), so a
            report shows what the other rule would have decided.
    """

    classes: tuple[int, int]
    tries: int
    disc_accuracy: float
    class_accuracy: float
    accepted: bool
    disc_accuracies: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "tries": self.tries,
            "disc_accuracy": self.disc_accuracy,
            "class_accuracy": self.class_accuracy,
            "accepted": self.accepted,
            "disc_accuracies": dict(self.disc_accuracies),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, measure: str | None = None) -> PairReport:
        """Read :meth:`to_dict`'s output. ``measure`` names the measure ``disc_accuracy``
        was judged by; reports saved before every measure was recorded lack it in
        ``disc_accuracies``, and it is filled in from ``disc_accuracy``."""
        c1, c2 = data["classes"]
        disc_accuracy = float(data["disc_accuracy"])
        by_measure = {str(k): float(v) for k, v in data.get("disc_accuracies", {}).items()}
        if measure is not None:
            by_measure.setdefault(measure, disc_accuracy)
        return cls(
            classes=(int(c1), int(c2)),
            tries=int(data["tries"]),
            disc_accuracy=disc_accuracy,
            class_accuracy=float(data["class_accuracy"]),
            accepted=bool(data["accepted"]),
            disc_accuracies=tuple(sorted(by_measure.items())),
        )
