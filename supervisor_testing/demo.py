"""The demo: the suite's main job end to end on real data.

Train (or load from the cache) the reference CNN on MNIST, build the nominal test and
calibration corpora and a far-OOD corpus (Fashion-MNIST, where installed), evaluate the
built-in supervisors and write a Markdown summary with the result table and image grids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from supervisor_testing.evaluate import DetectionResult

__all__ = ["DemoSummary", "run_demo"]

DEMO_SUPERVISORS = ("max-softmax", "pcs", "softmax-entropy", "deepgini", "max-logit", "energy")


@dataclass(frozen=True)
class DemoSummary:
    results: list[DetectionResult]
    table: str
    markdown_path: Path


def _stress_recipes() -> list[str]:
    from supervisor_testing.data import dataset_info

    recipes = []
    if dataset_info("fashion-mnist").available:
        recipes.append("mnist-far-ood-fashion")
    recipes.append("mnist-c")  # MNIST-C: 15 corruptions at the published settings
    # AmbiGuess on four class pairs: the full mnist-ambiguous trains 45 pair models, many
    # minutes on two cores; four train within the demo's budget.
    recipes.append("mnist-ambiguous-demo")
    recipes.append("mnist-domains")  # the same digits drawn in 29 unseen domains
    if _diffusion_model_note() is None:
        recipes.append("mnist-diffusion-edit")  # SDEdit and CODE with the shipped DDPM
    return recipes


def _diffusion_model_note() -> str | None:
    """``None`` when a diffusion model for MNIST is shipped or cached, else how to train one."""
    from supervisor_testing.generation import generators

    # through the registry: the core names generators, it never imports them
    if not generators.get("diffusion").model_available("mnist"):
        return (
            "No diffusion model for MNIST is shipped or cached, so the diffusion-edit corpus "
            "is left out; train one with `suptest model train-diffusion --dataset mnist`."
        )
    return None


def run_demo(
    out: str | Path,
    *,
    progress: bool = False,
    dataset: str = "mnist",
    stress: Sequence[str] | None = None,
) -> DemoSummary:
    """Run the demo and write ``demo.md``, ``results.json`` and corpus grids into ``out``.

    ``dataset`` and ``stress`` exist so that the same code path can be run in seconds on
    small data (the tests pass ``digits`` and one cheap corpus): the model is trained on
    ``dataset``, the nominal corpora are the ``{dataset}-test`` and
    ``{dataset}-calibration`` recipes, and ``stress`` (recipes or corpus directories)
    replaces the MNIST stress corpora.
    """
    from supervisor_testing.data import load_dataset
    from supervisor_testing.errors import DatasetNotFoundError
    from supervisor_testing.models import accuracy, resolve_model
    from supervisor_testing.plan import EvaluationPlan, run_plan
    from supervisor_testing.recipes import resolve_corpus
    from supervisor_testing.report import corpus_grid, results_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    default_stress = stress is None
    stress = _stress_recipes() if stress is None else list(stress)
    if not stress:
        raise DatasetNotFoundError(
            "the demo's stress corpus needs Fashion-MNIST: run `apt-get install "
            "dataset-fashion-mnist` or `suptest data fetch fashion-mnist --online`"
        )
    plan = EvaluationPlan(
        model="cnn",
        train_data=dataset,
        supervisors=DEMO_SUPERVISORS,
        stress=tuple(stress),
        nominal=f"{dataset}-test",
        calibration=f"{dataset}-calibration",
    )
    results = run_plan(plan, progress=progress)
    trained = resolve_model("cnn", dataset=load_dataset(dataset, "train"), seed=plan.seed)
    test_accuracy = accuracy(trained.module, load_dataset(dataset, "test"))

    grids = []
    for spec in (plan.nominal, *plan.stress):
        corpus = resolve_corpus(spec)
        grids.append((corpus.name, corpus_grid(corpus, out / f"{corpus.name}.png", count=32)))

    table = results_table(results)
    lines = [
        "# supervisor-testing demo",
        "",
        f"Model: reference `cnn` trained on {'MNIST' if dataset == 'mnist' else dataset} "
        f"(`{trained.path}`), "
        f"test accuracy {test_accuracy:.4f}.",
        f"Nominal: `{plan.nominal}`; thresholds set on `{plan.calibration}` at "
        f"{plan.fpr:.0%} FPR. Intervals: {plan.ci_level:.0%} bootstrap over both corpora.",
        "",
        results_table(results, style="markdown"),
        "",
        *[f"## {name}\n\n![{name}]({path.name})\n" for name, path in grids],
        *([note] if default_stress and (note := _diffusion_model_note()) else []),
    ]
    markdown_path = out / "demo.md"
    markdown_path.write_text("\n".join(lines))
    payload = {
        "plan": plan.to_dict(),
        "model_test_accuracy": test_accuracy,
        "results": [r.to_dict() for r in results],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return DemoSummary(results=results, table=table, markdown_path=markdown_path)
