"""`suptest report`: turn a results JSON file into Markdown and HTML reports."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("results_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write a self-contained HTML report here.")  # fmt: skip
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write a Markdown report here.")  # fmt: skip
@click.option("--title", default=None, help="Report heading [default: the file's own].")
def report_command(
    results_file: Path, html_path: Path | None, markdown_path: Path | None, title: str | None
) -> None:
    """Write reports for RESULTS_FILE (from suptest evaluate --json, suptest gate --json or
    pytest --supervisor-report); without --html or --markdown, print the Markdown."""
    # Maps onto supervisor_testing.report.load_results + write_reports.
    from dataclasses import replace

    from supervisor_testing.report import load_results, markdown_report, write_reports

    data = load_results(results_file)
    if title is not None:
        data = replace(data, title=title)
    if html_path is None and markdown_path is None:
        click.echo(markdown_report(data), nl=False)
        return
    for path in write_reports(data, markdown_path=markdown_path, html_path=html_path):
        click.echo(f"wrote {path}")
