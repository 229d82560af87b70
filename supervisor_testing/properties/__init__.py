"""Metamorphic properties of supervisors, each usable as a one-line test.

Every property takes a fitted supervisor (any registered one, or your own) and inputs:
a corpus or recipe name, a data set, a uint8 tensor, or a
:class:`~supervisor_testing.strategies.Batch` drawn by hypothesis. ``check_*`` returns a
:class:`PropertyResult`; ``assert_*`` raises :class:`PropertyViolation` (an
``AssertionError``) with the numbers when the property is violated.

Example:
    >>> from supervisor_testing.properties import assert_severity_monotone
    >>> assert_severity_monotone(supervisor, "digits-test", corruption="fog")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supervisor_testing.properties.ambiguity import (
        assert_ambiguity_ordering,
        check_ambiguity_ordering,
    )
    from supervisor_testing.properties.determinism import (
        assert_deterministic,
        check_deterministic,
    )
    from supervisor_testing.properties.invariance import (
        assert_batch_invariant,
        assert_dtype_invariant,
        assert_translation_invariant,
        check_batch_invariant,
        check_dtype_invariant,
        check_translation_invariant,
        shift_one_pixel,
    )
    from supervisor_testing.properties.outcome import PropertyResult, PropertyViolation
    from supervisor_testing.properties.severity import (
        assert_severity_monotone,
        check_severity_monotone,
    )

_LOCATIONS = {
    "assert_ambiguity_ordering": "ambiguity",
    "check_ambiguity_ordering": "ambiguity",
    "assert_deterministic": "determinism",
    "check_deterministic": "determinism",
    "assert_batch_invariant": "invariance",
    "assert_dtype_invariant": "invariance",
    "assert_translation_invariant": "invariance",
    "check_batch_invariant": "invariance",
    "check_dtype_invariant": "invariance",
    "check_translation_invariant": "invariance",
    "shift_one_pixel": "invariance",
    "PropertyResult": "outcome",
    "PropertyViolation": "outcome",
    "assert_severity_monotone": "severity",
    "check_severity_monotone": "severity",
}

__all__ = [
    "PropertyResult",
    "PropertyViolation",
    "assert_ambiguity_ordering",
    "assert_batch_invariant",
    "assert_deterministic",
    "assert_dtype_invariant",
    "assert_severity_monotone",
    "assert_translation_invariant",
    "check_ambiguity_ordering",
    "check_batch_invariant",
    "check_deterministic",
    "check_dtype_invariant",
    "check_severity_monotone",
    "check_translation_invariant",
    "shift_one_pixel",
]


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
