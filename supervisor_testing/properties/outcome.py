"""What a property check returns, and the assertion error a violated property raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["PropertyResult", "PropertyViolation"]


@dataclass(frozen=True)
class PropertyResult:
    """The outcome of one metamorphic property on one supervisor.

    Attributes:
        name: the property (``severity-monotone``, ``batch-invariant``, ...).
        supervisor: the supervisor's name.
        holds: whether the property held.
        statistic: the number the decision rests on (its meaning is in ``message``).
        tolerance: how far the statistic may go before it counts as a violation.
        p_value: the one-sided test's p-value (``None`` for exact properties).
        alpha: the significance level the p-value is compared with.
        samples: how many inputs the statistic is computed over.
        message: one readable sentence with the numbers.
        details: per-level or per-comparison numbers, for reports.
    """

    name: str
    supervisor: str
    holds: bool
    statistic: float
    tolerance: float
    p_value: float | None
    alpha: float | None
    samples: int
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def __bool__(self) -> bool:
        return self.holds

    def raise_if_violated(self) -> PropertyResult:
        """Raise :class:`PropertyViolation` unless the property held; return ``self``."""
        if not self.holds:
            raise PropertyViolation(self)
        return self


class PropertyViolation(AssertionError):
    """A supervisor violated a metamorphic property; ``result`` holds the numbers.

    An ``AssertionError``, so pytest and hypothesis treat it as a failing test, not as
    bad input.
    """

    def __init__(self, result: PropertyResult) -> None:
        super().__init__(f"{result.supervisor}: {result.message}")
        self.result = result


PropertyResult.__module__ = "supervisor_testing.properties"
PropertyViolation.__module__ = "supervisor_testing.properties"
