"""Supervisors: the Supervisor protocol, its registry and the built-in families."""

from __future__ import annotations

from supervisor_testing.supervisors.base import Supervisor, as_model_input
from supervisor_testing.supervisors.registry import (
    create_supervisor,
    list_supervisors,
    register_supervisor,
    supervisors,
)
from supervisor_testing.supervisors.state import load_supervisor, save_supervisor

__all__ = [
    "Supervisor",
    "as_model_input",
    "create_supervisor",
    "list_supervisors",
    "load_supervisor",
    "register_supervisor",
    "save_supervisor",
    "supervisors",
]
