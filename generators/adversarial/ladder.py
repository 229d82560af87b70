"""The epsilon ladder: for every input, the smallest budget at which an attack succeeds.

An input counts as adversarial when the model's prediction differs from its true label
(foolbox's ``Misclassification``), so an input the model already gets wrong succeeds at
epsilon 0. The ladder is walked upwards and an input leaves the search once it has
succeeded, so the recorded epsilon is the first ladder step that succeeds (attacks with a
random start need not be monotone in epsilon; the first success is what is kept).

``epsilon`` is the smallest step whose *stored* image flips the prediction. The stored
image is the attack output rounded to uint8 within the ball
(:mod:`~generators.adversarial.quantization`: to the nearest levels where that still
flips, else outward), so it is exactly what a corpus reader sees, and
``|image - clean| <= epsilon`` holds in L-inf. Steps below 1/255 cannot move any pixel,
so on uint8 data they succeed only where epsilon 0 does, and the attack is not even run
at them: an MNIST input that the float attack flips at 2e-4 is recorded at the first
step that moves pixels far enough (0.01 on the study's ladder).

With ``track_float`` the search also records ``float_epsilon``, the smallest step at
which the unrounded float output flips the prediction (what the AmbiGuess study, running
foolbox on float inputs, reports), and the float perturbation found there. That runs the
attack at every step, sub-level ones included: about three times the cost for PGD and BIM
on MNIST (benchmarks/adversarial_speed.py).

Inputs that no step flips get ``inf`` and keep their clean image; ``success`` says which
is which.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from generators.adversarial.attack import Attack, AttackRun
from generators.adversarial.batch_invariance import predict_labels
from generators.adversarial.projected_gradient import project_linf
from generators.adversarial.quantization import levels_within, quantize_within
from supervisor_testing.errors import InvalidInputError

__all__ = ["STUDY_EPSILONS", "LadderResult", "check_epsilons", "minimal_epsilons"]

#: The AmbiGuess study's ladder, on pixels in 0..1.
STUDY_EPSILONS = (0.0, 2e-4, 5e-4, 8e-4, 1e-3, 1.5e-3, 2e-3, 3e-3, 0.01, 0.1, 0.3, 0.5, 1.0)


def check_epsilons(values: Sequence[float] | None) -> tuple[float, ...]:
    """A non-empty, strictly increasing ladder of epsilons in ``[0, 1]``.

    Example:
        >>> check_epsilons([0, 0.1, 1])
        (0.0, 0.1, 1.0)
    """
    if values is None:
        return STUDY_EPSILONS
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidInputError(f"epsilons must be a list of numbers, got {values!r}")
    if not values:
        raise InvalidInputError(
            "the epsilon ladder is empty; give at least one epsilon in [0, 1] "
            f"(the study used {list(STUDY_EPSILONS)})"
        )
    for value in values:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InvalidInputError(f"epsilons must be numbers, got {value!r}")
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise InvalidInputError(f"epsilons must lie in [0, 1] (pixels on 0..1), got {value!r}")
    ladder = tuple(float(v) for v in values)
    if any(b <= a for a, b in itertools.pairwise(ladder)):
        raise InvalidInputError(
            f"epsilons must be strictly increasing, got {list(ladder)}; sort them and drop repeats"
        )
    return ladder


@dataclass(frozen=True)
class LadderResult:
    """Per-input outcome of :func:`minimal_epsilons` (CPU tensors, one row per input).

    Attributes:
        images: uint8 adversarial images at ``epsilon`` (the clean image where none).
        epsilon: float64, the smallest step whose uint8 image flips the prediction (inf).
        predicted: int64, the model's prediction on ``images``.
        float_epsilon: float64, the smallest step whose float output flips it (inf);
            ``None`` unless tracked.
        float_perturbation: float32, the float output minus the clean input at
            ``float_epsilon`` (zero where none); ``None`` unless tracked.
    """

    images: torch.Tensor
    epsilon: torch.Tensor
    predicted: torch.Tensor
    float_epsilon: torch.Tensor | None = None
    float_perturbation: torch.Tensor | None = None

    @property
    def success(self) -> torch.Tensor:
        """Which inputs some step flipped (as stored uint8 images)."""
        return torch.isfinite(self.epsilon)


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def minimal_epsilons(
    attack: Attack,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epsilons: Sequence[float] = STUDY_EPSILONS,
    seed: int = 0,
    keys: torch.Tensor | None = None,
    track_float: bool = False,
) -> LadderResult:
    """Attack uint8 ``images`` (true ``labels``) with ``attack`` at each ladder step.

    Args:
        attack: e.g. ``create_attack("pgd")``.
        model: maps float images in ``[0, 1]`` to logits; run in eval mode (its mode is
            restored afterwards).
        images: uint8 ``N x C x H x W``.
        labels: int64 ``N``, the true classes.
        epsilons: the ladder, strictly increasing, in ``[0, 1]``.
        seed: seeds random starts, together with ``keys``.
        keys: one int per input naming it (its source index); ``arange(N)`` by default.
            An input's result depends only on itself, its key and the seed, never on the
            other inputs in the batch.
        track_float: also search in float space (``float_epsilon``, ``float_perturbation``).

    Raises:
        InvalidInputError: malformed images, labels, keys or ladder.
    """
    ladder = check_epsilons(epsilons)
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise InvalidInputError(
            f"images must be uint8 N x C x H x W, got {images.dtype} {tuple(images.shape)}"
        )
    n = images.shape[0]
    if labels.dtype != torch.int64 or labels.shape != (n,):
        raise InvalidInputError(
            f"labels must be int64 of shape ({n},), got {labels.dtype} {tuple(labels.shape)}"
        )
    keys = torch.arange(n) if keys is None else keys.to("cpu", torch.int64)
    if keys.shape != (n,):
        raise InvalidInputError(f"keys must hold one int per image ({n}), got {tuple(keys.shape)}")
    device = _device_of(model)
    was_training = model.training
    model.eval()
    try:
        walk = _Walk(model, images.to(device), labels.to(device), track_float=track_float)
        if n:
            walk.run(attack.start(model, walk.clean, walk.labels, keys=keys, seed=seed), ladder)
        return walk.result()
    finally:
        model.train(was_training)


class _Walk:
    """The search state: what each input has found so far."""

    def __init__(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, track_float: bool
    ) -> None:
        n = images.shape[0]
        self.model, self.images, self.labels = model, images, labels
        self.clean = images.float().div_(255.0)
        self.stored = images.clone()
        self.epsilon = torch.full((n,), math.inf, dtype=torch.float64, device=images.device)
        self.float_epsilon = self.epsilon.clone() if track_float else None
        self.perturbation = torch.zeros_like(self.clean) if track_float else None

    def run(self, attack: AttackRun, ladder: tuple[float, ...]) -> None:
        active = torch.arange(self.images.shape[0], device=self.images.device)
        for step in ladder:
            if not len(active):
                break
            clean = self.clean[active]
            if step == 0 or (self.float_epsilon is None and levels_within(step) == 0):
                # No pixel can move: the stored image is the clean one.
                candidate = clean
            else:
                # Clip again: an attack's own projection may overshoot by rounding.
                candidate = project_linf(attack.at(active, step), clean, step)
            self._record(active, candidate, step)
            done = self.epsilon[active].isfinite()
            if self.float_epsilon is not None:
                done &= self.float_epsilon[active].isfinite()
            active = active[~done]

    def _record(self, active: torch.Tensor, candidate: torch.Tensor, step: float) -> None:
        truth = self.labels[active]
        quantized, hit = _stored_image(self.model, candidate, self.images[active], truth, step)
        hit &= self.epsilon[active].isinf()
        self.epsilon[active[hit]] = step
        self.stored[active[hit]] = quantized[hit]
        if self.float_epsilon is None or self.perturbation is None:
            return
        float_hit = predict_labels(self.model, candidate) != truth
        float_hit &= self.float_epsilon[active].isinf()
        self.float_epsilon[active[float_hit]] = step
        self.perturbation[active[float_hit]] = candidate[float_hit] - self.clean[active[float_hit]]

    def result(self) -> LadderResult:
        if len(self.stored):
            predicted = predict_labels(self.model, self.stored.float().div_(255.0))
        else:
            predicted = torch.empty(0, dtype=torch.int64)
        return LadderResult(
            images=self.stored.cpu(),
            epsilon=self.epsilon.cpu(),
            predicted=predicted.cpu(),
            float_epsilon=None if self.float_epsilon is None else self.float_epsilon.cpu(),
            float_perturbation=None if self.perturbation is None else self.perturbation.cpu(),
        )


def _stored_image(
    model: nn.Module,
    candidate: torch.Tensor,
    clean: torch.Tensor,
    truth: torch.Tensor,
    step: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The uint8 image to store for each row at ``step`` and whether it is adversarial:
    rounded to the nearest levels where that flips the prediction, else rounded outward
    where that does."""
    nearest = quantize_within(candidate, clean, step)
    hit = predict_labels(model, nearest.float().div_(255.0)) != truth
    retry = (~hit).nonzero().flatten()
    if len(retry) and levels_within(step) > 0:
        outward = quantize_within(candidate[retry], clean[retry], step, outward=True)
        rescued = predict_labels(model, outward.float().div_(255.0)) != truth[retry]
        nearest[retry[rescued]] = outward[rescued]
        hit[retry[rescued]] = True
    return nearest, hit
