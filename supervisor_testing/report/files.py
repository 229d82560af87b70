"""Write a report's JSON, Markdown and HTML files, and find the corpora its grids need."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from supervisor_testing.errors import SupervisorTestingError
from supervisor_testing.published_file import write_published
from supervisor_testing.report.results_file import ReportData, save_results

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus

__all__ = ["report_corpora", "write_reports"]


def report_corpora(data: ReportData) -> dict[str, Corpus]:
    """The stress corpora of ``data`` that can be opened here, by name.

    Corpus directories recorded in the file come first; for ``suptest evaluate --json``
    output the plan's stress specs are resolved (recipes build into the cache). A corpus
    that cannot be found is left out, and the report says so where its grid would be.
    """
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.recipes import resolve_corpus

    wanted = {r.stress for r in data.results}
    found: dict[str, Corpus] = {}
    for name in sorted(wanted):
        path = data.corpus_paths.get(name)
        if path and Path(path).is_dir():
            try:
                found[name] = Corpus.open(path, verify=True)
            except SupervisorTestingError:
                continue
    plan = data.meta.get("plan")
    if isinstance(plan, Mapping):
        for spec in plan.get("stress", ()):
            if wanted <= set(found):
                break
            try:
                corpus = resolve_corpus(spec)
            except SupervisorTestingError:
                continue
            if corpus.name in wanted:
                found.setdefault(corpus.name, corpus)
    return found


def write_reports(
    data: ReportData,
    *,
    json_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    html_path: str | Path | None = None,
    corpora: Mapping[str, Corpus] | None = None,
) -> list[Path]:
    """Write whichever of the three reports have a path; returns the paths written.

    The JSON keeps the per-input scores, so ``suptest report`` can redraw every plot.
    """
    written = []
    if json_path is not None:
        written.append(save_results(json_path, data, include_scores=True))
    if markdown_path is not None:
        from supervisor_testing.report.markdown import markdown_report

        written.append(write_published(markdown_path, markdown_report(data)))
    if html_path is not None:
        from supervisor_testing.report.html import html_report

        if corpora is None:
            corpora = report_corpora(data)
        written.append(write_published(html_path, html_report(data, corpora=corpora)))
    return written
