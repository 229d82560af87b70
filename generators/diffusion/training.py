"""Train a small DDPM on a data set with diffusers, cached and resumable.

The model is a diffusers ``UNet2DModel`` built from :class:`DiffusionModelConfig`; the
loss is the standard noise-prediction MSE under ``DDPMScheduler.add_noise``. The EMA of
the weights is what gets saved, as a ``DDPMPipeline`` directory keyed by the data hash,
both configs and the seed. A time budget stops a run early with a checkpoint, and the next
call with the same settings resumes from it, batch for batch as if it never stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from generators.diffusion.checkpoint import load_checkpoint, save_checkpoint
from generators.diffusion.config import DiffusionModelConfig, DiffusionTrainConfig
from generators.diffusion.image_space import to_model_space
from generators.diffusion.model_store import (
    TRAINING_FILE,
    DiffusionModel,
    load_diffusion_model,
    save_diffusion_model,
)
from supervisor_testing.data import Dataset
from supervisor_testing.paths import cache_dir
from supervisor_testing.supervisors.thread_limit import limited_threads

__all__ = ["DIFFUSION_FORMAT_VERSION", "diffusion_cache_key", "train_diffusion_model"]

#: bump when a change makes cached diffusion models incompatible.
DIFFUSION_FORMAT_VERSION = 1


def diffusion_cache_key(
    dataset: Dataset, model_config: DiffusionModelConfig, train_config: DiffusionTrainConfig
) -> str:
    """sha256 over the data, both configs (the step target included) and the format."""
    payload = {
        "dataset_sha256": dataset.sha256(),
        "model": model_config.to_dict(),
        "train": train_config.to_dict(),
        "format": DIFFUSION_FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def _batch_indices(n: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """Batch ``step`` of seeded epoch permutations (drop-last), a pure function of step."""
    per_epoch = max(n // batch_size, 1)
    epoch, slot = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7_919 + epoch))
    return order[slot * batch_size : (slot + 1) * batch_size]


def _build_unet(model_config: DiffusionModelConfig, dataset: Dataset, seed: int) -> Any:
    from diffusers import UNet2DModel

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return UNet2DModel(
            **model_config.unet_kwargs(
                in_channels=dataset.image_shape[0],
                num_classes=dataset.num_classes if model_config.class_conditional else 0,
            )
        )


def train_diffusion_model(
    dataset: Dataset,
    *,
    model_config: DiffusionModelConfig | None = None,
    train_config: DiffusionTrainConfig | None = None,
    time_budget_s: float | None = None,
    max_new_steps: int | None = None,
    checkpoint_every: int = 200,
    threads: int | None = 1,
    directory: str | Path | None = None,
    progress: bool = False,
) -> DiffusionModel:
    """Train (or load, or resume) a DDPM on ``dataset``; return its EMA weights.

    Args:
        dataset: the training split (uint8 images, labels for class conditioning).
        model_config: the UNet and schedule; :class:`DiffusionModelConfig` defaults.
        train_config: steps, batch, optimiser, EMA, seed.
        time_budget_s: stop after this much wall time (checkpoint and model are saved;
            ``training.json`` records ``complete: false`` and the steps reached).
        max_new_steps: stop after this many steps in this call (same record); a way to
            spread one training over several sessions.
        checkpoint_every: steps between checkpoints.
        threads: torch intra-op threads while training (``None``: torch's default). One
            by default: on a shared two-core machine (load ~9) the default 32x32 model
            took 1.5-9 s per step with two threads and about 1 s with one; the weights
            are the same bits either way.
        directory: where the entry lives; default ``$CACHE/diffusion/<key>``.
        progress: show a tqdm bar.
    """
    from diffusers import DDPMScheduler
    from diffusers.training_utils import EMAModel
    from tqdm.auto import tqdm

    model_config = model_config or DiffusionModelConfig()
    train_config = train_config or DiffusionTrainConfig()
    key = diffusion_cache_key(dataset, model_config, train_config)
    root = Path(directory) if directory else cache_dir("diffusion", key)
    model_dir, checkpoint_dir = root / "model", root / "checkpoint"
    if (model_dir / TRAINING_FILE).is_file():
        record = json.loads((model_dir / TRAINING_FILE).read_text())
        if record.get("complete"):
            return load_diffusion_model(model_dir)

    seed = train_config.seed
    unet = _build_unet(model_config, dataset, seed)
    scheduler = DDPMScheduler(**model_config.scheduler_kwargs())
    optimizer = torch.optim.AdamW(unet.parameters(), lr=train_config.learning_rate)
    ema = EMAModel(unet.parameters(), decay=train_config.ema_decay, use_ema_warmup=True)
    state = load_checkpoint(checkpoint_dir, unet=unet, ema=ema, optimizer=optimizer) or {
        "step": 0,
        "wall_s": 0.0,
        "cpu_s": 0.0,
        "loss_ema": None,
    }
    data = to_model_space(dataset.images, image_size=model_config.image_size)
    labels = dataset.labels
    null_class = dataset.num_classes
    started, cpu_started = time.perf_counter(), time.process_time()
    wall_before, cpu_before = state["wall_s"], state["cpu_s"]
    step = int(state["step"])
    stop_at = (
        train_config.max_steps
        if max_new_steps is None
        else min(train_config.max_steps, step + max_new_steps)
    )

    def save_state() -> None:
        state.update(
            step=step,
            wall_s=wall_before + time.perf_counter() - started,
            cpu_s=cpu_before + time.process_time() - cpu_started,
        )
        save_checkpoint(checkpoint_dir, unet=unet, ema=ema, optimizer=optimizer, state=state)

    unet.train()
    thread_limit = limited_threads(threads) if threads else contextlib.nullcontext()
    bar = tqdm(
        total=train_config.max_steps, initial=step, disable=not progress, desc="train diffusion"
    )
    stopped_early = False
    with thread_limit:
        while step < train_config.max_steps:
            if step >= stop_at or (
                time_budget_s is not None and time.perf_counter() - started >= time_budget_s
            ):
                stopped_early = True
                break
            rng = _step_generator(seed, step)
            index = _batch_indices(len(data), train_config.batch_size, seed, step)
            x0 = data[index]
            noise = torch.randn(x0.shape, generator=rng)
            t = torch.randint(0, model_config.num_train_timesteps, (len(x0),), generator=rng)
            class_labels = None
            if model_config.class_conditional:
                drop = torch.rand(len(x0), generator=rng) < train_config.label_dropout
                class_labels = torch.where(drop, null_class, labels[index])
            prediction = unet(
                scheduler.add_noise(x0, noise, t), t, class_labels=class_labels
            ).sample
            loss = F.mse_loss(prediction, noise)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            ema.step(unet.parameters())
            step += 1
            value = float(loss.detach())
            previous = state["loss_ema"]
            state["loss_ema"] = value if previous is None else 0.99 * previous + 0.01 * value
            bar.update(1)
            bar.set_postfix(loss=f"{state['loss_ema']:.4f}")
            if step % checkpoint_every == 0:
                save_state()
    bar.close()
    save_state()

    final = _build_unet(model_config, dataset, seed)
    ema.copy_to(final.parameters())
    final.eval().requires_grad_(False)
    model = DiffusionModel(
        unet=final,
        scheduler_config=model_config.scheduler_kwargs(),
        num_classes=dataset.num_classes if model_config.class_conditional else None,
        training={
            "complete": not stopped_early,
            "steps": step,
            "wall_s": round(state["wall_s"], 1),
            "cpu_s": round(state["cpu_s"], 1),
            "final_loss_ema": state["loss_ema"],
            "dataset": {
                "name": dataset.name,
                "split": dataset.split,
                "size": len(dataset),
                "sha256": dataset.sha256(),
                "source": dataset.source,
            },
            "model_config": model_config.to_dict(),
            "train_config": train_config.to_dict(),
            "cache_key": key,
            "torch": torch.__version__,
            "diffusers": __import__("diffusers").__version__,
            "threads": torch.get_num_threads(),
        },
    )
    save_diffusion_model(model, model_dir)
    return model
