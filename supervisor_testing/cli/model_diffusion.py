"""`suptest model train-diffusion`: the DDPM behind the diffusion-edit generator."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import show_progress


def _channels(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integers like 16,32,32, got {value!r}"
        ) from None


@click.command("train-diffusion")
@click.option("--dataset", "dataset_name", default="mnist", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--steps", default=8000, show_default=True, help="Optimiser steps (batch 64).")
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Minutes of wall time; stop with a checkpoint and resume on the next call.",
)
@click.option(
    "--conditional/--unconditional",
    default=True,
    show_default=True,
    help="Class-conditional (with a null class for unconditional use) or not.",
)
@click.option(
    "--channels",
    default="16,32,32",
    show_default=True,
    callback=_channels,
    help="UNet block_out_channels (multiples of 8).",
)
@click.option("--layers", default=1, show_default=True, help="ResNet layers per UNet block.")
@click.option("--image-size", default=32, show_default=True, help="Side the images are padded to.")
@click.option(
    "--export",
    type=click.Path(path_type=Path),
    default=None,
    help="Also copy the trained diffusers directory here.",
)
@click.pass_context
def train_diffusion(
    ctx: click.Context,
    dataset_name: str,
    seed: int,
    steps: int,
    time_budget: float | None,
    conditional: bool,
    channels: tuple[int, ...],
    layers: int,
    image_size: int,
    export: Path | None,
) -> None:
    """Train (resume, or load from the cache) a small DDPM on a data set's train split."""
    import shutil

    from generators.diffusion import (
        DiffusionModelConfig,
        DiffusionTrainConfig,
        train_diffusion_model,
    )
    from supervisor_testing.data import load_dataset

    model = train_diffusion_model(
        load_dataset(dataset_name, "train"),
        model_config=DiffusionModelConfig(
            block_out_channels=channels,
            layers_per_block=layers,
            image_size=image_size,
            class_conditional=conditional,
        ),
        train_config=DiffusionTrainConfig(max_steps=steps, seed=seed),
        time_budget_s=None if time_budget is None else time_budget * 60.0,
        progress=show_progress(ctx),
    )
    record = model.training
    state = "complete" if record.get("complete") else "stopped by the time budget (resumable)"
    click.echo(
        f"{model.describe()}: {record.get('steps')} steps, {state}, "
        f"{record.get('wall_s')} s wall, {record.get('cpu_s')} s CPU"
    )
    if export is not None:
        if export.exists():
            shutil.rmtree(export)
        shutil.copytree(model.path, export)
        click.echo(f"exported to {export}")
