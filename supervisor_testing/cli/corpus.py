"""`suptest corpus`: build, inspect, verify and export corpora."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import OutputPath, show_progress


@click.group()
def corpus() -> None:
    """Build, inspect, verify and export corpora.

    CORPUS arguments take a corpus directory or a recipe (a name from `suptest list corpora`
    or a .toml path), which is built into the cache on first use.
    """


@corpus.command("build")
@click.argument("recipe")
@click.option("--overwrite", is_flag=True, help="Rebuild even if the cache holds it.")
@click.pass_context
def corpus_build(ctx: click.Context, recipe: str, overwrite: bool) -> None:
    """Materialise RECIPE into the cache and print the corpus directory."""
    from supervisor_testing.recipes import build_recipe

    built = build_recipe(recipe, overwrite=overwrite, progress=show_progress(ctx))
    click.echo(str(built.path))


@corpus.command("from-dataset")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--split", default="test", show_default=True)
@click.option("--out", "out", required=True, type=OutputPath(file_okay=False))
@click.option("--samples", type=int, default=None, help="Seeded subsample size.")
@click.option("--seed", default=0, show_default=True)
@click.option("--overwrite", is_flag=True)
def corpus_from_dataset_command(
    dataset_name: str, split: str, out: Path, samples: int | None, seed: int, overwrite: bool
) -> None:
    """Write a nominal corpus from a split of DATASET (a name or a path to user data)."""
    from supervisor_testing.corpus import corpus_from_dataset
    from supervisor_testing.data import load_dataset

    built = corpus_from_dataset(
        load_dataset(dataset_name, split), out, num_samples=samples, seed=seed,
        overwrite=overwrite,
    )  # fmt: skip
    click.echo(f"{built.name}: {len(built)} samples in {built.path}")


@corpus.command("show")
@click.argument("spec", metavar="CORPUS")
@click.option("--out", type=OutputPath(dir_okay=False), default=None,
              help="PNG path [default: <corpus name>.png].")  # fmt: skip
@click.option("--count", default=64, show_default=True)
@click.option("--seed", default=0, show_default=True)
def corpus_show(spec: str, out: Path | None, count: int, seed: int) -> None:
    """Summarise CORPUS and save an image grid of seeded random samples."""
    from supervisor_testing.recipes import resolve_corpus
    from supervisor_testing.report import corpus_grid

    opened = resolve_corpus(spec)
    manifest = opened.manifest
    click.echo(f"name:       {opened.name}")
    click.echo(f"kind:       {opened.kind}")
    click.echo(f"samples:    {len(opened)}  image shape: {tuple(opened.image_shape)}")
    click.echo(f"generator:  {manifest.generator.name} {manifest.generator.version}")
    click.echo(f"source:     {manifest.source.dataset} ({manifest.source.split})")
    click.echo(f"columns:    {', '.join(opened.columns)}")
    from supervisor_testing.report.severity_grid import has_severity_grid, severity_grid

    if has_severity_grid(opened):  # corrupted corpora: corruption x severity
        path = severity_grid(opened, out or Path(f"{opened.name}.png"), seed=seed)
    else:
        path = corpus_grid(opened, out or Path(f"{opened.name}.png"), count=count, seed=seed)
    click.echo(f"grid:       {path}")


@corpus.command("verify")
@click.argument("spec", metavar="CORPUS")
def corpus_verify(spec: str) -> None:
    """Check CORPUS's manifest, schema and every shard hash."""
    from supervisor_testing.corpus import Corpus

    opened = Corpus.open(spec, verify=True)
    click.echo(f"ok: {opened.name}, {len(opened)} samples, sha256 {opened.sha256()}")


@corpus.command("export")
@click.argument("spec", metavar="CORPUS")
@click.option("--format", "fmt", type=click.Choice(["png", "npz"]), required=True)
@click.option("--out", required=True, type=OutputPath(),
              help="A folder for png, a .npz file for npz.")  # fmt: skip
def corpus_export(spec: str, fmt: str, out: Path) -> None:
    """Export CORPUS as a PNG folder with labels.csv, or as one .npz file."""
    from supervisor_testing.recipes import resolve_corpus

    opened = resolve_corpus(spec)
    written = opened.export_png(out) if fmt == "png" else opened.export_npz(out)
    click.echo(str(written))
