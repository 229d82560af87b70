"""The supervisor registry: built-ins and plugins alike arrive through entry points."""

from __future__ import annotations

from typing import Any

from torch import nn

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
    return factory(model, **{k: v for k, v in params.items() if v is not None})


def list_supervisors(pattern: str = "*") -> list[str]:
    """Registered supervisor names matching a shell-style pattern."""
    return supervisors.names(pattern)
