"""Evidential supervisors: a Dirichlet head on frozen features, two kinds of uncertainty.

Evidential deep learning (Sensoy, Kaplan & Kandemir, NeurIPS 2018) trains a head whose
non-negative outputs are evidence ``e_k`` for each class, parameters ``alpha = e + 1`` of a
Dirichlet. Subjective logic then separates two things a softmax conflates:

* **ignorance** (vacuity) ``u = K / sum(alpha)``: little evidence for anything, the mark
  of an input unlike the training data;
* **confusion** (dissonance, Josang 2016 as used by Zhao et al., 2019): strong evidence
  for several classes at once, the mark of an ambiguous input.

Telling ambiguity from out-of-distribution inputs is the AmbiGuess study's central
question, so both are registered. They share one head: it is trained once per model,
layer, nominal data and settings, and cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.feature.base import FeatureSupervisor
from supervisor_testing.supervisors.feature.extraction import (
    PENULTIMATE,
    Activations,
    class_targets,
)
from supervisor_testing.supervisors.fingerprints import model_key, nominal_fingerprint
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.result_cache import shared_cache
from supervisor_testing.supervisors.state import (
    FittedStateError,
    load_module_state,
    module_state,
)
from supervisor_testing.supervisors.thread_limit import limited_threads

if TYPE_CHECKING:
    from typing_extensions import Self

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = [
    "DirichletHead",
    "EvidentialConfusion",
    "EvidentialIgnorance",
    "EvidentialSupervisor",
    "dissonance",
    "evidential_loss",
    "vacuity",
]


class DirichletHead(nn.Module):
    """Standardised features -> linear -> softplus: non-negative evidence per class."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(in_features))
        self.register_buffer("scale", torch.ones(in_features))
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.linear((features - self.shift) / self.scale))


def _kl_to_uniform_dirichlet(alpha: torch.Tensor) -> torch.Tensor:
    """KL(Dir(alpha) || Dir(1, ..., 1)) per row."""
    k = alpha.shape[1]
    total = alpha.sum(dim=1)
    return (
        torch.lgamma(total)
        - torch.lgamma(torch.tensor(float(k), dtype=alpha.dtype))
        - torch.lgamma(alpha).sum(dim=1)
        + ((alpha - 1) * (torch.digamma(alpha) - torch.digamma(total)[:, None])).sum(dim=1)
    )


def evidential_loss(
    evidence: torch.Tensor, targets: torch.Tensor, *, kl_weight: float
) -> torch.Tensor:
    """Sensoy et al.'s squared-error loss (their eq. 5) plus the annealed KL term.

    The KL term pulls the evidence of wrong classes towards zero (``alpha~ = y + (1 - y)
    alpha``), so the head learns to say "no evidence" rather than spreading it.
    """
    k = evidence.shape[1]
    y = F.one_hot(targets, k).to(evidence.dtype)
    alpha = evidence + 1.0
    strength = alpha.sum(dim=1, keepdim=True)
    p = alpha / strength
    squared_error = ((y - p).square() + p * (1 - p) / (strength + 1)).sum(dim=1)
    kl = _kl_to_uniform_dirichlet(y + (1 - y) * alpha)
    return (squared_error + kl_weight * kl).mean()


def vacuity(evidence: torch.Tensor) -> torch.Tensor:
    """``K / sum(alpha)``: 1 with no evidence at all, towards 0 with much evidence."""
    return evidence.shape[1] / (evidence + 1.0).sum(dim=1)


def dissonance(evidence: torch.Tensor) -> torch.Tensor:
    """Josang's dissonance of the belief masses ``b_k = e_k / sum(alpha)``.

    ``sum_k b_k * sum_{j != k} b_j Bal(b_j, b_k) / sum_{j != k} b_j`` with the balance
    ``Bal(b_j, b_k) = 1 - |b_j - b_k| / (b_j + b_k)``: near 0 when one class holds the
    evidence, up to ``1 - u`` when several hold equal shares.
    """
    rows = max(1, (1 << 22) // max(1, evidence.shape[1] ** 2))
    if len(evidence) > rows:  # N x K x K pairs: chunk for many classes
        return torch.cat([dissonance(chunk) for chunk in evidence.split(rows)])
    b = evidence / (evidence + 1.0).sum(dim=1, keepdim=True)
    bk, bj = b[:, :, None], b[:, None, :]
    pair = bj + bk
    balance = torch.where(pair > 0, 1 - (bj - bk).abs() / pair.clamp(min=1e-300), 0.0)
    off_diagonal = 1.0 - torch.eye(b.shape[1], dtype=b.dtype)
    numerator = (bj * balance * off_diagonal).sum(dim=2)
    denominator = (bj * off_diagonal).sum(dim=2)
    term = torch.where(denominator > 0, numerator / denominator.clamp(min=1e-300), 0.0)
    return (b * term).sum(dim=1)


def train_dirichlet_head(
    features: torch.Tensor,
    classes: torch.Tensor,
    num_classes: int,
    *,
    epochs: int,
    lr: float,
    seed: int,
    annealing_epochs: int,
) -> DirichletHead:
    """Fit a head on frozen features; seeded and isolated from the global RNG."""
    batch = 256
    with torch.random.fork_rng(devices=[]), limited_threads():
        torch.manual_seed(seed)
        head = DirichletHead(features.shape[1], num_classes)
        head.shift.copy_(features.mean(dim=0))
        head.scale.copy_(features.std(dim=0).clamp(min=1e-6) if len(features) > 1 else 1.0)
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(head.parameters(), lr=lr)
        for epoch in range(epochs):
            kl_weight = min(1.0, epoch / annealing_epochs) if annealing_epochs else 1.0
            for index in torch.randperm(len(features), generator=generator).split(batch):
                loss = evidential_loss(head(features[index]), classes[index], kl_weight=kl_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return head.eval()


class EvidentialSupervisor(FeatureSupervisor):
    """A Dirichlet head trained on a frozen layer with the evidential loss.

    Args:
        layer: the frozen layer the head reads (default penultimate).
        epochs: passes over the nominal features.
        lr: Adam learning rate.
        seed: seeds the head's initialisation and shuffling.
        annealing_epochs: the KL term's weight grows linearly to 1 over this many epochs
            (10 in Sensoy et al.).
    """

    family = "evidential"
    fit_needs = "a Dirichlet head on frozen features"

    def __init__(
        self,
        model: nn.Module,
        *,
        layer: str = PENULTIMATE,
        reduce: str = "mean",
        epochs: int = 30,
        lr: float = 1e-2,
        seed: int = 0,
        annealing_epochs: int = 10,
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, layer=layer, reduce=reduce, batch_size=batch_size)
        if epochs < 1 or annealing_epochs < 0:
            raise InvalidInputError("epochs must be positive and annealing_epochs non-negative")
        if not lr > 0:
            raise InvalidInputError(f"lr must be positive, got {lr}")
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.seed = int(seed)
        self.annealing_epochs = int(annealing_epochs)
        self.head_: DirichletHead | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "epochs": self.epochs,
            "lr": self.lr,
            "seed": self.seed,
            "annealing_epochs": self.annealing_epochs,
        }

    def fit(self, nominal: Dataset | Corpus | torch.Tensor) -> Self:
        key = (
            "dirichlet-head",
            model_key(self.model),
            self.tap.module_name,
            self.tap.capture,
            self.reduce,
            nominal_fingerprint(nominal),
            self.epochs,
            self.lr,
            self.seed,
            self.annealing_epochs,
        )

        def compute() -> dict[str, torch.Tensor]:
            activations, labels = self.tap.nominal_activations(nominal, batch_size=self.batch_size)
            self.fit_activations(activations, labels)
            assert self.head_ is not None
            return module_state("head", self.head_)

        self.load_fitted_state(shared_cache.get_or_compute(key, compute))
        self.fitted_ = True
        return self

    def fit_activations(self, activations: Activations, labels: torch.Tensor | None) -> None:
        features, classes, _ = class_targets(activations, labels)
        self.head_ = train_dirichlet_head(
            features,
            classes,
            activations.logits.shape[1],
            epochs=self.epochs,
            lr=self.lr,
            seed=self.seed,
            annealing_epochs=self.annealing_epochs,
        )

    def fitted_state(self) -> dict[str, torch.Tensor]:
        self._check_fitted()
        assert self.head_ is not None
        return module_state("head", self.head_)

    def load_fitted_state(self, tensors: Mapping[str, torch.Tensor]) -> None:
        weight = tensors.get("head.linear.weight")
        if weight is None:
            raise FittedStateError("saved evidential state lacks head.linear.weight")
        head = DirichletHead(weight.shape[1], weight.shape[0])
        load_module_state("head", head, tensors)
        self.head_ = head.eval()

    @torch.no_grad()
    def evidence(self, activations: Activations) -> torch.Tensor:
        assert self.head_ is not None
        return self.head_(activations.features).double()

    def uncertainty(self, evidence: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score_and_predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        activations = self.tap.activations(x, batch_size=self.batch_size)
        with limited_threads():
            evidence = self.evidence(activations)
            scores = self.uncertainty(evidence).float()
        return scores, evidence.argmax(dim=1)

    def score_activations(self, activations: Activations) -> torch.Tensor:
        return self.uncertainty(self.evidence(activations)).float()


@register_supervisor("evidential-confusion", aliases=("dirichlet-confusion", "dissonance"))
class EvidentialConfusion(EvidentialSupervisor):
    """Dissonance of a Dirichlet head: conflicting evidence between classes (ambiguity)."""

    name = "evidential-confusion"
    score_meaning = "dissonance: evidence split between classes"

    def uncertainty(self, evidence: torch.Tensor) -> torch.Tensor:
        return dissonance(evidence)


@register_supervisor("evidential-ignorance", aliases=("dirichlet-ignorance", "vacuity"))
class EvidentialIgnorance(EvidentialSupervisor):
    """Vacuity of a Dirichlet head: absence of evidence for any class (novelty)."""

    name = "evidential-ignorance"
    score_meaning = "vacuity K / sum(alpha): lack of evidence"

    def uncertainty(self, evidence: torch.Tensor) -> torch.Tensor:
        return vacuity(evidence)
