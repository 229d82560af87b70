"""Surprise adequacy (Kim, Feldt & Yoo, ICSE 2019): LSA and DSA.

Both compare an input's activation trace with the traces of the nominal data of the class
the model predicts for it. LSA asks how unlikely the trace is under a kernel density
estimate of that class; DSA asks how close it lies to its own class relative to how close
that class lies to the others.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.feature.base import FeatureSupervisor
from supervisor_testing.supervisors.feature.extraction import (
    PENULTIMATE,
    Activations,
    class_targets,
    require_classes,
)
from supervisor_testing.supervisors.feature.gaussian_kde import GaussianKDE, fit_gaussian_kde
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.state import TensorState

__all__ = ["DSA", "LSA", "nearest_other_class_distance"]

_CHUNK_ELEMENTS = 1 << 23


@register_supervisor("lsa", aliases=("likelihood-surprise", "likelihood-sa"))
class LSA(TensorState, FeatureSupervisor):
    """Likelihood-based surprise adequacy: ``-log`` KDE density under the predicted class.

    One Gaussian KDE (Scott's bandwidth) per class on that class's nominal traces. Neurons
    whose nominal variance falls below ``var_threshold`` in any class are dropped, as in
    Kim et al. (their density is degenerate); ``max_neurons`` keeps only the
    highest-variance ones of the rest, which bounds cost on wide layers. It is off by
    default because Kim et al. keep every neuron above the threshold, and a cap changes
    the density being estimated.

    Args:
        var_threshold: minimum per-class variance of a kept neuron (1e-5 in the paper).
        max_neurons: keep at most this many neurons, by nominal variance (``None``: all).
    """

    name = "lsa"
    fit_needs = "a kernel density estimate of the layer per class"
    score_meaning = "negative log density under the predicted class's KDE"
    state_attributes = ("neurons_", "points_", "point_class_", "whitening_", "log_norm_")

    def __init__(
        self,
        model: nn.Module,
        *,
        layer: str = PENULTIMATE,
        reduce: str = "mean",
        var_threshold: float = 1e-5,
        max_neurons: int | None = None,
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, layer=layer, reduce=reduce, batch_size=batch_size)
        if not var_threshold >= 0:
            raise InvalidInputError(f"var_threshold must be >= 0, got {var_threshold}")
        if max_neurons is not None and max_neurons < 1:
            raise InvalidInputError(f"max_neurons must be positive, got {max_neurons}")
        self.var_threshold = float(var_threshold)
        self.max_neurons = max_neurons

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "var_threshold": self.var_threshold,
            "max_neurons": self.max_neurons,
        }

    def select_neurons(self, features: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Indices of the neurons the densities use (see the class docstring)."""
        f = features.double()
        keep = torch.ones(f.shape[1], dtype=torch.bool)
        for c in classes.unique():
            members = f[classes == c]
            if len(members) > 1:
                keep &= members.var(dim=0) >= self.var_threshold
        kept = torch.nonzero(keep).flatten()
        if len(kept) == 0:
            raise InvalidInputError(
                f"every neuron of layer {self.layer!r} has a per-class variance below "
                f"{self.var_threshold}; watch another layer or lower var_threshold"
            )
        if self.max_neurons is not None and len(kept) > self.max_neurons:
            order = f[:, kept].var(dim=0).argsort(descending=True, stable=True)
            kept = kept[order[: self.max_neurons]].sort().values
        return kept

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        features, classes, _ = class_targets(activations, labels)
        num_classes = activations.logits.shape[1]
        require_classes(classes, num_classes, minimum=2, what="lsa")
        neurons = self.select_neurons(features, classes)
        kdes = [fit_gaussian_kde(features[classes == c][:, neurons]) for c in range(num_classes)]
        self.neurons_ = neurons
        self.points_ = torch.cat([k.points for k in kdes])
        self.point_class_ = torch.cat(
            [torch.full((len(k.points),), c, dtype=torch.int64) for c, k in enumerate(kdes)]
        )
        self.whitening_ = torch.stack([k.whitening for k in kdes])
        self.log_norm_ = torch.stack([torch.as_tensor(k.log_norm) for k in kdes])

    def kde(self, c: int) -> GaussianKDE:
        """The fitted density of class ``c`` (assembled once per fitted state)."""
        cached = getattr(self, "_kdes", None)
        if cached is None or cached[0] is not self.points_:
            cached = (self.points_, {})
            self._kdes = cached
        if c not in cached[1]:
            cached[1][c] = GaussianKDE(
                points=self.points_[self.point_class_ == c],
                whitening=self.whitening_[c],
                log_norm=self.log_norm_[c],
            )
        return cached[1][c]

    def score_activations(self, activations: Activations) -> torch.Tensor:
        predicted = activations.logits.argmax(dim=1)
        traces = activations.features[:, self.neurons_]
        scores = torch.empty(len(traces), dtype=torch.float64)
        for c in predicted.unique().tolist():
            rows = predicted == c
            scores[rows] = -self.kde(c).logpdf(traces[rows])
        return scores.float()


def nearest_other_class_distance(bank: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Per row of ``bank``, the Euclidean distance to its nearest row of another class.

    Quadratic in the rows (60,000 traces: 3.6e9 pairs), so the search runs as float32
    matrix products (``|q|^2 + |b|^2 - 2 q.b``, one class against the rest, in blocks with
    a running minimum over nothing larger than a block) on traces centred at their mean,
    which keeps the cancellation error near float32 precision of the spread rather than
    of the norms. The distance to the neighbour found is then recomputed in float64, so
    it is exact; the neighbour can differ from the true nearest only by a float32 tie,
    whose distance is the same to about 1e-6 relative.
    """
    centred = bank.double() - bank.double().mean(dim=0)
    single = centred.float()
    squared = single.square().sum(dim=1)
    out = torch.empty(len(bank), dtype=torch.float64)
    for c in classes.unique().tolist():
        mine = torch.nonzero(classes == c).flatten()
        others = torch.nonzero(classes != c).flatten()
        rest, rest_squared = single[others], squared[others]
        rows = max(1, _CHUNK_ELEMENTS // max(1, len(others)))
        for part in mine.split(rows):
            d2 = torch.addmm(rest_squared[None], single[part], rest.T, alpha=-2.0)
            nearest = others[d2.argmin(dim=1)]
            out[part] = (centred[part] - centred[nearest]).norm(dim=1)
    return out


@register_supervisor("dsa", aliases=("distance-surprise", "distance-sa"))
class DSA(TensorState, FeatureSupervisor):
    """Distance-based surprise adequacy: ``dist_a / dist_b`` (Kim et al., ICSE 2019).

    ``dist_a`` is the distance from the input's trace to the nearest nominal trace ``x_a``
    of the predicted class; ``dist_b`` the distance from ``x_a`` to the nearest nominal
    trace of any other class. Every nominal trace's ``dist_b`` is computed once in ``fit``.
    """

    name = "dsa"
    fit_needs = "the layer's nominal traces per class"
    score_meaning = "distance to own class over that class's distance to the others"
    state_attributes = ("bank_", "bank_class_", "other_distance_")

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        features, classes, _ = class_targets(activations, labels)
        num_classes = activations.logits.shape[1]
        require_classes(classes, num_classes, minimum=1, what="dsa")
        if len(classes.unique()) < 2:
            raise InvalidInputError("dsa needs nominal samples of at least two classes")
        bank = features.double()
        self.bank_ = bank
        self.bank_class_ = classes.clone()
        self.other_distance_ = nearest_other_class_distance(bank, classes)

    def _class_banks(self) -> dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Per class: its nominal traces, their squared norms and their ``dist_b``."""
        cached = getattr(self, "_banks", None)
        if cached is not None and cached[0] is self.bank_:
            return cached[1]
        banks = {}
        for c in self.bank_class_.unique().tolist():
            members = self.bank_class_ == c
            bank = self.bank_[members].double()
            banks[c] = (bank, bank.square().sum(dim=1), self.other_distance_[members].double())
        self._banks = (self.bank_, banks)
        return banks

    def score_activations(self, activations: Activations) -> torch.Tensor:
        predicted = activations.logits.argmax(dim=1)
        traces = activations.features.double()
        banks = self._class_banks()
        scores = torch.empty(len(traces), dtype=torch.float64)
        for c in predicted.unique().tolist():
            rows = torch.nonzero(predicted == c).flatten()
            bank, bank_sq, other = banks[c]
            step = max(1, _CHUNK_ELEMENTS // len(bank))
            for part in rows.split(step):
                q = traces[part]
                # |q - b|^2 = |q|^2 + |b|^2 - 2 q.b in float64: one matrix product, and
                # the cancellation error (~1e-16 of the squared norms) is far below any gap.
                d2 = q.square().sum(dim=1)[:, None] + bank_sq[None] - 2.0 * (q @ bank.T)
                d2_a, nearest = d2.min(dim=1)
                dist_a = d2_a.clamp(min=0.0).sqrt()
                # Two identical nominal traces with different labels give dist_b = 0.
                scores[part] = dist_a / other[nearest].clamp(min=1e-12)
        return scores.float()
