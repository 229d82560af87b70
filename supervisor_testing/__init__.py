"""supervisor-testing: generate high-uncertainty inputs and test DNN supervisors on them.

The names below are imported lazily (PEP 562), so ``import supervisor_testing`` — and
with it the pytest plugin and ``suptest --help`` — does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from supervisor_testing._version import __version__

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus, corpus_from_dataset
    from supervisor_testing.data import Dataset, load_dataset
    from supervisor_testing.errors import (
        BaselineMismatchError,
        CorpusError,
        DatasetNotFoundError,
        InvalidInputError,
        SupervisorTestingError,
        UnknownNameError,
    )
    from supervisor_testing.evaluate import DetectionResult, Estimate, evaluate, evaluate_scores
    from supervisor_testing.executors import create_executor
    from supervisor_testing.gate import load_gate, run_gate
    from supervisor_testing.generation import Generator, create_generator, list_generators
    from supervisor_testing.models import resolve_model, train_model
    from supervisor_testing.recipes import build_recipe, load_recipe, resolve_corpus
    from supervisor_testing.sharded_build import build_sharded
    from supervisor_testing.supervisors import (
        Supervisor,
        create_supervisor,
        list_supervisors,
        register_supervisor,
    )

_EXPORTS = {
    "Corpus": "supervisor_testing.corpus",
    "corpus_from_dataset": "supervisor_testing.corpus",
    "Dataset": "supervisor_testing.data",
    "load_dataset": "supervisor_testing.data",
    "BaselineMismatchError": "supervisor_testing.errors",
    "CorpusError": "supervisor_testing.errors",
    "DatasetNotFoundError": "supervisor_testing.errors",
    "InvalidInputError": "supervisor_testing.errors",
    "SupervisorTestingError": "supervisor_testing.errors",
    "UnknownNameError": "supervisor_testing.errors",
    "DetectionResult": "supervisor_testing.evaluate",
    "Estimate": "supervisor_testing.evaluate",
    "evaluate": "supervisor_testing.evaluate",
    "evaluate_scores": "supervisor_testing.evaluate",
    "create_executor": "supervisor_testing.executors",
    "load_gate": "supervisor_testing.gate",
    "run_gate": "supervisor_testing.gate",
    "Generator": "supervisor_testing.generation",
    "create_generator": "supervisor_testing.generation",
    "list_generators": "supervisor_testing.generation",
    "resolve_model": "supervisor_testing.models",
    "train_model": "supervisor_testing.models",
    "build_recipe": "supervisor_testing.recipes",
    "load_recipe": "supervisor_testing.recipes",
    "resolve_corpus": "supervisor_testing.recipes",
    "build_sharded": "supervisor_testing.sharded_build",
    "Supervisor": "supervisor_testing.supervisors",
    "create_supervisor": "supervisor_testing.supervisors",
    "list_supervisors": "supervisor_testing.supervisors",
    "register_supervisor": "supervisor_testing.supervisors",
}

__all__ = [
    "BaselineMismatchError",
    "Corpus",
    "CorpusError",
    "Dataset",
    "DatasetNotFoundError",
    "DetectionResult",
    "Estimate",
    "Generator",
    "InvalidInputError",
    "Supervisor",
    "SupervisorTestingError",
    "UnknownNameError",
    "__version__",
    "build_recipe",
    "build_sharded",
    "corpus_from_dataset",
    "create_executor",
    "create_generator",
    "create_supervisor",
    "evaluate",
    "evaluate_scores",
    "list_generators",
    "list_supervisors",
    "load_dataset",
    "load_gate",
    "load_recipe",
    "register_supervisor",
    "resolve_corpus",
    "resolve_model",
    "run_gate",
    "train_model",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'supervisor_testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
