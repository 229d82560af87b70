"""Every detection result a test session produced, for its summary, JUnit XML and reports.

Under pytest-xdist each worker keeps its own log and ships it to the controller as JSON at
the end, so the summary is printed once, by the process that saw every result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supervisor_testing.baselines import Provenance

if TYPE_CHECKING:
    from supervisor_testing.evaluate import DetectionResult

__all__ = ["BASELINE_STATES", "ResultLog", "ResultRecord", "describe_baseline"]

#: What happened to a result's baseline: not looked for, compared, none recorded yet,
#: (re)written, or refused because it describes another model or corpus.
BASELINE_STATES = ("off", "compared", "missing", "written", "refused")


@dataclass(frozen=True)
class ResultRecord:
    """One result with what it was computed from and how it fared against its baseline.

    Attributes:
        nodeid: the test (or gate item) that produced it.
        result: the detection result (scores kept only when a report needs them).
        provenance: model and corpus hashes.
        baseline: one of :data:`BASELINE_STATES`.
        baseline_note: a short explanation for ``refused`` or ``missing``.
        changes: metric -> current minus baseline, when compared.
        corpus_paths: ``{"stress": ..., "nominal": ...}`` directories, for report images.
    """

    nodeid: str
    result: DetectionResult
    provenance: Provenance
    baseline: str = "off"
    baseline_note: str = ""
    changes: Mapping[str, float] | None = None
    corpus_paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, float]:
        """Results with the same key measure the same thing; the summary shows one."""
        r = self.result
        return (r.supervisor, r.stress, r.nominal, r.target_fpr)

    def to_dict(self, *, include_scores: bool = False) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "result": self.result.to_dict(include_scores=include_scores),
            "provenance": self.provenance.to_dict(),
            "baseline": self.baseline,
            "baseline_note": self.baseline_note,
            "changes": dict(self.changes) if self.changes is not None else None,
            "corpus_paths": dict(self.corpus_paths),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRecord:
        from supervisor_testing.evaluate import DetectionResult

        return cls(
            nodeid=data["nodeid"],
            result=DetectionResult.from_dict(data["result"]),
            provenance=Provenance.from_dict(data["provenance"]),
            baseline=data["baseline"],
            baseline_note=data["baseline_note"],
            changes=data["changes"],
            corpus_paths=data["corpus_paths"],
        )


def describe_baseline(record: ResultRecord) -> str:
    """The record's standing against its baseline in a few words, for tables."""
    if record.baseline == "compared" and record.changes is not None:
        return ", ".join(
            f"{metric.upper() if metric != 'tpr' else 'TPR'} {record.changes[metric]:+.3f}"
            for metric in ("auroc", "tpr")
        )
    return {
        "off": "-",
        "missing": "no baseline",
        "written": "baseline written",
        "refused": "baseline refused",
    }.get(record.baseline, record.baseline)


class ResultLog:
    """An ordered log of :class:`ResultRecord`; later records of one key replace earlier."""

    def __init__(self, records: Iterable[ResultRecord] = ()) -> None:
        self._records: list[ResultRecord] = list(records)
        self._verdicts: list[dict[str, Any]] = []

    def add(self, record: ResultRecord) -> None:
        self._records.append(record)

    def add_verdict(self, verdict: Mapping[str, Any]) -> None:
        """Record a gate verdict (``Verdict.to_dict()``) for the reports."""
        self._verdicts.append(dict(verdict))

    def __len__(self) -> int:
        return len(self._records)

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """Gate verdicts in the order they were judged."""
        return list(self._verdicts)

    @property
    def records(self) -> list[ResultRecord]:
        """Every record, in the order they were added."""
        return list(self._records)

    def latest(self) -> list[ResultRecord]:
        """One record per key (the last one), in order of first appearance."""
        latest: dict[tuple, ResultRecord] = {}
        for record in self._records:
            latest[record.key] = record  # replacing a value keeps the key's first position
        return list(latest.values())

    def to_json(self, *, include_scores: bool = False) -> str:
        """The log as JSON, to ship from an xdist worker to the controller."""
        records = [r.to_dict(include_scores=include_scores) for r in self._records]
        return json.dumps({"records": records, "verdicts": self._verdicts})

    def extend_json(self, text: str) -> None:
        """Append the records and verdicts of another log's :meth:`to_json`."""
        data = json.loads(text)
        self._records.extend(ResultRecord.from_dict(item) for item in data["records"])
        self._verdicts.extend(data["verdicts"])

    def summary_rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the end-of-session table."""
        latest = self.latest()
        results = [r.result for r in latest]
        tpr_names = {r.tpr_name for r in results}
        tpr = tpr_names.pop() if len(tpr_names) == 1 else "TPR@FPR(nominal)"
        levels = {r.auroc.level for r in results}
        ci = f" [{levels.pop():.0%} CI]" if len(levels) == 1 else " [CI]"
        header = ["supervisor", "stress corpus", f"AUROC{ci}", f"{tpr}{ci}", "realised FPR",
                  "vs baseline"]  # fmt: skip
        rows = [
            [
                r.result.supervisor,
                r.result.stress,
                f"{r.result.auroc:.3f}",
                f"{r.result.tpr:.3f}",
                f"{r.result.realised_fpr:.3f}",
                describe_baseline(r),
            ]
            for r in latest
        ]
        return header, rows

    def junit_properties(self) -> list[tuple[str, str]]:
        """The summary's numbers as (name, value) pairs for JUnit ``<testsuite>`` properties.

        Names read ``supervisor_testing.<supervisor>.<stress>.<metric>``; suite-level
        properties are valid in both the xunit1 and xunit2 schemas.
        """
        properties = []
        for record in self.latest():
            r = record.result
            prefix = f"supervisor_testing.{r.supervisor}.{r.stress}"
            values: list[tuple[str, float]] = [
                ("auroc", r.auroc.value),
                ("auroc_low", r.auroc.low),
                ("auroc_high", r.auroc.high),
                ("tpr", r.tpr.value),
                ("tpr_low", r.tpr.low),
                ("tpr_high", r.tpr.high),
                ("target_fpr", r.target_fpr),
                ("realised_fpr", r.realised_fpr),
                ("threshold", r.threshold),
            ]
            if record.baseline == "compared" and record.changes is not None:
                values += [
                    (f"{metric}_change", change) for metric, change in record.changes.items()
                ]
            properties += [(f"{prefix}.{name}", repr(float(value))) for name, value in values]
            properties.append((f"{prefix}.baseline", record.baseline))
        return properties
