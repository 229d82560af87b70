"""ROC curves and score histograms of one detection result, as PNG bytes.

matplotlib is imported on first use (it is the ``report`` extra), and figures are drawn
on an explicit Agg canvas rather than through pyplot, so making a report never switches
the backend of a user's interactive session. PNGs carry no timestamp or version, so the
same result always gives the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.evaluate import DetectionResult

__all__ = ["histogram_png", "roc_png"]

_NOMINAL_COLOUR = "#1f77b4"
_STRESS_COLOUR = "#d62728"


def _figure(width: float = 4.2, height: float = 3.2) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is the report extra
        raise InvalidInputError(
            "plots need matplotlib: pip install 'supervisor-testing[report]'"
        ) from None
    figure = Figure(figsize=(width, height), dpi=100)
    # Fixed margins: a constrained layout would measure every label on every draw, a third
    # of the rendering time, for plots whose labels never change length much.
    figure.subplots_adjust(left=0.15, right=0.97, bottom=0.15, top=0.91)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _scores(result: DetectionResult) -> tuple[Any, Any]:
    if result.stress_scores is None or result.nominal_scores is None:
        raise InvalidInputError(
            f"the result for {result.supervisor} on {result.stress!r} carries no scores; "
            "keep them (evaluate keeps them by default; JSON files need include_scores=True, "
            "suptest evaluate --scores)"
        )
    return result.nominal_scores, result.stress_scores


def roc_png(result: DetectionResult) -> bytes:
    """The ROC curve (stress = positive) with the operating point of the threshold marked."""
    from supervisor_testing import metrics

    nominal, stress = _scores(result)
    fpr, tpr, _ = metrics.roc_curve(nominal, stress)
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle=":")
    axes.plot(
        fpr, tpr, color=_NOMINAL_COLOUR, linewidth=1.6, label=f"AUROC {result.auroc.value:.3f}"
    )
    axes.plot(
        [result.realised_fpr],
        [result.tpr.value],
        marker="o",
        color=_STRESS_COLOUR,
        linestyle="none",
        label=f"threshold: TPR {result.tpr.value:.3f} at FPR {result.realised_fpr:.3f}",
    )
    axes.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="FPR (nominal)", ylabel="TPR (stress)")
    axes.set_title(f"{result.supervisor} on {result.stress}", fontsize=9)
    axes.legend(loc="lower right", fontsize=7)
    return _png(figure)


def histogram_png(result: DetectionResult, *, bins: int = 40) -> bytes:
    """Nominal and stress score histograms on shared bins, with the threshold marked."""
    import numpy as np

    nominal, stress = _scores(result)
    low = float(min(nominal.min(), stress.min()))
    high = float(max(nominal.max(), stress.max()))
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    figure = _figure()
    axes = figure.add_subplot()
    axes.hist(nominal, bins=edges, density=True, alpha=0.55, color=_NOMINAL_COLOUR,
              label=f"nominal {result.nominal} ({len(nominal)})")  # fmt: skip
    axes.hist(stress, bins=edges, density=True, alpha=0.55, color=_STRESS_COLOUR,
              label=f"stress {result.stress} ({len(stress)})")  # fmt: skip
    if np.isfinite(result.threshold):
        axes.axvline(result.threshold, color="black", linewidth=1.0, linestyle="--",
                     label=f"threshold ({result.tpr_name})")  # fmt: skip
    axes.set(xlabel="score (higher = more suspicious)", ylabel="density")
    axes.set_title(f"{result.supervisor}: score distributions", fontsize=9)
    axes.legend(loc="best", fontsize=7)
    return _png(figure)
