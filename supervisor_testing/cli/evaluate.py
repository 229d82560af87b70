"""`suptest evaluate`: supervisors x stress corpora -> a results table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from supervisor_testing.cli.options import OPEN_UNIT, OutputPath, show_progress


@click.command("evaluate")
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
@click.option("--fpr", default=0.05, show_default=True, type=OPEN_UNIT,
              help="Nominal false-positive rate the thresholds target.")  # fmt: skip
@click.option("--ci-level", default=0.95, show_default=True, type=OPEN_UNIT,
              help="Confidence level of the intervals.")  # fmt: skip
@click.option("--auroc-ci", type=click.Choice(["bootstrap", "delong"]), default="bootstrap",
              show_default=True)  # fmt: skip
@click.option("--refit", is_flag=True,
              help="Fit supervisors afresh instead of loading the fitted state an earlier run "
                   "cached for the same model, parameters and training data.")  # fmt: skip
@click.option("--json", "json_path", type=OutputPath(dir_okay=False), default=None,
              help="Write the results here as JSON.")  # fmt: skip
@click.option("--scores", "include_scores", is_flag=True,
              help="Keep per-input scores in --json (for suptest report plots).")  # fmt: skip
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
    refit: bool,
    json_path: Path | None,
    include_scores: bool,
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
    results = run_plan(plan, progress=show_progress(ctx), refit=refit)
    from supervisor_testing.report import results_table

    click.echo(results_table(results))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        results_json = [r.to_dict(include_scores=include_scores) for r in results]
        payload = {"plan": plan.to_dict(), "results": results_json}
        json_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        click.echo(f"results: {json_path}")
