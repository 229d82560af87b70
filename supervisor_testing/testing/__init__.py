"""The pieces behind the pytest plugin, usable without pytest.

``supervisor_testing.pytest_plugin`` only wires these to pytest's hooks and fixtures: the
settings, the session-wide corpus cache and result log, and the ``supervision`` fixture's
object. Import them directly to evaluate supervisors with the same behaviour elsewhere.

Names are imported on first use (PEP 562): the plugin reads its settings in every pytest
session of the environment and should pay for nothing else there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supervisor_testing.testing.corpus_cache import CorpusCache
    from supervisor_testing.testing.result_log import ResultLog, ResultRecord
    from supervisor_testing.testing.settings import SupervisionSettings
    from supervisor_testing.testing.supervision import (
        NominalSplit,
        Supervision,
        SupervisionSession,
    )

_LOCATIONS = {
    "CorpusCache": "corpus_cache",
    "NominalSplit": "supervision",
    "ResultLog": "result_log",
    "ResultRecord": "result_log",
    "Supervision": "supervision",
    "SupervisionSession": "supervision",
    "SupervisionSettings": "settings",
}

__all__ = [
    "CorpusCache",
    "NominalSplit",
    "ResultLog",
    "ResultRecord",
    "Supervision",
    "SupervisionSession",
    "SupervisionSettings",
]


def __getattr__(name: str) -> Any:
    if name not in _LOCATIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LOCATIONS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
