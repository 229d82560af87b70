"""Reports: result tables, image grids, and JSON / Markdown / HTML report files."""

from __future__ import annotations

from supervisor_testing.report.files import report_corpora, write_reports
from supervisor_testing.report.grid import corpus_grid, image_grid
from supervisor_testing.report.html import html_report
from supervisor_testing.report.markdown import markdown_report
from supervisor_testing.report.missed import MissedInputs, missed_grid, missed_inputs
from supervisor_testing.report.plots import histogram_png, roc_png
from supervisor_testing.report.results_file import ReportData, load_results, save_results
from supervisor_testing.report.tables import format_table, results_table

__all__ = [
    "MissedInputs",
    "ReportData",
    "corpus_grid",
    "format_table",
    "histogram_png",
    "html_report",
    "image_grid",
    "load_results",
    "markdown_report",
    "missed_grid",
    "missed_inputs",
    "report_corpora",
    "results_table",
    "roc_png",
    "save_results",
    "write_reports",
]
