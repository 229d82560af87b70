"""`suptest generate ambiguous`: an AmbiGuess corpus from a data set's training split."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import show_progress

# The training options a shipped recipe may set for the CLI; the others (pairs, filter,
# max_label_diff, model_seed) are the user's choice, not a property of the data.
_RECIPE_TRAINING_PARAMS = ("epochs", "batch_size", "max_tries")


def recipe_training_defaults(dataset_name: str, split: str) -> dict[str, int]:
    """The ``epochs``, ``batch_size`` and ``max_tries`` of the ``<dataset>-ambiguous``
    recipe when one on the recipe search path trains on this data set and split, else
    ``{}`` (the reference's defaults).

    Why: the reference's batch of 1,000 gives too few steps per epoch on the small pools
    shipped here, so no pair passes; the recipe records settings that work, and taking
    them makes the command train exactly the recipe's models (same cache key, shared).
    """
    from supervisor_testing.data import dataset_info
    from supervisor_testing.data.known_datasets import is_registered
    from supervisor_testing.recipes import list_recipes, load_recipe

    if not is_registered(dataset_name):
        return {}  # user data: no recipe describes it
    name = dataset_info(dataset_name).name
    if f"{name}-ambiguous" not in list_recipes():
        return {}
    recipe = load_recipe(f"{name}-ambiguous")
    if recipe.generator != "ambiguous" or recipe.dataset != name or recipe.split != split:
        return {}
    params = recipe.generator_params
    return {key: params[key] for key in _RECIPE_TRAINING_PARAMS if key in params}


def _parse_pairs(ctx: click.Context, param: click.Parameter, value: str | None) -> list | None:
    if value is None:
        return None
    pairs = []
    for item in value.split(","):
        first, sep, second = item.strip().partition("-")
        if not sep or not first.isdigit() or not second.isdigit():
            raise click.BadParameter(
                f"{item.strip()!r} is not a pair; write class indices like 3-5,4-9", ctx, param
            )
        pairs.append([int(first), int(second)])
    return pairs


def _parse_filter_arch(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | list[str] | None:
    # the library validates the names, so a bad one gets the same message everywhere
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")]
    return names[0] if len(names) == 1 else names


@click.command("ambiguous")
@click.option("--dataset", "dataset_name", default="mnist", show_default=True,
              help="Data set name or path to user data.")  # fmt: skip
@click.option("--split", default="train", show_default=True,
              help="The split the pair models learn from.")  # fmt: skip
@click.option("--n", "num_samples", type=click.IntRange(min=1), default=10_000,
              show_default=True, help="Samples to generate.")  # fmt: skip
@click.option("--max-label-diff", type=click.FloatRange(0, 1, min_open=True), default=0.2,
              show_default=True, help="Keep points whose two class probabilities differ "
              "by less than this.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seeds sampling and hard labels.")  # fmt: skip
@click.option("--model-seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seeds training of the pair models (cached per seed).")  # fmt: skip
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Training epochs per try [default: the <dataset>-ambiguous recipe's "
              "when it trains on this split, else 80].")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Images per training step [default: the <dataset>-ambiguous recipe's "
              "when it trains on this split, else 1000, the reference's for 60,000 "
              "training images; smaller pools need smaller batches for as many "
              "steps].")  # fmt: skip
@click.option("--max-tries", type=click.IntRange(min=1), default=None,
              help="Trainings per pair until one passes the acceptance rule [default: "
              "the <dataset>-ambiguous recipe's when it trains on this split, else "
              "20].")  # fmt: skip
@click.option("--pairs", callback=_parse_pairs, default=None,
              help="Class pairs, e.g. 3-5,4-9 [default: every pair].")  # fmt: skip
@click.option("--filter-arch", callback=_parse_filter_arch, default=None,
              help="Keep only samples that this independent reference architecture "
              "(e.g. mlp), trained on the same data, ranks as its pair's top two classes "
              "and finds typical; several, comma-separated (e.g. mlp,resnet), form a "
              "committee that must all agree [default: no filter, as published].")  # fmt: skip
@click.option("--filter-max-validity", type=click.FloatRange(0, 100, min_open=True),
              default=None, help="With --filter-arch: the highest validity percentile "
              "kept [default: 90].")  # fmt: skip
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at OUT.")
@click.pass_context
def generate_ambiguous(
    ctx: click.Context,
    dataset_name: str,
    split: str,
    num_samples: int,
    max_label_diff: float,
    seed: int,
    model_seed: int,
    epochs: int | None,
    batch_size: int | None,
    max_tries: int | None,
    pairs: list | None,
    filter_arch: str | list[str] | None,
    filter_max_validity: float | None,
    out: Path,
    overwrite: bool,
) -> None:
    """Train (or load) one AmbiGuess model per class pair and sample ambiguous images.

    Maps onto generators.ambiguous.make_ambiguous_corpus. Training options left unset
    come from the <dataset>-ambiguous recipe (e.g. the shipped mnist-ambiguous) when it
    trains on the same split, so the models are the recipe's, shared through the cache.
    """
    from generators.ambiguous import make_ambiguous_corpus

    given = {"epochs": epochs, "batch_size": batch_size, "max_tries": max_tries}
    training = recipe_training_defaults(dataset_name, split)
    training.update({k: v for k, v in given.items() if v is not None})
    corpus = make_ambiguous_corpus(
        dataset_name,
        out,
        split=split,
        num_samples=num_samples,
        max_label_diff=max_label_diff,
        seed=seed,
        model_seed=model_seed,
        **training,
        pairs=pairs,
        filter_arch=filter_arch,
        filter_max_validity=filter_max_validity,
        overwrite=overwrite,
        progress=show_progress(ctx),
    )
    click.echo(f"{corpus.name}: {len(corpus)} ambiguous samples in {corpus.path}")
