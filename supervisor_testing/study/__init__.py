"""The comparative study: every supervisor against every kind of high-uncertainty input."""

from __future__ import annotations

from supervisor_testing.study.config import KIND_RECIPES, StudyConfig, load_study_config
from supervisor_testing.study.runner import run_study
from supervisor_testing.study.summary import StudySummary, summarise, write_study_report

__all__ = [
    "KIND_RECIPES",
    "StudyConfig",
    "StudySummary",
    "load_study_config",
    "run_study",
    "summarise",
    "write_study_report",
]
