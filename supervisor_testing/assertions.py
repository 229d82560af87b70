"""Detection requirements as assertions that explain themselves.

A gate on a point estimate passes by luck as often as it fails by luck, so the checks
compare the **lower confidence bound** by default; the pytest plugin can switch the
default (``supervisor_bound``) for a whole session. A failure names everything needed to
judge it without rerunning: the point estimate, the interval, the threshold, the realised
FPR and the corpora.

:class:`DetectionAssertions` is the mixin that gives ``DetectionResult`` its
``assert_detects`` and ``assert_auroc`` methods; the ``check_*`` functions are the truth.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.evaluate import DetectionResult, Estimate

__all__ = [
    "BOUNDS",
    "DetectionAssertions",
    "SupervisionAssertionError",
    "check_aupr",
    "check_auroc",
    "check_detects",
    "default_bound",
    "describe_result",
    "set_default_bound",
]

Bound = Literal["low", "value", "high"]
#: Which number of an estimate a requirement is compared with.
BOUNDS: tuple[str, ...] = ("low", "value", "high")

# One process-wide default, like a hypothesis settings profile: the pytest plugin sets it
# from its ini option at configure time and restores the previous value at unconfigure.
_default: list[str] = ["low"]


class SupervisionAssertionError(AssertionError):
    """A supervisor misses a detection requirement; the message shows the evidence."""


def _check_bound(bound: Any) -> str:
    if bound not in BOUNDS:
        raise InvalidInputError(
            f"bound must be one of {', '.join(map(repr, BOUNDS))}, got {bound!r}; 'low' "
            "compares the lower confidence bound, 'value' the point estimate"
        )
    return bound


def default_bound() -> str:
    """The bound requirements compare when none is passed (``"low"`` unless configured)."""
    return _default[0]


def set_default_bound(bound: Bound) -> str:
    """Set the default bound for requirements; returns the previous one to restore later."""
    previous = _default[0]
    _default[0] = _check_bound(bound)
    return previous


def _check_unit(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInputError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _bound_name(bound: str, estimate: Estimate) -> str:
    if bound == "value":
        return "point estimate"
    side = "lower" if bound == "low" else "upper"
    return f"{side} {estimate.level:.0%} bound"


def describe_result(result: DetectionResult) -> str:
    """The evidence lines every failure message carries: intervals, threshold, FPR, corpora."""
    lines = []
    for name, estimate in (("AUROC", result.auroc), (result.tpr_name, result.tpr)):
        lines.append(
            f"  {name}: point estimate {estimate.value:.4f}, {estimate.level:.0%} "
            f"{estimate.method} interval [{estimate.low:.4f}, {estimate.high:.4f}]"
        )
    lines.append(
        f"  threshold: alarm when score > {result.threshold:.6g}, set on "
        f"{result.n_calibration} calibration inputs (calibration FPR "
        f"{result.calibration_fpr:.4f})"
    )
    lines.append(
        f"  realised FPR: {result.realised_fpr:.4f} on {result.n_nominal} nominal test inputs "
        f"(target {result.target_fpr:g})"
    )
    lines.append(
        f"  corpus: stress {result.stress!r} ({result.n_stress} inputs) against nominal "
        f"{result.nominal!r}"
    )
    return "\n".join(lines)


def _require(
    result: DetectionResult, metric: str, estimate: Estimate, minimum: float, bound: str
) -> None:
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper's
    observed = getattr(estimate, bound)
    if observed >= minimum and not math.isnan(observed):
        return
    who = result.supervisor or "the supervisor"
    raise SupervisionAssertionError(
        f"{who} misses {result.stress!r}: {metric} {_bound_name(bound, estimate)} "
        f"{observed:.4f} < required {minimum:.4f}\n{describe_result(result)}"
    )


def check_detects(
    result: DetectionResult,
    *,
    min_tpr: float,
    at_fpr: float | None = None,
    bound: Bound | None = None,
) -> None:
    """Require the TPR at the nominal FPR to reach ``min_tpr``.

    Args:
        min_tpr: the smallest acceptable TPR in [0, 1].
        at_fpr: the nominal FPR the requirement is stated at; must equal the FPR the
            result was evaluated at (a threshold cannot be moved after the fact).
        bound: ``"low"`` (default), ``"value"`` or ``"high"``.

    Raises:
        SupervisionAssertionError: the requirement does not hold.
        InvalidInputError: an argument is out of range or ``at_fpr`` does not match.
    """
    __tracebackhide__ = True
    bound = _check_bound(default_bound() if bound is None else bound)
    minimum = _check_unit("min_tpr", min_tpr)
    if at_fpr is not None:
        at_fpr = _check_unit("at_fpr", at_fpr)
        if not math.isclose(at_fpr, result.target_fpr, rel_tol=1e-9, abs_tol=1e-12):
            raise InvalidInputError(
                f"the result was evaluated at a nominal FPR of {result.target_fpr:g}, not "
                f"{at_fpr:g}; evaluate with fpr={at_fpr:g} to assert at that rate"
            )
    _require(result, result.tpr_name, result.tpr, minimum, bound)


def check_auroc(result: DetectionResult, *, min: float, bound: Bound | None = None) -> None:
    """Require the AUROC to reach ``min``; see :func:`check_detects` for ``bound``."""
    __tracebackhide__ = True
    bound = _check_bound(default_bound() if bound is None else bound)
    _require(result, "AUROC", result.auroc, _check_unit("min", min), bound)


def check_aupr(result: DetectionResult, *, min: float, bound: Bound | None = None) -> None:
    """Require the AUPR (stress = positive) to reach ``min``."""
    __tracebackhide__ = True
    bound = _check_bound(default_bound() if bound is None else bound)
    _require(result, "AUPR", result.aupr, _check_unit("min", min), bound)


class DetectionAssertions:
    """``assert_*`` methods for :class:`~supervisor_testing.DetectionResult`.

    Each returns the result, so requirements chain::

        result.assert_auroc(min=0.9).assert_detects(at_fpr=0.05, min_tpr=0.8)
    """

    __slots__ = ()

    def assert_detects(
        self,
        *,
        min_tpr: float,
        at_fpr: float | None = None,
        bound: Bound | None = None,
    ) -> Any:
        """Require ``TPR@FPR(nominal)`` >= ``min_tpr`` (lower bound by default)."""
        __tracebackhide__ = True
        check_detects(self, min_tpr=min_tpr, at_fpr=at_fpr, bound=bound)  # type: ignore[arg-type]
        return self

    def assert_auroc(self, *, min: float, bound: Bound | None = None) -> Any:
        """Require AUROC >= ``min`` (lower bound by default)."""
        __tracebackhide__ = True
        check_auroc(self, min=min, bound=bound)  # type: ignore[arg-type]
        return self

    def assert_aupr(self, *, min: float, bound: Bound | None = None) -> Any:
        """Require AUPR >= ``min`` (lower bound by default)."""
        __tracebackhide__ = True
        check_aupr(self, min=min, bound=bound)  # type: ignore[arg-type]
        return self
