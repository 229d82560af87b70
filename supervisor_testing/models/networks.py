"""The reference classifier architectures and the registry that names them.

Every architecture is a :class:`Classifier`: ``features`` maps float32 images in ``[0, 1]``
to the penultimate activations (``N x D``) and ``head`` is one ``nn.Linear(D, K)``. Keeping
that split fixed lets feature-based supervisors hook ``features`` by name, whichever
architecture they watch. Normalisation is the first layer of ``features``, so callers
always pass raw ``[0, 1]`` pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.registry import Registry

__all__ = [
    "MIN_IMAGE_SIZE",
    "Classifier",
    "Normalize",
    "architectures",
    "build_model",
    "list_architectures",
]

#: The smallest height / width every architecture accepts (scikit-learn's 8 x 8 digits).
MIN_IMAGE_SIZE = 8

ArchitectureFactory = Callable[..., "Classifier"]

#: Architecture name -> factory ``(in_channels=, image_size=, num_classes=) -> Classifier``.
architectures: Registry[ArchitectureFactory] = Registry(
    "architecture", group="supervisor_testing.architectures"
)


class Normalize(nn.Module):
    """``(x - mean) / std`` with fixed constants: part of the architecture, not the weights."""

    def __init__(self, mean: float = 0.5, std: float = 0.5) -> None:
        super().__init__()
        # Non-persistent: the constants are defined by the code, so the weights file
        # holds learned state only.
        self.register_buffer("mean", torch.tensor(mean), persistent=False)
        self.register_buffer("std", torch.tensor(std), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    """``head(features(x))``: the shape every reference model has."""

    def __init__(self, features: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.features = features
        self.head = head

    @property
    def feature_dim(self) -> int:
        return self.head.in_features

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@architectures.register("cnn")
def cnn(*, in_channels: int, image_size: tuple[int, int], num_classes: int) -> Classifier:
    """conv32-pool-conv64-pool-dropout(0.25)-fc128-dropout(0.5): a small MNIST-class CNN.

    Pooling after each convolution keeps training affordable on a laptop CPU (a quarter of
    the cost of pooling once); padding keeps 8 x 8 digits usable; the two dropout layers
    make MC-dropout supervisors applicable.
    """
    h, w = image_size
    features = nn.Sequential(
        Normalize(),
        nn.Conv2d(in_channels, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(64 * (h // 4) * (w // 4), 128),
        nn.ReLU(),
        nn.Dropout(0.5),
    )
    return Classifier(features, nn.Linear(128, num_classes))


@architectures.register("mlp")
def mlp(*, in_channels: int, image_size: tuple[int, int], num_classes: int) -> Classifier:
    """flatten-256-128 with dropout: a model with no spatial prior, for contrast."""
    h, w = image_size
    features = nn.Sequential(
        Normalize(),
        nn.Flatten(),
        nn.Linear(in_channels * h * w, 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
    )
    return Classifier(features, nn.Linear(128, num_classes))


class BasicBlock(nn.Module):
    """Pre-activation residual block (He et al. 2016): BN-ReLU-conv twice plus a shortcut."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        # The projection sees the activated input, as in the pre-activation paper.
        identity = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + identity


@architectures.register("resnet")
def resnet(
    *,
    in_channels: int,
    image_size: tuple[int, int],
    num_classes: int,
    widths: tuple[int, int, int] = (16, 32, 64),
    blocks_per_stage: int = 1,
) -> Classifier:
    """A pre-activation ResNet with three stages (ResNet-8 by default) and BatchNorm.

    Global average pooling makes the feature size independent of the image size.
    """
    del image_size  # adaptive pooling handles every size >= MIN_IMAGE_SIZE
    layers: list[nn.Module] = [
        Normalize(),
        nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
    ]
    channels = widths[0]
    for stage, width in enumerate(widths):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append(BasicBlock(channels, width, stride=stride))
            channels = width
    layers += [
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    ]
    return Classifier(nn.Sequential(*layers), nn.Linear(channels, num_classes))


def list_architectures() -> list[str]:
    """The names :func:`build_model` accepts, in natural order."""
    return architectures.names()


def build_model(
    arch: str, *, in_channels: int, image_size: tuple[int, int], num_classes: int
) -> nn.Module:
    """A freshly initialised ``arch`` for ``in_channels x H x W`` images and ``num_classes``.

    Initialisation draws from torch's global generator; :func:`train_model` seeds it.

    Raises:
        UnknownNameError: ``arch`` is not registered.
        InvalidInputError: the shape is one no architecture can take.
    """
    factory = architectures.get(arch)
    h, w = (int(s) for s in image_size)
    if in_channels < 1 or num_classes < 2:
        raise InvalidInputError(
            f"a classifier needs at least 1 input channel and 2 classes, "
            f"got in_channels={in_channels}, num_classes={num_classes}"
        )
    if min(h, w) < MIN_IMAGE_SIZE:
        raise InvalidInputError(
            f"images must be at least {MIN_IMAGE_SIZE} x {MIN_IMAGE_SIZE} pixels, got {h} x {w}; "
            "upsample them first"
        )
    return factory(in_channels=int(in_channels), image_size=(h, w), num_classes=int(num_classes))
