"""`suptest demo`: the main job end to end on an embedded default."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import OutputPath, show_progress


@click.command("demo")
@click.option("--out", type=OutputPath(file_okay=False), default=Path("demo-output"),
              show_default=True)  # fmt: skip
@click.pass_context
def demo_command(ctx: click.Context, out: Path) -> None:
    """Train (or load) the reference CNN on MNIST, build nominal and stress corpora,
    evaluate the built-in supervisors and write a Markdown summary to OUT."""
    from supervisor_testing.demo import run_demo

    summary = run_demo(out, progress=show_progress(ctx))
    click.echo(summary.table)
    click.echo(f"\nsummary: {summary.markdown_path}")
