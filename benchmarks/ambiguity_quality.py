"""How ambiguous and how valid AmbiGuess corpora are, next to nominal data and mixups.

For each data set, builds (or reuses) the ``<dataset>-ambiguous`` and
``<dataset>-ambiguous-filtered`` recipes' corpora, trains an independent classifier on the
nominal ``train`` split (``cnn`` with seed 1 by default: generation uses no classifier but
the filtered variant's judges, ``mlp`` in the shipped recipes, and the script refuses an
assessor whose architecture and seed equal any judge's) and calls
:func:`generators.ambiguous.assess_ambiguity` with the ``test`` split as the nominal set,
the ``calibration`` split as the validity reference and the corpus's pair models (loaded
from the cache) for the ``reconstruction`` control row. Prints one table per corpus and
writes ``benchmarks/results/ambiguity_quality.json`` (entries for other data sets and
variants are kept).

    python benchmarks/ambiguity_quality.py                         # MNIST, then Fashion-MNIST
    python benchmarks/ambiguity_quality.py --dataset mnist --arch mlp
    python benchmarks/ambiguity_quality.py --corpus PATH --dataset mnist   # any corpus
    python benchmarks/ambiguity_quality.py --dataset fashion-mnist --pairs 0-6,2-4,5-7
    python benchmarks/ambiguity_quality.py --dataset mnist --max-tries 3     # bounded time
    python benchmarks/ambiguity_quality.py --dataset mnist --variant filtered

Each data set is assessed twice by default: the published technique
(``<dataset>-ambiguous``) and the same pair models with the quality filter on
(``<dataset>-ambiguous-filtered``, an ``mlp`` judge or a committee of judges: never the
assessor).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "benchmarks" / "results" / "ambiguity_quality.json"
DATASETS = ("mnist", "fashion-mnist")
#: the published technique, and the same pair models with the quality filter on
RECIPES = {"published": "{dataset}-ambiguous", "filtered": "{dataset}-ambiguous-filtered"}


def _cached_pair_models(corpus: Any, train: Any) -> Any:
    """The corpus's own pair models for the control row, if the cache holds them (a
    corpus made by an older generator version may name models no longer cached)."""
    from generators.ambiguous import AmbiguousGenerator, load_trained_pairs
    from generators.ambiguous.class_pairs import class_pairs
    from generators.ambiguous.pair_store import pair_models_key
    from supervisor_testing.paths import cache_dir

    params = AmbiguousGenerator(**corpus.manifest.generator.params).params
    config = AmbiguousGenerator.training_config(params)
    pairs = class_pairs(train.labels, train.class_names, params["pairs"])
    key = pair_models_key(train.sha256(), pairs, config, seed=params["model_seed"])
    path = cache_dir("ambiguous") / key
    return load_trained_pairs(path) if path.is_dir() else None


def _refuse_a_judge_as_assessor(
    name: str, params: dict[str, Any], args: argparse.Namespace
) -> None:
    """Exit when the assessor is one of the quality filter's judges: a judge agrees with
    itself on every sample it kept, which would measure the filter, not the corpus."""
    from generators.ambiguous.quality_filter import filter_judges

    judges = filter_judges(params.get("filter_arch"))
    if args.arch in judges and params.get("filter_seed", 0) == args.seed:
        raise SystemExit(
            f"{name} filters with {args.arch} seed {args.seed} (judges: "
            f"{', '.join(judges)}), the assessor: assess with another --arch or --seed"
        )


def run_one(dataset_name: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    from generators.ambiguous import assess_ambiguity
    from supervisor_testing.data import load_dataset
    from supervisor_testing.recipes import build_recipe, load_recipe, resolve_corpus

    start = time.perf_counter()
    if args.corpus:
        corpus = resolve_corpus(args.corpus)
        _refuse_a_judge_as_assessor(corpus.name, dict(corpus.manifest.generator.params), args)
    else:
        recipe = load_recipe(RECIPES[variant].format(dataset=dataset_name))
        _refuse_a_judge_as_assessor(recipe.name, recipe.generator_params, args)
        overrides: dict[str, Any] = {}
        suffix = ""
        if args.pairs:
            pairs = [[int(c) for c in item.split("-")] for item in args.pairs.split(",")]
            overrides["pairs"] = pairs
            suffix += f"-{len(pairs)}-pairs"
        if args.max_tries:
            overrides["max_tries"] = args.max_tries
            suffix += f"-{args.max_tries}-tries"
        if overrides:
            recipe = dataclasses.replace(
                recipe,
                name=recipe.name + suffix,
                generator_params={**recipe.generator_params, **overrides},
            )
        corpus = build_recipe(recipe, progress=not args.quiet)
    built = time.perf_counter() - start
    start = time.perf_counter()
    train = load_dataset(dataset_name, "train")
    trained = _cached_pair_models(corpus, train)
    assessment = assess_ambiguity(
        corpus,
        train=train,
        test=load_dataset(dataset_name, "test"),
        reference=load_dataset(dataset_name, "calibration"),
        arch=args.arch,
        seed=args.seed,
        trained=trained,
        progress=not args.quiet,
    )
    return {
        "dataset": dataset_name,
        "variant": variant,
        "corpus": corpus.name,
        "corpus_sha256": corpus.sha256(),
        "corpus_params": dict(corpus.manifest.generator.params),
        "build_seconds": round(built, 1),
        "assess_seconds": round(time.perf_counter() - start, 1),
        **assessment.to_dict(),
        "table": assessment.table(),
        "pair_models_accepted": len(trained.accepted) if trained else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, action="append")
    parser.add_argument("--corpus", help="assess this corpus (directory or recipe) instead")
    parser.add_argument("--pairs", help="only these class pairs, e.g. 0-6,2-4 (a cheaper run)")
    parser.add_argument("--max-tries", type=int, help="fewer retries than the recipe's 20")
    parser.add_argument("--arch", default="cnn", help="the independent classifier")
    parser.add_argument("--seed", type=int, default=1, help="the classifier's seed")
    parser.add_argument("--variant", choices=RECIPES, action="append",
                        help="published (no filter) and/or filtered [default: both]")  # fmt: skip
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    rows = []
    variants = ["custom"] if args.corpus else args.variant or list(RECIPES)
    for name, variant in itertools.product(args.dataset or DATASETS, variants):
        row = run_one(name, variant, args)
        rows.append(row)
        print(
            f"\n{row['dataset']}: {row['corpus']} vs nominal test and mixups; classifier "
            f"{row['classifier']} (test accuracy {row['classifier_test_accuracy']:.4f}), "
            f"validity reference {row['validity_reference']}"
        )
        print(row["table"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    done = {(r["dataset"], r["variant"]) for r in rows}
    kept = [r for r in previous if (r["dataset"], r.get("variant", "published")) not in done]
    RESULTS.write_text(json.dumps([*kept, *rows], indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
