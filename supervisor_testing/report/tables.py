"""Result tables for the terminal and for Markdown reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from supervisor_testing.evaluate import DetectionResult

__all__ = ["format_table", "results_rows", "results_table"]


def results_rows(results: Sequence[DetectionResult]) -> tuple[list[str], list[list[str]]]:
    """The header and one row of cells per result, as :func:`results_table` shows them."""
    return _rows(results)


def _rows(results: Sequence[DetectionResult]) -> tuple[list[str], list[list[str]]]:
    tpr_names = {r.tpr_name for r in results}
    tpr_header = tpr_names.pop() if len(tpr_names) == 1 else "TPR@FPR(nominal)"
    level = {r.auroc.level for r in results}
    ci = f" [{level.pop():.0%} CI]" if len(level) == 1 else " [CI]"
    header = ["supervisor", "stress corpus", f"AUROC{ci}", f"AUPR{ci}", f"{tpr_header}{ci}",
              "realised FPR", "n stress / nominal"]  # fmt: skip
    rows = [
        [
            r.supervisor,
            r.stress,
            f"{r.auroc:.3f}",
            f"{r.aupr:.3f}",
            f"{r.tpr:.3f}",
            f"{r.realised_fpr:.3f}",
            f"{r.n_stress} / {r.n_nominal}",
        ]
        for r in results
    ]
    return header, rows


def results_table(
    results: Sequence[DetectionResult], *, style: Literal["markdown", "plain"] = "plain"
) -> str:
    """One row per result: point estimates with their confidence intervals."""
    header, rows = _rows(results)
    return format_table(header, rows, style=style)


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    style: Literal["markdown", "plain"] = "plain",
) -> str:
    """Align cells into a plain-text or Markdown table."""
    header, rows = list(header), [list(row) for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
        return ("| " + " | ".join(padded) + " |") if style == "markdown" else "  ".join(padded)

    separator = (
        "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        if style == "markdown"
        else "  ".join("-" * w for w in widths)
    )
    return "\n".join([line(header), separator, *(line(row) for row in rows)])
