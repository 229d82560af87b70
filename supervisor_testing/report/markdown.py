"""The Markdown report: short enough for a CI job summary, complete enough to act on.

It holds the verdict, the gate requirements that failed, and the results table with
intervals, realised FPR and change against the baseline; plots stay in the HTML report.
Append it to ``$GITHUB_STEP_SUMMARY`` (or the CI system's equivalent).
"""

from __future__ import annotations

from supervisor_testing.report.results_file import ReportData
from supervisor_testing.report.tables import format_table, results_rows

__all__ = ["markdown_report", "results_markdown_rows", "verdict_line"]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def verdict_line(data: ReportData) -> str:
    """One sentence: do the gate requirements hold (empty without a gate)."""
    if not data.verdicts:
        return ""
    failed = sum(not v.get("passed") for v in data.verdicts)
    total = len(data.verdicts)
    if failed:
        return f"**FAIL**: {failed} of {total} gate requirements do not hold."
    return f"**PASS**: all {total} gate requirements hold."


def results_markdown_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """The results table's header and rows, with the baseline column when there is one."""
    header, rows = results_rows(list(data.results))
    if data.baselines:
        header = [*header, "vs baseline"]
        rows = [[*row, change] for row, change in zip(rows, data.baselines, strict=True)]
    return header, rows


def markdown_report(data: ReportData) -> str:
    """The report as GitHub-flavoured Markdown."""
    lines = [f"# {data.title}", ""]
    verdict = verdict_line(data)
    if verdict:
        lines += [verdict, ""]
    failed = [v for v in data.verdicts if not v.get("passed")]
    if failed:
        lines += ["## Failed requirements", ""]
        header = ["requirement", "supervisor", "stress corpus", "observed", "required"]
        rows = [
            [
                _cell(v.get("requirement", "")),
                _cell(v.get("supervisor", "")),
                _cell(v.get("stress", "")),
                _cell(v.get("observed", "")),
                _cell(v.get("required", "")),
            ]
            for v in failed
        ]
        lines += [format_table(header, rows, style="markdown"), ""]
    if data.results:
        header, rows = results_markdown_rows(data)
        lines += ["## Results", ""]
        lines += [
            format_table(
                [_cell(h) for h in header],
                [[_cell(c) for c in row] for row in rows],
                style="markdown",
            ),
            "",
        ]
        first = data.results[0]
        lines.append(
            f"Thresholds are set on nominal calibration data at {first.target_fpr:g} FPR; the "
            f"realised FPR is measured on the nominal test corpus `{first.nominal}`. "
            f"Intervals: {first.auroc.level:.0%} {first.auroc.method}."
        )
    else:
        lines.append("No results were recorded.")
    return "\n".join(lines).rstrip() + "\n"
