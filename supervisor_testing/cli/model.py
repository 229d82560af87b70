"""`suptest model`: reference classifiers."""

from __future__ import annotations

import click

from supervisor_testing.cli.options import show_progress


@click.group()
def model() -> None:
    """Reference classifiers: train and cache them."""


@model.command("train")
@click.option("--dataset", "dataset_name", default="mnist", show_default=True)
@click.option("--arch", default="cnn", show_default=True, help="cnn, mlp or resnet.")
@click.option("--seed", default=0, show_default=True)
@click.pass_context
def model_train(ctx: click.Context, dataset_name: str, arch: str, seed: int) -> None:
    """Train (or load from the cache) a reference classifier; print its test accuracy."""
    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import accuracy, train_model

    trained = train_model(
        load_dataset(dataset_name, "train"), arch, seed=seed, progress=show_progress(ctx)
    )
    acc = accuracy(trained.module, load_dataset(dataset_name, "test"))
    click.echo(f"{arch} on {dataset_name} (seed {seed}): test accuracy {acc:.4f}")
    click.echo(f"weights: {trained.path}")
