"""`suptest generate corruptions`: a corrupted corpus (MNIST-C, ImageNet-C / CIFAR-10-C)
from a nominal corpus."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.executor_options import (
    ExecutorSpec,
    executor_options,
    shard_size_option,
)
from supervisor_testing.cli.options import build_from_corpus


@click.command("corruptions")
@click.option("--corpus", "corpus_spec", required=True,
              help="Nominal CORPUS to corrupt: a corpus directory or a recipe name.")  # fmt: skip
@click.option("--suite", type=click.Choice(["imagenet-c", "mnist-c"]), default="imagenet-c",
              show_default=True)  # fmt: skip
@click.option("--corruptions", default=None,
              help="Comma-separated names, 'benchmark' (the suite's 15; default) "
                   "or 'all'.")  # fmt: skip
@click.option("--severities", default=None,
              help="e.g. 1-5 or 1,3 [default: 1-5 for imagenet-c, MNIST-C's published "
                   "level of each corruption for mnist-c].")  # fmt: skip
@click.option("--table", type=click.Choice(["auto", "cifar10-c", "imagenet-c", "mnist-c"]),
              default="auto", show_default=True,
              help="Parameter table; auto: CIFAR-10-C up to 64 px, ImageNet-C above.")  # fmt: skip
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Seeded subsample of source images; each appears in every cell.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at --out.")
@executor_options
@shard_size_option
@click.pass_context
def generate_corruptions(
    ctx: click.Context,
    corpus_spec: str,
    suite: str,
    corruptions: str | None,
    severities: str | None,
    table: str,
    samples: int | None,
    seed: int,
    out: Path,
    overwrite: bool,
    executor_spec: ExecutorSpec,
    shard_size: int,
) -> None:
    """Corrupt every image of CORPUS with each corruption at each severity."""
    # Maps the flags onto the `corruptions` generator's parameters and Generator.build.
    from supervisor_testing.generation import create_generator

    generator = create_generator(
        "corruptions", suite=suite, corruptions=corruptions, severities=severities, table=table
    )
    built, source = build_from_corpus(
        ctx,
        generator,
        corpus_spec,
        out=out,
        seed=seed,
        samples=samples,
        overwrite=overwrite,
        executor_spec=executor_spec,
        shard_size=shard_size,
    )
    cells = len(generator.cells(source.image_shape))  # type: ignore[attr-defined]
    click.echo(f"{built.name}: {len(built)} samples ({cells} corruption x severity cells) "
               f"in {built.path}")  # fmt: skip
