"""Reconstruction supervisor: a convolutional VAE of nominal inputs, scored by its error.

The VAE (Kingma & Welling, 2014) never sees the classifier: it learns what nominal inputs
look like, and an input it cannot reconstruct is unlike them. Training is seeded and runs
inside :func:`torch.random.fork_rng`, so the same data and seed give the same weights and
the caller's random state is untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.base import Supervisor, as_model_input
from supervisor_testing.supervisors.feature.extraction import model_device
from supervisor_testing.supervisors.nominal_data import iter_nominal
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.state import FittedStateError, load_module_state, module_state
from supervisor_testing.supervisors.thread_limit import limited_threads

if TYPE_CHECKING:
    from typing_extensions import Self

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = ["ConvVAE", "VAEReconstruction"]


class ConvVAE(nn.Module):
    """Two stride-2 convolutions down, a Gaussian latent, two transposed convolutions up.

    Inputs are zero-padded to a multiple of 4 on each side so that any image of at least
    8 x 8 pixels works; the reconstruction is cropped back.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: tuple[int, int],
        latent_dim: int = 16,
        width: int = 16,
    ) -> None:
        super().__init__()
        h, w = image_size
        self.in_channels = in_channels
        self.image_size = (h, w)
        self.padded = (math.ceil(h / 4) * 4, math.ceil(w / 4) * 4)
        inner = (2 * width, self.padded[0] // 4, self.padded[1] // 4)
        flat = inner[0] * inner[1] * inner[2]
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(flat, 2 * latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, flat),
            nn.ReLU(),
            nn.Unflatten(1, inner),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(width, in_channels, 4, stride=2, padding=1),
        )

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.image_size
        return F.pad(x, (0, self.padded[1] - w, 0, self.padded[0] - h))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance."""
        return self.encoder(self._pad(x)).chunk(2, dim=1)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h, w = self.image_size
        return self.decoder(z)[:, :, :h, :w]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction through the posterior mean, in ``[0, 1]``."""
        mean, _ = self.encode(x)
        return torch.sigmoid(self.decode_logits(mean))


@register_supervisor("vae-reconstruction", aliases=("vae", "autoencoder"))
class VAEReconstruction(Supervisor):
    """Mean squared reconstruction error of a convolutional VAE trained on nominal inputs.

    Training maximises the ELBO with a Bernoulli likelihood (pixels in ``[0, 1]``) and a
    standard normal prior; scoring reconstructs through the posterior mean, so scores are
    deterministic.

    Args:
        latent_dim: size of the latent code.
        width: channels of the first convolution (the second has twice as many).
        epochs: passes over the nominal data.
        lr: Adam learning rate.
        seed: seeds initialisation, the shuffling and the reparameterisation noise.
    """

    name = "vae-reconstruction"
    family = "reconstruction"
    requires_fit = True
    fit_needs = "a convolutional VAE of the nominal inputs"
    score_meaning = "mean squared reconstruction error per pixel"

    def __init__(
        self,
        model: nn.Module,
        *,
        latent_dim: int = 16,
        width: int = 16,
        epochs: int = 8,
        lr: float = 2e-3,
        seed: int = 0,
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        for label, value in (("latent_dim", latent_dim), ("width", width), ("epochs", epochs)):
            if value < 1:
                raise InvalidInputError(f"{label} must be positive, got {value}")
        if not lr > 0:
            raise InvalidInputError(f"lr must be positive, got {lr}")
        self.latent_dim = int(latent_dim)
        self.width = int(width)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.seed = int(seed)
        self.vae_: ConvVAE | None = None
        self.image_shape_: tuple[int, int, int] | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "latent_dim": self.latent_dim,
            "width": self.width,
            "epochs": self.epochs,
            "lr": self.lr,
            "seed": self.seed,
        }

    def _build(self, image_shape: tuple[int, int, int]) -> ConvVAE:
        c, h, w = image_shape
        if min(h, w) < 8:
            raise InvalidInputError(f"the VAE needs images of at least 8 x 8 pixels, got {h} x {w}")
        return ConvVAE(
            in_channels=c, image_size=(h, w), latent_dim=self.latent_dim, width=self.width
        )

    def fit(self, nominal: Dataset | Corpus | torch.Tensor) -> Self:
        # Held as stored (uint8 for data sets and corpora, a quarter of float32) and
        # converted batch by batch.
        images = torch.cat([batch for batch, _ in iter_nominal(nominal, batch_size=4096)])
        as_model_input(images[:1])  # shape and dtype checks before any training
        image_shape = tuple(int(s) for s in images.shape[1:])
        device = model_device(self.model)
        train_batch = 128
        with torch.random.fork_rng(devices=[]), limited_threads():
            torch.manual_seed(self.seed)
            vae = self._build(image_shape).to(device)
            generator = torch.Generator().manual_seed(self.seed)
            optimizer = torch.optim.Adam(vae.parameters(), lr=self.lr)
            vae.train()
            for _ in range(self.epochs):
                for index in torch.randperm(len(images), generator=generator).split(train_batch):
                    x = as_model_input(images[index]).to(device)
                    mean, log_var = vae.encode(x)
                    noise = torch.randn(mean.shape, generator=generator).to(device)
                    z = mean + (0.5 * log_var).exp() * noise
                    reconstruction = F.binary_cross_entropy_with_logits(
                        vae.decode_logits(z), x, reduction="sum"
                    )
                    kl = -0.5 * (1 + log_var - mean.square() - log_var.exp()).sum()
                    loss = (reconstruction + kl) / len(x)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
        self.vae_ = vae.eval()
        self.image_shape_ = image_shape
        self.fitted_ = True
        return self

    def fitted_state(self) -> dict[str, torch.Tensor]:
        self._check_fitted()
        assert self.vae_ is not None and self.image_shape_ is not None
        return {
            **module_state("vae", self.vae_),
            "image_shape": torch.tensor(self.image_shape_, dtype=torch.int64),
        }

    def load_fitted_state(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if "image_shape" not in tensors:
            raise FittedStateError("saved VAE state lacks its image shape")
        image_shape = tuple(int(v) for v in tensors["image_shape"].tolist())
        vae = self._build(image_shape)
        load_module_state("vae", vae, tensors)
        self.vae_ = vae.to(model_device(self.model)).eval()
        self.image_shape_ = image_shape

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        assert self.vae_ is not None
        x = as_model_input(x)
        if tuple(x.shape[1:]) != self.image_shape_:
            raise InvalidInputError(
                f"the VAE was fitted on images of shape {self.image_shape_}, "
                f"got {tuple(x.shape[1:])}"
            )
        device = next(self.vae_.parameters()).device
        errors = []
        with limited_threads():  # small convolutions: see thread_limit
            for chunk in x.split(self.batch_size):
                chunk = chunk.to(device)
                error = (self.vae_.reconstruct(chunk) - chunk).square().flatten(1).mean(1)
                errors.append(error.cpu())
        if not errors:
            raise InvalidInputError("cannot score an empty batch")
        return torch.cat(errors)
