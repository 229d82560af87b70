"""The supervisor registry: built-ins and plugins alike arrive through entry points."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.registry import Registry
from supervisor_testing.supervisors.base import Supervisor

__all__ = ["create_supervisor", "list_supervisors", "register_supervisor", "supervisors"]

supervisors: Registry[type[Supervisor]] = Registry("supervisor", "supervisor_testing.supervisors")
register_supervisor = supervisors.register


def create_supervisor(name: str, model: nn.Module, **params: Any) -> Supervisor:
    """Build the supervisor registered as ``name`` around ``model``.

    ``None`` values are dropped so that unset CLI options never override a supervisor's
    own defaults.
    """
    factory = supervisors.get(name)
    params = {k: v for k, v in params.items() if v is not None}
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C factory without a signature: just call
        signature = None
    if signature is not None:
        try:
            signature.bind(model, **params)
        except TypeError as exc:
            accepted = [
                p.name
                for p in list(signature.parameters.values())[1:]
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            raise InvalidInputError(
                f"supervisor {name!r} does not take these parameters ({exc}); it accepts "
                + (", ".join(accepted) if accepted else "none")
            ) from None
    return factory(model, **params)


def list_supervisors(pattern: str = "*") -> list[str]:
    """Registered supervisor names matching a shell-style pattern."""
    return supervisors.names(pattern)
