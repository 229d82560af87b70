"""A Gaussian kernel density estimate with Scott's bandwidth, evaluated in torch.

It computes what ``scipy.stats.gaussian_kde(points.T).logpdf`` computes (full bandwidth
matrix = sample covariance times Scott's factor squared). It is written here because LSA
evaluates ten thousand inputs against every class's estimate: whitening once and using
one matrix product per chunk is far faster than scipy's per-point numpy loop, and a
covariance that is singular (dead ReLU units, fewer samples than neurons) gets a ridge
instead of an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from supervisor_testing.errors import InvalidInputError

__all__ = ["GaussianKDE", "fit_gaussian_kde"]

_CHUNK_ELEMENTS = 1 << 23


@dataclass(frozen=True)
class GaussianKDE:
    """A fitted estimate: whitened points, the whitening matrix and the log normaliser.

    ``log p(x) = logsumexp_i(-||(x - x_i) W||^2 / 2) + log_norm`` with
    ``W W^T = H^-1`` and ``log_norm = -log n - log det(2 pi H) / 2``.
    """

    points: torch.Tensor  # n x d, already multiplied by ``whitening``
    whitening: torch.Tensor  # d x d
    log_norm: torch.Tensor  # 0-d

    def __post_init__(self) -> None:
        object.__setattr__(self, "_points_sq", self.points.square().sum(dim=1))

    def logpdf(self, x: torch.Tensor) -> torch.Tensor:
        """Log density at each row of ``x`` (``N x d``), float64."""
        z = x.double() @ self.whitening
        points_sq = self._points_sq
        rows = max(1, _CHUNK_ELEMENTS // max(1, len(self.points)))
        parts = []
        for chunk in z.split(rows):
            # Expanded squared distances in float64: one matrix product per chunk; the
            # rounding error (~1e-16 of the squared norms) is negligible next to the
            # kernel's unit scale.
            d2 = (
                chunk.square().sum(dim=1)[:, None] + points_sq[None] - 2.0 * (chunk @ self.points.T)
            )
            parts.append(torch.logsumexp(-0.5 * d2.clamp(min=0.0), dim=1))
        return torch.cat(parts) + self.log_norm


def fit_gaussian_kde(points: torch.Tensor) -> GaussianKDE:
    """Fit on ``n x d`` points with Scott's rule, ``factor = n^(-1 / (d + 4))``.

    Raises:
        InvalidInputError: fewer than two points.
    """
    x = points.double()
    n, d = x.shape
    if n < 2:
        raise InvalidInputError(f"a kernel density estimate needs at least 2 points, got {n}")
    factor = n ** (-1.0 / (d + 4))
    covariance = torch.cov(x.T).reshape(d, d) * factor**2
    eye = torch.eye(d, dtype=torch.float64)
    scale = float(torch.trace(covariance)) / d
    ridge = 0.0
    for attempt in range(8):
        lower, info = torch.linalg.cholesky_ex(covariance + ridge * eye)
        if int(info) == 0:
            break
        # Singular bandwidth (a constant unit, or n <= d): a ridge far below the data's
        # scale keeps the estimate, and scipy's, unchanged wherever scipy can compute it.
        ridge = (scale if scale > 0 else 1.0) * 10.0 ** (-10 + 2 * attempt)
    else:
        raise InvalidInputError("the kernel bandwidth matrix is not positive definite")
    whitening = torch.linalg.solve_triangular(lower, eye, upper=False).T
    log_det = 2.0 * torch.log(torch.diagonal(lower)).sum()
    log_norm = -math.log(n) - 0.5 * (d * math.log(2 * math.pi) + log_det)
    return GaussianKDE(points=x @ whitening, whitening=whitening, log_norm=log_norm)
