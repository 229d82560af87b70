"""Supervisors that read a layer of the classifier: distances, densities and rectification.

Every one of them watches a named layer through a forward hook (default the penultimate
one) and shares extracted activations through the process-wide cache.
"""

from __future__ import annotations

from supervisor_testing.supervisors.feature.base import FeatureSupervisor
from supervisor_testing.supervisors.feature.extraction import PENULTIMATE, Activations, LayerTap
from supervisor_testing.supervisors.feature.knn import KNN
from supervisor_testing.supervisors.feature.mahalanobis import MDSA, Mahalanobis
from supervisor_testing.supervisors.feature.odin import ODIN
from supervisor_testing.supervisors.feature.react import ReAct
from supervisor_testing.supervisors.feature.surprise import DSA, LSA
from supervisor_testing.supervisors.feature.vim import ViM

__all__ = [
    "DSA",
    "KNN",
    "LSA",
    "MDSA",
    "ODIN",
    "PENULTIMATE",
    "Activations",
    "FeatureSupervisor",
    "LayerTap",
    "Mahalanobis",
    "ReAct",
    "ViM",
]
