"""`suptest study`: every supervisor against every kind of high-uncertainty input."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.executor_options import ExecutorSpec, executor_options
from supervisor_testing.cli.options import show_progress


def _names(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


@click.command("study")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Study TOML (keys of StudyConfig); flags override it.")  # fmt: skip
@click.option("--dataset", default=None, help="mnist or fashion-mnist [default: mnist].")
@click.option("--archs", default=None, help="Comma-separated architectures [cnn,mlp,resnet].")
@click.option("--seeds", default=None, help="Comma-separated model seeds [0,1,2].")
@click.option("--supervisors", default=None, help="Comma-separated names [all registered].")
@click.option("--kinds", default=None,
              help="Comma-separated input kinds [ambiguous,corrupted,invalid,"
                   "adversarial].")  # fmt: skip
@click.option("--samples", type=int, default=None, help="Inputs per stress corpus [1000].")
@click.option("--out", type=click.Path(path_type=Path), default=Path("study-output"),
              show_default=True, help="Study directory; rerun to resume.")  # fmt: skip
@executor_options
@click.pass_context
def study_command(
    ctx: click.Context,
    config_path: Path | None,
    dataset: str | None,
    archs: str | None,
    seeds: str | None,
    supervisors: str | None,
    kinds: str | None,
    samples: int | None,
    out: Path,
    executor_spec: ExecutorSpec,
) -> None:
    """Train models, build the corpora, run every supervisor on every input kind and
    write results.json, study.md (AUROC mean ± std with CIs, and how alike the kinds rank
    the supervisors) and a heatmap to OUT.

    Maps onto supervisor_testing.study.run_study; an interrupted study resumes.
    """
    import dataclasses

    from supervisor_testing.errors import InvalidInputError
    from supervisor_testing.study import (
        StudyConfig,
        load_study_config,
        run_study,
        write_study_report,
    )

    config = load_study_config(config_path) if config_path else StudyConfig()
    try:
        seed_values = None if seeds is None else tuple(int(s) for s in _names(seeds) or ())
    except ValueError:
        raise InvalidInputError(f"--seeds takes comma-separated integers, got {seeds!r}") from None
    overrides = {
        "dataset": dataset,
        "architectures": _names(archs),
        "seeds": seed_values,
        "supervisors": _names(supervisors),
        "kinds": _names(kinds),
        "samples": samples,
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    with executor_spec.open() as executor:
        # In-process studies keep the sequential runner, which shares one model's work
        # across its supervisors.
        chosen = None if executor_spec.kind == "local" else executor
        records = run_study(config, out, progress=show_progress(ctx), executor=chosen)
    summary = write_study_report(records, out, config=config.to_dict())
    click.echo(summary.markdown())
    click.echo(f"\nreport: {out / 'study.md'}")
