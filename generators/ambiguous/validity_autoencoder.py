"""How nominal an input looks: its reconstruction error under an autoencoder of nominal data.

An autoencoder trained only on nominal images reconstructs inputs like them well and
anything else (overlaid digits, noise, other data sets) badly. Ranking an input's error
among the errors of held-out nominal images gives a percentile: about 50 for nominal
inputs, near 100 for inputs outside the data distribution. It is independent of the pair
models (another architecture, other training data per model, its own seed).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError

__all__ = ["ValidityAutoencoder", "error_percentiles", "train_validity_autoencoder"]


class ValidityAutoencoder(nn.Module):
    """Dense ``D -> 256 -> 32 -> 256 -> D`` autoencoder with a sigmoid output."""

    def __init__(self, input_dim: int, *, hidden: int = 256, code: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(input_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, code),
            nn.ReLU(),
            nn.Linear(code, hidden),
            nn.ReLU(),
            nn.Linear(hidden, input_dim),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @torch.no_grad()
    def errors(self, images: torch.Tensor, *, batch_size: int = 2048) -> torch.Tensor:
        """Mean squared reconstruction error per uint8 image (pixels scaled to [0, 1])."""
        self.eval()
        out = []
        for chunk in images.split(batch_size):
            x = chunk.float().div(255.0).flatten(1)
            out.append(F.mse_loss(self(x), x, reduction="none").mean(dim=1))
        return torch.cat(out) if out else torch.empty(0)


def train_validity_autoencoder(
    dataset: Dataset, *, seed: int = 0, epochs: int = 15, batch_size: int = 128
) -> ValidityAutoencoder:
    """Train the autoencoder on ``dataset`` (nominal training images), seeded."""
    if len(dataset) < 2:
        raise InvalidInputError("the validity autoencoder needs at least 2 training images")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ValidityAutoencoder(int(np.prod(dataset.image_shape)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_all = dataset.images.float().div(255.0).flatten(1)
    model.train()
    for _ in range(epochs):
        for index in torch.randperm(len(dataset), generator=generator).split(batch_size):
            x = x_all[index]
            loss = F.mse_loss(model(x), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


def error_percentiles(errors: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Percentile (0..100) of each error among ``reference`` errors: the share of
    reference errors at or below it (ties count half, so nominal inputs average 50)."""
    if len(reference) == 0:
        raise InvalidInputError("error_percentiles needs at least one reference error")
    ref = np.sort(reference.double().numpy())
    e = errors.double().numpy()
    below = np.searchsorted(ref, e, side="left")
    at_or_below = np.searchsorted(ref, e, side="right")
    return torch.from_numpy(100.0 * (below + at_or_below) / (2 * len(ref)))
