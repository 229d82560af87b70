"""Toy classifiers and data shared by the supervisor-zoo tests.

Small enough that every score can be recomputed independently (numpy, scipy, sklearn) in
milliseconds; built from fixed seeds so each test sees the same weights.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

NUM_CLASSES = 3
IMAGE_SHAPE = (1, 4, 4)


class ToyNet(nn.Module):
    """``head(features(x))`` with a dropout layer, like the reference models, on 4 x 4 images."""

    def __init__(self, seed: int = 0, *, dropout: float = 0.5, hidden: int = 6) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.features = nn.Sequential(
                nn.Flatten(),
                nn.Linear(16, hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
            )
            self.head = nn.Linear(hidden, NUM_CLASSES)
            with torch.no_grad():
                # Larger weights give confident, varied logits; centring the biases on
                # uniform-noise inputs makes every class about equally likely.
                first = self.features[1]
                first.weight.mul_(4.0)
                first.bias.copy_(-first.weight.sum(dim=1) * 0.5)
                self.head.weight.mul_(2.0)
                reference = torch.rand(512, 16, generator=torch.Generator().manual_seed(seed))
                mean_features = torch.relu(first(reference)).mean(dim=0)
                self.head.bias.copy_(-self.head.weight @ mean_features)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class NoDropoutNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.ReLU())
        self.head = nn.Linear(4, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(seed))


@functools.cache
def toy_dataset(n: int = 240, seed: int = 0):
    """Inputs labelled by the model itself, so every class is well represented."""
    from supervisor_testing.data.dataset import Dataset

    pool = (images(8 * n, seed) * 255).round().to(torch.uint8)
    with torch.no_grad():
        predicted = ToyNet()(pool.float() / 255).argmax(dim=1)
    per_class = n // NUM_CLASSES
    keep = torch.cat(
        [torch.nonzero(predicted == c).flatten()[:per_class] for c in range(NUM_CLASSES)]
    )
    keep = keep.sort().values
    x, labels = pool[keep], predicted[keep]
    return Dataset(
        name="toy",
        split="train",
        images=x,
        labels=labels,
        class_names=tuple(f"c{k}" for k in range(NUM_CLASSES)),
    )


def features_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Penultimate activations computed by hand (no hooks), eval mode."""
    model.eval()
    with torch.no_grad():
        return model.features(x).double()
