"""The exceptions the suite raises on bad input.

Every error a user can cause derives from :class:`SupervisorTestingError`; the CLI turns
exactly these into one line on stderr and exit code 2, and lets anything else (a bug) show
its traceback.
"""

from __future__ import annotations

__all__ = [
    "BaselineMismatchError",
    "CorpusError",
    "DatasetNotFoundError",
    "InvalidInputError",
    "SupervisorTestingError",
    "UnknownNameError",
]


class SupervisorTestingError(Exception):
    """Base class for errors caused by the user's input or environment."""


class DatasetNotFoundError(SupervisorTestingError, FileNotFoundError):
    """A data set is not on this machine; the message says how to get it."""


class CorpusError(SupervisorTestingError, ValueError):
    """A corpus is malformed, truncated, tampered with or would escape its directory."""


class UnknownNameError(SupervisorTestingError, KeyError):
    """A registry was asked for a name it does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidInputError(SupervisorTestingError, ValueError):
    """Tensors or scores have the wrong shape, dtype or contain NaN."""


class BaselineMismatchError(SupervisorTestingError):
    """A stored baseline was recorded for another model, corpus or operating point."""
