"""Study tables and heatmap: AUROC per supervisor (rows) and input kind (columns)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["StudySummary", "summarise", "write_study_report"]


@dataclass(frozen=True)
class StudySummary:
    """AUROC over runs (architecture x seed) for each supervisor and kind."""

    supervisors: tuple[str, ...]
    kinds: tuple[str, ...]
    mean: np.ndarray  # supervisors x kinds, NaN where n/a
    std: np.ndarray
    ci_low: np.ndarray  # mean of the per-run interval bounds
    ci_high: np.ndarray
    runs: np.ndarray  # how many runs contributed
    seconds_per_cell: float
    #: supervisor -> (wall, CPU) seconds per computed cell, its share of the fit included;
    #: CPU is NaN for records written before it was measured
    compute: dict[str, tuple[float, float]] = field(default_factory=dict)

    def cell(self, supervisor: str, kind: str) -> str:
        i, j = self.supervisors.index(supervisor), self.kinds.index(kind)
        if self.runs[i, j] == 0:
            return "n/a"
        return (
            f"{self.mean[i, j]:.3f} ± {self.std[i, j]:.3f} "
            f"[{self.ci_low[i, j]:.3f}, {self.ci_high[i, j]:.3f}]"
        )

    def leaders(self) -> dict[str, str]:
        """The supervisor with the highest mean AUROC per kind."""
        out = {}
        for j, kind in enumerate(self.kinds):
            column = np.where(self.runs[:, j] > 0, self.mean[:, j], -np.inf)
            out[kind] = self.supervisors[int(np.argmax(column))]
        return out

    def kind_agreement(self) -> tuple[np.ndarray, np.ndarray]:
        """Spearman rank correlation between every two kinds' mean AUROCs across the
        supervisors that have both (kinds x kinds, NaN below three supervisors), and
        those counts. A low value is the study's complementarity finding: ranking well on
        one kind says little about ranking well on the other."""
        from scipy.stats import spearmanr

        k = len(self.kinds)
        rho, counts = np.full((k, k), np.nan), np.zeros((k, k), dtype=int)
        for a in range(k):
            for b in range(k):
                both = (self.runs[:, a] > 0) & (self.runs[:, b] > 0)
                counts[a, b] = int(both.sum())
                x, y = self.mean[both, a], self.mean[both, b]
                # a constant column has no ranking to compare
                if counts[a, b] >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
                    rho[a, b] = float(spearmanr(x, y).statistic)
        return rho, counts

    def agreement_markdown(self) -> str:
        """:meth:`kind_agreement` as a table: Spearman's rho (supervisors compared)."""
        rho, counts = self.kind_agreement()
        rows = [
            f"| {kind} | "
            + " | ".join(
                "n/a" if np.isnan(rho[a, b]) else f"{rho[a, b]:.2f} ({counts[a, b]})"
                for b in range(len(self.kinds))
            )
            + " |"
            for a, kind in enumerate(self.kinds)
        ]
        header = "| kind | " + " | ".join(self.kinds) + " |"
        return "\n".join([header, "|---|" + "---|" * len(self.kinds), *rows])

    def compute_markdown(self) -> str:
        """Seconds per computed cell for each supervisor (n/a cells cost nothing)."""
        rows = [
            f"| {name} | {wall:.1f} | " + ("n/a" if np.isnan(cpu) else f"{cpu:.1f}") + " |"
            for name, (wall, cpu) in self.compute.items()
        ]
        return "\n".join(["| supervisor | wall s / cell | CPU s / cell |", "|---|---|---|", *rows])

    def markdown(self) -> str:
        header = "| supervisor | " + " | ".join(self.kinds) + " |"
        rule = "|---|" + "---|" * len(self.kinds)
        rows = [
            f"| {s} | " + " | ".join(self.cell(s, k) for k in self.kinds) + " |"
            for s in self.supervisors
        ]
        return "\n".join([header, rule, *rows])


def summarise(records: Sequence[dict[str, Any]]) -> StudySummary:
    """Aggregate cell records (as :func:`run_study` returns them)."""
    supervisors = tuple(dict.fromkeys(r["supervisor"] for r in records))
    kinds = tuple(dict.fromkeys(r["kind"] for r in records))
    values: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    seconds = []
    timings: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for record in records:
        if record.get("status") == "ok":
            seconds.append(record.get("seconds", 0.0))
            timings[record["supervisor"]].append(
                (record.get("seconds", 0.0), record.get("cpu_seconds", np.nan))
            )
            auroc = record["result"]["auroc"]
            values[record["supervisor"], record["kind"]].append(
                (auroc["value"], auroc["low"], auroc["high"])
            )
    shape = (len(supervisors), len(kinds))
    mean, std, low, high = (np.full(shape, np.nan) for _ in range(4))
    runs = np.zeros(shape, dtype=int)
    for i, supervisor in enumerate(supervisors):
        for j, kind in enumerate(kinds):
            cell = np.array(values.get((supervisor, kind), []))
            if len(cell):
                runs[i, j] = len(cell)
                mean[i, j], low[i, j], high[i, j] = cell.mean(axis=0)
                std[i, j] = cell[:, 0].std(ddof=1) if len(cell) > 1 else 0.0
    return StudySummary(
        supervisors=supervisors,
        kinds=kinds,
        mean=mean,
        std=std,
        ci_low=low,
        ci_high=high,
        runs=runs,
        seconds_per_cell=float(np.mean(seconds)) if seconds else 0.0,
        compute={name: _mean_timing(timings[name]) for name in supervisors if timings[name]},
    )


def _mean_timing(timings: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean wall and CPU seconds; CPU over the records that measured it (NaN if none)."""
    wall, cpu = np.array(timings, dtype=float).T
    measured = cpu[~np.isnan(cpu)]
    return float(wall.mean()), float(measured.mean()) if len(measured) else float("nan")


def _heatmap(summary: StudySummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(
        figsize=(3.6 + 1.1 * len(summary.kinds), 1.4 + 0.3 * len(summary.supervisors))
    )
    ax.set_facecolor("lightgrey")  # shows through the masked (n/a) cells
    image = ax.imshow(np.ma.masked_invalid(summary.mean), cmap="viridis", vmin=0.5, vmax=1.0,
                      aspect="auto")  # fmt: skip
    ax.set_xticks(range(len(summary.kinds)), summary.kinds, rotation=30, ha="right")
    ax.set_yticks(range(len(summary.supervisors)), summary.supervisors)
    for i in range(len(summary.supervisors)):
        for j in range(len(summary.kinds)):
            value = summary.mean[i, j]
            text = "n/a" if np.isnan(value) else f"{value:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="black" if np.isnan(value) or value >= 0.8 else "white")  # fmt: skip
    fig.colorbar(image, ax=ax, label="mean AUROC")
    ax.set_title("AUROC by supervisor and input kind")
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")  # keeps the colour bar label
    plt.close(fig)


def write_study_report(
    records: Sequence[dict[str, Any]], out: str | Path, *, config: dict[str, Any]
) -> StudySummary:
    """Write ``results.json``, ``study.md`` and ``auroc-heatmap.png`` into ``out``."""
    out = Path(out)
    summary = summarise(records)
    (out / "results.json").write_text(
        json.dumps({"config": config, "cells": list(records)}, indent=2, sort_keys=True) + "\n"
    )
    _heatmap(summary, out / "auroc-heatmap.png")
    leaders = summary.leaders()
    runs = len(config["architectures"]) * len(config["seeds"])
    lines = [
        f"# Supervisor study on {config['dataset']}",
        "",
        f"AUROC, mean ± std over {runs} runs ({', '.join(config['architectures'])} x seeds "
        f"{', '.join(map(str, config['seeds']))}), with the mean of the per-run 95% bootstrap "
        f"intervals; at most {config['samples']} inputs per stress corpus. "
        f"Mean compute per computed cell: {summary.seconds_per_cell:.1f} s wall.",
        "",
        summary.markdown(),
        "",
        "Best supervisor per kind: "
        + ", ".join(f"{kind}: `{name}`" for kind, name in leaders.items()),
        "",
        "![AUROC heatmap](auroc-heatmap.png)",
        "",
        "Rank agreement between kinds: Spearman's rho between two kinds' mean AUROCs across "
        "the supervisors that have both (their number in brackets); a low value means that "
        "ranking well on one kind says little about the other.",
        "",
        summary.agreement_markdown(),
        "",
    ]
    architectures = list(dict.fromkeys(r["architecture"] for r in records))
    if len(architectures) > 1:
        for arch in architectures:
            per_arch = summarise([r for r in records if r["architecture"] == arch])
            lines += [f"Rank agreement with `{arch}` alone:", "", per_arch.agreement_markdown(), ""]
    lines += [
        "Compute per cell (the supervisor's fit and nominal scoring shared by its cells):",
        "",
        summary.compute_markdown(),
        "",
    ]
    (out / "study.md").write_text("\n".join(lines))
    return summary
