"""The HTML report: one self-contained file with tables, plots and missed inputs.

Every image is inlined as a base64 PNG and the style sheet is embedded, so the file opens
the same from a CI artifact, an e-mail or an air-gapped machine: it references nothing
outside itself and runs no script.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

from supervisor_testing._version import __version__
from supervisor_testing.report.markdown import results_markdown_rows, verdict_line
from supervisor_testing.report.results_file import ReportData

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.evaluate import DetectionResult

__all__ = ["html_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f2f2f2; }
tr.fail td { background: #fde8e8; } tr.pass td { background: #e8f6e8; }
.verdict-fail { color: #b00020; font-weight: bold; }
.verdict-pass { color: #1b7a1b; font-weight: bold; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; max-width: 520px; }
.note { color: #555; font-size: 0.9em; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{row_classes[index]}"' if row_classes else ""
        cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(result: DetectionResult, corpus: Corpus | None, missed_count: int) -> str:
    from supervisor_testing.report.plots import histogram_png, roc_png

    title = f"{result.supervisor} on {result.stress}"
    parts = [f'<section><h2 id="{html.escape(_anchor(result))}">{html.escape(title)}</h2>']
    if result.stress_scores is None or result.nominal_scores is None:
        parts.append(
            '<p class="note">The results file holds no per-input scores, so no ROC curve, '
            "histogram or missed inputs can be drawn (write it with scores, e.g. "
            "<code>suptest evaluate --scores</code>).</p></section>"
        )
        return "".join(parts)
    parts.append('<div class="figures">')
    parts.append(
        f"<figure>{_img(roc_png(result), f'ROC curve of {title}')}<figcaption>ROC curve, "
        f"AUROC {html.escape(format(result.auroc, '.3f'))}</figcaption></figure>"
    )
    parts.append(
        f"<figure>{_img(histogram_png(result), f'score histograms of {title}')}<figcaption>"
        f"Scores of nominal and stress inputs; threshold at {result.threshold:.4g}"
        "</figcaption></figure>"
    )
    parts.append("</div>")
    parts.append(_missed_html(result, corpus, missed_count, title))
    parts.append("</section>")
    return "".join(parts)


def _missed_html(result: DetectionResult, corpus: Corpus | None, count: int, title: str) -> str:
    from supervisor_testing.report.missed import missed_grid, missed_inputs

    heading = "<h3>Missed stress inputs</h3>"
    if corpus is None:
        return (
            f'{heading}<p class="note">Corpus {html.escape(result.stress)} is not available '
            "here, so its missed inputs cannot be shown.</p>"
        )
    missed = missed_inputs(result, corpus, count=count)
    grid = missed_grid(missed)
    if grid is None:
        return f'{heading}<p class="note">No stress input scored at or below the threshold.</p>'
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    shown = len(missed.indices)
    return (
        f"{heading}<figure>{_img(buffer.getvalue(), f'missed inputs of {title}')}"
        f"<figcaption>{shown} of the {missed.total} stress inputs at or below the threshold "
        f"({missed.total / max(1, result.n_stress):.1%} of {result.n_stress}), lowest "
        "score first; captions are scores.</figcaption></figure>"
    )


def _anchor(result: DetectionResult) -> str:
    return f"{result.supervisor}--{result.stress}"


def html_report(
    data: ReportData,
    *,
    corpora: Mapping[str, Corpus] | None = None,
    missed_count: int = 24,
) -> str:
    """The report as one HTML document.

    Args:
        data: results, verdicts and baseline changes.
        corpora: stress corpora by name, to show the inputs each supervisor missed; a
            result whose corpus is absent gets a note instead of a grid.
        missed_count: how many missed inputs to show per supervisor x corpus.
    """
    corpora = corpora or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(data.title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(data.title)}</h1>",
    ]
    verdict = verdict_line(data)
    if verdict:
        failed = any(not v.get("passed") for v in data.verdicts)
        css = "verdict-fail" if failed else "verdict-pass"
        parts.append(f'<p class="{css}">{html.escape(verdict.replace("**", ""))}</p>')
        header = ["requirement", "supervisor", "stress corpus", "observed", "required", "verdict"]
        rows = [
            [
                str(v.get("requirement", "")),
                str(v.get("supervisor", "")),
                str(v.get("stress", "")),
                str(v.get("observed", "")),
                str(v.get("required", "")),
                "pass" if v.get("passed") else "FAIL",
            ]
            for v in data.verdicts
        ]
        classes = ["pass" if v.get("passed") else "fail" for v in data.verdicts]
        parts.append("<h2>Gate requirements</h2>" + _table(header, rows, classes))
    if data.results:
        header, rows = results_markdown_rows(data)
        parts.append("<h2>Results</h2>" + _table(header, rows))
        first = data.results[0]
        parts.append(
            f'<p class="note">Thresholds target {first.target_fpr:g} FPR on nominal '
            f"calibration data; the realised FPR is measured on "
            f"{html.escape(first.nominal)}. Intervals: {first.auroc.level:.0%} "
            f"{html.escape(first.auroc.method)}. Scores: higher = more suspicious.</p>"
        )
        for result in data.results:
            parts.append(_section(result, corpora.get(result.stress), missed_count))
    else:
        parts.append('<p class="note">No results were recorded.</p>')
    parts.append(f'<p class="note">supervisor-testing {html.escape(__version__)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
