"""Deterministic training of the reference classifiers, cached on disk by content.

The same data set, :class:`TrainConfig` and code version give bit-identical weights on
the same CPU build: initialisation and dropout draw from torch's global generator seeded
inside :func:`torch.random.fork_rng` (so the caller's RNG state is neither used nor
changed), shuffling and augmentation from their own :class:`torch.Generator`. That makes
the weights a pure function of their inputs, which is what allows caching them under a
hash of those inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.models.config import TrainConfig
from supervisor_testing.models.networks import architectures, build_model
from supervisor_testing.models.storage import (
    MODEL_FORMAT_VERSION,
    TrainedModel,
    load_trained_model,
    write_model_dir,
)
from supervisor_testing.paths import cache_dir

__all__ = ["model_cache_key", "random_shift", "train_model"]


def model_cache_key(dataset: Dataset, config: TrainConfig) -> str:
    """sha256 over the training data, the training config and the model format version."""
    payload = {
        "dataset_sha256": dataset.sha256(),
        "train_config": config.to_dict(),
        "format_version": MODEL_FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels per axis, filling with zeros.

    Shifts are drawn from ``generator`` only, so augmentation is reproducible.
    """
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    shifts = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    padded = F.pad(images, (max_shift,) * 4)
    rows = (torch.arange(h) + shifts[0][:, None])[:, :, None]  # N x H x 1
    cols = (torch.arange(w) + shifts[1][:, None])[:, None, :]  # N x 1 x W
    batch = torch.arange(n)[:, None, None]
    # Advanced indexing around the channel slice puts channels last: N x H x W x C.
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def _epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    # BatchNorm cannot normalise a batch of one sample in training mode.
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


def _make_optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            module.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=config.momentum > 0,
        )
    return torch.optim.AdamW(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _make_schedule(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=0.25
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def fit(module: nn.Module, dataset: Dataset, config: TrainConfig, *, progress: bool) -> None:
    """Train ``module`` in place; the caller has seeded torch's global generator."""
    generator = torch.Generator().manual_seed(config.seed)
    n = len(dataset)
    steps_per_epoch = math.ceil(n / config.batch_size)
    if n % config.batch_size == 1 and n > 1:
        steps_per_epoch -= 1
    optimizer = _make_optimizer(module, config)
    schedule = _make_schedule(optimizer, config, config.epochs * steps_per_epoch)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=config.epochs * steps_per_epoch,
            desc=f"training {config.arch} on {dataset.name}/{dataset.split}",
            unit="batch",
        )
    module.train()
    try:
        for _ in range(config.epochs):
            for index in _epoch_batches(n, config.batch_size, generator):
                x = dataset.images[index].float().div_(255.0)
                x = random_shift(x, config.augment_shift, generator)
                loss = F.cross_entropy(
                    module(x), dataset.labels[index], label_smoothing=config.label_smoothing
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                if bar is not None:
                    bar.update()
                    bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        module.eval()


def train_model(
    dataset: Dataset,
    arch: str = "cnn",
    *,
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = False,
    cache: bool = True,
    **overrides: Any,
) -> TrainedModel:
    """Train ``arch`` on ``dataset`` with its default config, or load it from the cache.

    Args:
        dataset: the training split.
        arch: a name from :func:`list_architectures`.
        seed: seeds initialisation, dropout, shuffling and augmentation.
        epochs: overrides the architecture's default number of epochs.
        progress: show a progress bar.
        cache: look up and store the weights under ``cache_dir("models", key)``, where the
            key hashes the data, the config and :data:`MODEL_FORMAT_VERSION`.
        overrides: any other :class:`TrainConfig` field.

    Raises:
        UnknownNameError: ``arch`` is not registered.
        InvalidInputError: an override is unknown or invalid, or the data set is too small.
    """
    arch = architectures.resolve(arch)
    if epochs is not None:
        overrides["epochs"] = epochs
    config = TrainConfig.for_arch(arch, seed=seed, **overrides)
    if len(dataset) < 2 or dataset.num_classes < 2:
        raise InvalidInputError(
            f"data set {dataset.name!r} has {len(dataset)} samples and {dataset.num_classes} "
            "classes; training needs at least 2 of each"
        )
    target: Path | None = None
    if cache:
        target = cache_dir("models", create=True) / model_cache_key(dataset, config)
        if target.is_dir():
            return load_trained_model(target)

    channels, height, width = dataset.image_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        module = build_model(
            arch,
            in_channels=channels,
            image_size=(height, width),
            num_classes=dataset.num_classes,
        )
        start = time.perf_counter()
        fit(module, dataset, config, progress=progress)
        seconds = time.perf_counter() - start

    trained = TrainedModel(
        module=module,
        config=config,
        class_names=tuple(dataset.class_names),
        input_shape=dataset.image_shape,
        dataset_sha256=dataset.sha256(),
        train_seconds=round(seconds, 3),
        path=None,
        dataset_name=dataset.name,
        dataset_split=dataset.split,
    )
    if target is None:
        return trained
    # FileExistsError: another process cached the same key first; its weights are identical.
    with contextlib.suppress(FileExistsError):
        write_model_dir(trained, target, replace=False)
    return load_trained_model(target)
