"""All class-pair autoencoders as one model: stacked weights, batched matmuls.

AmbiGuess trains one regularized adversarial autoencoder per class pair (45 for ten
classes). Each is small (784-128-128-2 and back), so running them one after another leaves
a CPU idle between tiny matmuls. Here every layer holds the weights of all ``P`` pairs as
one ``P x in x out`` tensor and applies them with one :func:`torch.baddbmm`, so one step
trains every pair at once. Pairs never share weights or gradients: the batch dimension of
``bmm`` keeps them apart.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from generators.ambiguous.config import LATENT_DIM, PairTrainingConfig

__all__ = ["PairAAE", "StackedLinear", "StackedMLP"]


class StackedLinear(nn.Module):
    """``P`` independent dense layers: ``x[p] @ weight[p] + bias[p]`` for every pair ``p``."""

    def __init__(self, pairs: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(pairs, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(pairs, 1, out_features))

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Glorot-uniform weights and zero biases, Keras's ``Dense`` defaults."""
        _, fan_in, fan_out = self.weight.shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def _dropout(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    # torch's own dropout draws from the global generator; training draws every mask from
    # its own generator so that the weights are a function of the seed alone. A 31-bit
    # integer per unit is cheaper to draw than a float and gives the same Bernoulli(1 - p);
    # turning it straight into the scaled float mask saves passes over the activations.
    if generator is None or p == 0:
        return x
    bits = torch.empty(x.shape, dtype=torch.int32).random_(generator=generator)
    mask = torch.where(bits >= round(p * 2**31), 1.0 / (1.0 - p), 0.0)
    return x * mask


class StackedMLP(nn.Module):
    """``in -> hidden -> hidden -> out`` for every pair, LeakyReLU and dropout in between.

    ``generator=None`` means inference (no dropout); a generator means training.
    """

    def __init__(
        self, pairs: int, sizes: tuple[int, int, int, int], *, dropout: float, slope: float
    ) -> None:
        super().__init__()
        self.fc1 = StackedLinear(pairs, sizes[0], sizes[1])
        self.fc2 = StackedLinear(pairs, sizes[1], sizes[2])
        self.fc3 = StackedLinear(pairs, sizes[2], sizes[3])
        self.dropout = dropout
        self.slope = slope

    def reset_parameters(self, generator: torch.Generator) -> None:
        for layer in (self.fc1, self.fc2, self.fc3):
            layer.reset_parameters(generator)

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """The first layer's activations before dropout (shared by steps that reuse them)."""
        return F.leaky_relu(self.fc1(x), self.slope)

    def rest(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Everything after :meth:`first_layer`."""
        h = _dropout(h, self.dropout, generator)
        h = _dropout(F.leaky_relu(self.fc2(h), self.slope), self.dropout, generator)
        return self.fc3(h)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.rest(self.first_layer(x), generator)


class PairAAE(nn.Module):
    """Encoder, decoder and label-conditioned discriminator of ``P`` class pairs.

    Shapes: images ``P x B x D`` (pixels in ``[0, 1]``, flattened), latents ``P x B x 2``,
    discriminator inputs ``[z, onehot(class, num_classes)]`` and one logit per row.

    Attributes:
        classes: int64 ``P x 2`` buffer, the two classes of each pair (first < second).
        num_classes: size of the one-hot label the discriminator reads.
    """

    def __init__(
        self,
        classes: torch.Tensor,
        *,
        input_dim: int,
        num_classes: int,
        config: PairTrainingConfig,
    ) -> None:
        super().__init__()
        pairs = int(classes.shape[0])
        h = config.hidden_dim
        kwargs = {"dropout": config.dropout, "slope": config.negative_slope}
        self.encoder = StackedMLP(pairs, (input_dim, h, h, LATENT_DIM), **kwargs)
        self.decoder_mlp = StackedMLP(pairs, (LATENT_DIM, h, h, input_dim), **kwargs)
        self.discriminator_mlp = StackedMLP(pairs, (LATENT_DIM + num_classes, h, h, 1), **kwargs)
        self.register_buffer("classes", classes.to(torch.int64).clone())
        self.input_dim = int(input_dim)
        self.num_classes = int(num_classes)
        self.config = config

    @property
    def num_pairs(self) -> int:
        return int(self.classes.shape[0])

    def reset_parameters(self, generator: torch.Generator) -> None:
        for net in (self.encoder, self.decoder_mlp, self.discriminator_mlp):
            net.reset_parameters(generator)

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.encoder(x, generator)

    def decode(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decoder_mlp(z, generator))

    def discriminate(
        self, z: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Logit ``P x B`` that ``z`` was drawn from the prior of class ``labels``."""
        onehot = F.one_hot(labels, self.num_classes).to(z.dtype)
        return self.discriminator_mlp(torch.cat([z, onehot], dim=-1), generator).squeeze(-1)

    def select(self, index: torch.Tensor | list[int]) -> PairAAE:
        """A new model holding copies of the pairs at ``index``, in that order."""
        index = torch.as_tensor(index, dtype=torch.int64)
        out = PairAAE(
            self.classes[index],
            input_dim=self.input_dim,
            num_classes=self.num_classes,
            config=self.config,
        )
        out.load_state_dict({k: v[index].clone() for k, v in self.state_dict().items()})
        return out

    @torch.no_grad()
    def assign(self, index: torch.Tensor | list[int], other: PairAAE) -> None:
        """Overwrite the pairs at ``index`` with ``other``'s pairs (in order)."""
        index = torch.as_tensor(index, dtype=torch.int64)
        mine = dict(self.named_parameters())
        for name, value in other.named_parameters():
            mine[name][index] = value.detach()
        self.classes[index] = other.classes
