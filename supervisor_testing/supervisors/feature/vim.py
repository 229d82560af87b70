"""ViM: virtual-logit matching (Wang et al., CVPR 2022)."""

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
)
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.state import TensorState

__all__ = ["ViM", "default_principal_dim", "require_linear_head", "require_penultimate"]


def default_principal_dim(feature_dim: int) -> int:
    """The paper's choice: 1000 for features of 2048 or more, 512 from 768, else half."""
    if feature_dim >= 2048:
        return 1000
    if feature_dim >= 768:
        return 512
    return max(1, feature_dim // 2)


def require_penultimate(layer: str, what: str) -> None:
    """Refuse a layer other than the penultimate: the score reads logits as ``W f + b``."""
    if layer != PENULTIMATE:
        raise InvalidInputError(
            f"{what} watches the penultimate layer only (its score recomputes the logits as "
            f"W f + b of that layer's features), got layer={layer!r}; leave layer out, or use "
            "mahalanobis, mdsa, lsa, dsa or knn for another layer"
        )


def require_linear_head(activations: Activations, what: str) -> None:
    if not activations.head_is_output:
        raise InvalidInputError(
            f"{what} needs a model whose output is its last nn.Linear applied to the "
            "penultimate features (logits = W f + b); this model computes something else "
            "after its last nn.Linear"
        )


@register_supervisor("vim", aliases=("virtual-logit-matching",))
class ViM(TensorState, FeatureSupervisor):
    """Norm of the feature residual outside the nominal principal space, minus the energy.

    Features are centred at ``u = -pinv(W) b`` (the origin the logits are measured
    from); the principal space spans the ``dim`` leading eigenvectors of their
    uncentred second moment on nominal data. The residual norm is scaled by ``alpha`` =
    mean nominal max logit / mean nominal residual norm, making it a "virtual logit"
    comparable to the real ones. Watches the penultimate layer only, since the logits
    must be ``W f + b`` of the features.

    Args:
        dim: principal-space dimension (default: :func:`default_principal_dim`).
        layer: accepted for uniformity with the feature family; only ``"penultimate"``.
    """

    name = "vim"
    fit_needs = "the principal space of penultimate features and a logit scale"
    score_meaning = "scaled residual norm minus the energy of the logits"
    state_attributes = ("origin_", "residual_basis_", "alpha_")

    def __init__(
        self,
        model: nn.Module,
        *,
        dim: int | None = None,
        layer: str = PENULTIMATE,
        batch_size: int = 512,
    ):
        require_penultimate(layer, "vim")
        super().__init__(model, layer=PENULTIMATE, batch_size=batch_size)
        if dim is not None and dim < 1:
            raise InvalidInputError(f"dim must be positive, got {dim}")
        self.dim = dim

    def get_params(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "dim": self.dim}

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        require_linear_head(activations, "vim")
        features, _, logits = class_targets(activations, labels)
        head = self.tap.head()
        weight = head.weight.detach().double().cpu()
        bias = (
            head.bias.detach().double().cpu()
            if head.bias is not None
            else torch.zeros(weight.shape[0], dtype=torch.float64)
        )
        feature_dim = features.shape[1]
        dim = self.dim if self.dim is not None else default_principal_dim(feature_dim)
        if not 0 < dim < feature_dim:
            raise InvalidInputError(
                f"vim's dim must lie in 1..{feature_dim - 1} for {feature_dim} features, got {dim}"
            )
        origin = -(torch.linalg.pinv(weight) @ bias)
        centred = features.double() - origin
        _, vectors = torch.linalg.eigh(centred.T @ centred / len(centred))  # ascending
        residual_basis = vectors[:, : feature_dim - dim].contiguous()
        residual_norm = (centred @ residual_basis).norm(dim=1)
        alpha = logits.double().max(dim=1).values.mean() / residual_norm.mean().clamp(min=1e-12)
        self.origin_ = origin
        self.residual_basis_ = residual_basis
        self.alpha_ = alpha

    def score_activations(self, activations: Activations) -> torch.Tensor:
        centred = activations.features.double() - self.origin_
        virtual_logit = self.alpha_ * (centred @ self.residual_basis_).norm(dim=1)
        energy = torch.logsumexp(activations.logits.double(), dim=1)
        return (virtual_logit - energy).float()
