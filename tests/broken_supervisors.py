"""Deliberately broken supervisors: each violates one metamorphic property.

Shared by the property tests and benchmarks/property_power.py, which measures how often
each property catches its broken supervisor and how often it flags a correct one.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.supervisors import Supervisor
from supervisor_testing.supervisors.base import as_model_input
from supervisor_testing.supervisors.softmax import MaxSoftmax


class WrongSign(MaxSoftmax):
    """Returns the confidence itself: higher = *less* suspicious, against the contract."""

    name = "wrong-sign"

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return -super().score(x)


def identity_batch_norm(train: Dataset) -> nn.BatchNorm2d:
    """A BatchNorm whose eval mode is the identity on the training pixels' scale."""
    pixels = train.images.float().div(255)
    norm = nn.BatchNorm2d(1)
    norm.running_mean.fill_(float(pixels.mean()))
    norm.running_var.fill_(float(pixels.var()))
    with torch.no_grad():
        norm.weight.fill_(float((pixels.var() + norm.eps).sqrt()))
        norm.bias.fill_(float(pixels.mean()))
    return norm


class BatchNormInTrainMode(Supervisor):
    """Leaves the model's batch-norm layers in train mode: they normalise with the
    statistics of whatever batch they are given."""

    name = "batch-norm-in-train-mode"

    def __init__(self, model: nn.Module) -> None:
        super().__init__(copy.deepcopy(model))  # train mode updates the running statistics
        for module in self.model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.train()

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        return -self.model(as_model_input(x)).amax(1)  # max-logit: it never saturates


class UnseededMCDropout(Supervisor):
    """MC dropout drawing its masks from the global generator, never seeded."""

    name = "unseeded-mc-dropout"

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        self.model.train()
        try:
            x = as_model_input(x)
            probs = torch.stack([self.model(x).softmax(1) for _ in range(20)]).mean(0)
        finally:
            self.model.eval()
        return -probs.max(1).values


class ReadsBytesAsFloats(Supervisor):
    """Feeds uint8 images to the model unscaled (0..255 instead of 0..1)."""

    name = "reads-bytes-as-floats"

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        return -self.model.eval()(x.float()).softmax(1).amax(1)


class PixelTemplate(Supervisor):
    """Distance from the mean training image: pinned to where the digits happen to sit."""

    name = "pixel-template"

    def __init__(self, model: nn.Module, template: torch.Tensor) -> None:
        super().__init__(model)
        self.template = template

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return (as_model_input(x) - self.template).flatten(1).norm(dim=1)
