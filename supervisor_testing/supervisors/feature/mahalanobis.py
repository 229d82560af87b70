"""Mahalanobis distance to class-conditional Gaussians with a shared covariance.

Lee et al. (NeurIPS 2018) fit one mean per class and one covariance shared by all classes
to a layer's activations and score an input by its distance to the closest class mean.
MDSA (Kim et al., 2020, the Mahalanobis variant of surprise adequacy) measures the distance
to the mean of the class the model predicts instead.
"""

from __future__ import annotations

import torch

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.feature.base import FeatureSupervisor
from supervisor_testing.supervisors.feature.extraction import (
    Activations,
    chunked,
    class_targets,
    require_classes,
)
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.state import TensorState

__all__ = ["MDSA", "Mahalanobis", "whitening_matrix"]

#: Ridge added to the covariance, relative to its mean eigenvalue. ReLU layers have dead
#: units whose nominal variance is exactly zero; the ridge keeps the inverse finite and
#: makes any activity in such a direction count as very far from nominal, which it is.
RELATIVE_RIDGE = 1e-6
_CHUNK_ELEMENTS = 1 << 22


def whitening_matrix(covariance: torch.Tensor, *, relative_ridge: float = RELATIVE_RIDGE):
    """``W`` with ``W @ W.T = (covariance + ridge * I)^-1``, so ``||v @ W||^2`` is the
    squared Mahalanobis norm of ``v`` (float64 in, float64 out)."""
    d = covariance.shape[0]
    scale = float(torch.trace(covariance)) / d
    ridge = relative_ridge * scale if scale > 0 else 1e-12
    eye = torch.eye(d, dtype=covariance.dtype)
    for _ in range(6):
        lower, info = torch.linalg.cholesky_ex(covariance + ridge * eye)
        if int(info) == 0:
            return torch.linalg.solve_triangular(lower, eye, upper=False).T
        ridge *= 100.0
    raise InvalidInputError("the activation covariance is not positive definite even with a ridge")


class _ClassGaussians(TensorState, FeatureSupervisor):
    fit_needs = "class means and a shared covariance of the layer"
    state_attributes = ("means_", "whitening_", "class_present_")
    _every_class = False

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        features, classes, _ = class_targets(activations, labels)
        num_classes = activations.logits.shape[1]
        if int(classes.max()) >= num_classes:
            raise InvalidInputError(
                f"nominal labels reach {int(classes.max())} but the model has {num_classes} outputs"
            )
        if self._every_class:
            require_classes(classes, num_classes, minimum=1, what=self.name)
        f = features.double()
        counts = torch.bincount(classes, minlength=num_classes)
        means = torch.zeros(num_classes, f.shape[1], dtype=torch.float64)
        means.index_add_(0, classes, f)
        means /= counts.clamp(min=1)[:, None].double()
        centered = f - means[classes]
        covariance = centered.T @ centered / len(f)  # maximum likelihood, as Lee et al.
        self.means_ = means
        self.whitening_ = whitening_matrix(covariance)
        self.class_present_ = counts > 0

    def squared_distances(self, features: torch.Tensor) -> torch.Tensor:
        """``N x K`` squared Mahalanobis distances to every class mean (inf: unseen class)."""
        projected_means = self.means_ @ self.whitening_

        def one_chunk(chunk: torch.Tensor) -> torch.Tensor:
            z = chunk.double() @ self.whitening_
            return (z[:, None, :] - projected_means[None]).square().sum(dim=2)

        # N x K x D differences are exact where the expanded form would cancel; chunks keep
        # them to a few tens of MiB.
        num_classes, dim = self.means_.shape
        d2 = chunked(one_chunk, features, max(64, _CHUNK_ELEMENTS // max(1, num_classes * dim)))
        return d2.masked_fill(~self.class_present_[None], float("inf"))


@register_supervisor("mahalanobis", aliases=("maha", "mahalanobis-distance"))
class Mahalanobis(_ClassGaussians):
    """Squared Mahalanobis distance to the nearest class mean (Lee et al., NeurIPS 2018).

    The input-perturbation and layer-ensemble extensions of the paper are left out; the
    score is the distance on one layer, as in its "feature ensemble off" setting.
    """

    name = "mahalanobis"
    score_meaning = "squared Mahalanobis distance to the nearest class mean"

    def score_activations(self, activations: Activations) -> torch.Tensor:
        return self.squared_distances(activations.features).min(dim=1).values.float()


@register_supervisor("mdsa", aliases=("mahalanobis-sa", "mahalanobis-surprise"))
class MDSA(_ClassGaussians):
    """Mahalanobis-distance surprise adequacy (Kim et al., 2020): to the predicted class.

    Same class means and shared covariance as ``mahalanobis``; the distance is taken to the
    mean of the class the model predicts, so an input far from its own class is suspicious
    even when it happens to lie near another class.
    """

    name = "mdsa"
    score_meaning = "squared Mahalanobis distance to the predicted class's mean"
    _every_class = True

    def score_activations(self, activations: Activations) -> torch.Tensor:
        predicted = activations.logits.argmax(dim=1)
        d2 = self.squared_distances(activations.features)
        return d2.gather(1, predicted[:, None]).squeeze(1).float()
