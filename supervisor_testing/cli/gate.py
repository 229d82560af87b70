"""`suptest gate`: check a release gate file without pytest (exit 0 pass, 1 fail, 2 bad input)."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import show_progress


@click.command("gate")
@click.argument("gate_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--update-baseline", is_flag=True,
              help="Record the results as the new baselines instead of comparing.")  # fmt: skip
@click.option("--baseline-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Baseline directory [default: the gate's baseline_dir].")  # fmt: skip
@click.option("--refit", is_flag=True,
              help="Fit supervisors afresh instead of loading the fitted state an earlier run "
                   "cached for the same model, parameters and training data.")  # fmt: skip
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write results, verdicts and scores here.")  # fmt: skip
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write a Markdown summary (CI job summary) here.")  # fmt: skip
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write a self-contained HTML report here.")  # fmt: skip
@click.pass_context
def gate_command(
    ctx: click.Context,
    gate_file: Path,
    update_baseline: bool,
    baseline_dir: Path | None,
    refit: bool,
    json_path: Path | None,
    markdown_path: Path | None,
    html_path: Path | None,
) -> None:
    """Check every requirement of GATE_FILE (a gate TOML or a pyproject.toml).

    Exit status: 0 when every requirement holds, 1 when one does not, 2 on bad input
    (an invalid gate file, an unknown supervisor or corpus, a mismatched baseline).
    """
    # Maps onto supervisor_testing.gate.run_gate.
    from supervisor_testing.gate import run_gate
    from supervisor_testing.report import ReportData, format_table, write_reports

    outcome = run_gate(
        gate_file,
        baseline_update=update_baseline,
        baseline_dir=baseline_dir,
        progress=show_progress(ctx),
        refit=refit,
    )
    rows = [
        [
            "pass" if v.passed else "FAIL",
            v.requirement.check,
            v.requirement.supervisor,
            v.stress_name or v.requirement.stress,
            v.observed,
            v.requirement.describe(),
        ]
        for v in outcome.verdicts
    ]
    header = ["verdict", "requirement", "supervisor", "stress corpus", "observed", "required"]
    click.echo("\n".join(line.rstrip() for line in format_table(header, rows).splitlines()))
    for verdict in outcome.verdicts:
        if not verdict.passed:
            click.echo("")
            click.echo(verdict.message)
    failed = sum(not v.passed for v in outcome.verdicts)
    click.echo("")
    click.echo(
        f"{len(outcome.verdicts) - failed} of {len(outcome.verdicts)} requirements hold"
        + (f"; {failed} fail" if failed else "")
    )
    if json_path or markdown_path or html_path:
        data = ReportData.from_records(
            outcome.records,
            title=f"Release gate {outcome.gate.path.name}",
            verdicts=tuple(v.to_dict() for v in outcome.verdicts),
            meta={"gate": str(outcome.gate.path)},
        )
        for path in write_reports(
            data, json_path=json_path, markdown_path=markdown_path, html_path=html_path
        ):
            click.echo(f"wrote {path}")
    ctx.exit(0 if outcome.passed else 1)
