"""`suptest generate adversarial`: FGSM / PGD / BIM / DeepFool inputs at the smallest
successful epsilon, against one classifier."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import show_progress


def _parse_epsilons(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(item) for item in value.split(",") if item.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a list of numbers; write e.g. 0,0.01,0.1,0.3", ctx, param
        ) from None


@click.command("adversarial")
@click.option("--corpus", "corpus_spec", default=None,
              help="Nominal CORPUS to attack: a corpus directory or a recipe name.")  # fmt: skip
@click.option("--dataset", "dataset_name", default=None,
              help="Or a data set name (or path to user data) to attack.")  # fmt: skip
@click.option("--split", default="test", show_default=True,
              help="The --dataset split to attack.")  # fmt: skip
@click.option("--model", "model_spec", default="cnn", show_default=True,
              help="Architecture name, saved model directory or "
                   "package.module:factory.")  # fmt: skip
@click.option("--train-data", default=None,
              help="Data set an architecture is trained on [default: the source's].")  # fmt: skip
@click.option("--model-seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Training seed of an architecture (cached per seed).")  # fmt: skip
@click.option("--attacks", default="fgsm,pgd,bim,deepfool", show_default=True,
              help="Comma-separated attacks; each gets an equal share of the inputs.")  # fmt: skip
@click.option("--epsilons", callback=_parse_epsilons, default=None,
              help="Comma-separated ladder on 0..1 pixels [default: the AmbiGuess "
                   "study's 13 steps, 0 to 1].")  # fmt: skip
@click.option("--n", "num_samples", type=click.IntRange(min=1), default=None,
              help="Seeded subsample of source inputs [default: all].")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seeds the subsample, the split into attacks and PGD's random "
                   "starts.")  # fmt: skip
@click.option("--store-float", is_flag=True,
              help="Also search in float space: float_epsilon and float_perturbation "
                   "columns (slower).")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Inputs attacked together (memory only; results do not change).")  # fmt: skip
@click.option("--device", default=None, help="Torch device for the model, e.g. cuda.")
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at --out.")
@click.pass_context
def generate_adversarial(
    ctx: click.Context,
    corpus_spec: str | None,
    dataset_name: str | None,
    split: str,
    model_spec: str,
    train_data: str | None,
    model_seed: int,
    attacks: str,
    epsilons: list[float] | None,
    num_samples: int | None,
    seed: int,
    store_float: bool,
    batch_size: int | None,
    device: str | None,
    out: Path,
    overwrite: bool,
) -> None:
    """Attack a nominal set: a share per attack, each input at its smallest epsilon."""
    # Maps the flags onto the `adversarial` generator's parameters and Generator.build.
    if (corpus_spec is None) == (dataset_name is None):
        raise click.UsageError("pass exactly one of --corpus CORPUS and --dataset NAME")
    from supervisor_testing.generation import create_generator
    from supervisor_testing.models import architectures
    from supervisor_testing.recipes import list_recipes, resolve_corpus

    if corpus_spec is not None:
        source = resolve_corpus(corpus_spec, progress=show_progress(ctx)).to_dataset()
    else:
        from supervisor_testing.data import load_dataset

        source = load_dataset(dataset_name, split)
    if train_data is None and model_spec.strip() in architectures:
        train_data = source.name
    generator = create_generator(
        "adversarial",
        model=model_spec,
        train_data=train_data,
        model_seed=model_seed,
        attacks=attacks,
        epsilons=epsilons,
        store_float=store_float,
    )
    if batch_size is not None:
        generator.batch_size = batch_size
    if device is not None:
        generator.device = device  # type: ignore[attr-defined]
    built = generator.build(
        source,
        out,
        seed=seed,
        num_samples=num_samples,
        name=out.name,
        recipe=corpus_spec if corpus_spec in list_recipes() else None,
        overwrite=overwrite,
        progress=show_progress(ctx),
    )
    data = built.load(["attack", "success", "epsilon"])
    click.echo(f"{built.name}: {len(built)} inputs in {built.path} "
               f"(model {built.manifest.generator.params['model_sha256'][:12]})")  # fmt: skip
    for code, name in enumerate(built.categories("attack")):
        mine = data["attack"] == code
        flipped = data["epsilon"][mine & data["success"]]
        median = f"{float(flipped.median()):g}" if len(flipped) else "-"
        click.echo(f"  {name:<9} {int(mine.sum()):>6} inputs, {len(flipped):>6} flipped, "
                   f"median epsilon {median}")  # fmt: skip
