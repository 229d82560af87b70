"""Adversarial inputs: FGSM, PGD, BIM and DeepFool at the smallest successful epsilon.

The AmbiGuess study's adversarial corpus, in plain torch: each attack takes an equal share
of a shuffled nominal set, and every input keeps the first step of an epsilon ladder at
which its stored uint8 image is misclassified (see :mod:`generators.adversarial.ladder`
for why the search runs on the rounded image).
"""

from __future__ import annotations

from generators.adversarial.attack import Attack, AttackRun
from generators.adversarial.catalog import ATTACKS, create_attack, resolve_attacks
from generators.adversarial.generator import AdversarialGenerator, assign_attacks
from generators.adversarial.ladder import (
    STUDY_EPSILONS,
    LadderResult,
    check_epsilons,
    minimal_epsilons,
)
from generators.adversarial.quantization import quantize_within

__all__ = [
    "ATTACKS",
    "STUDY_EPSILONS",
    "AdversarialGenerator",
    "Attack",
    "AttackRun",
    "LadderResult",
    "assign_attacks",
    "check_epsilons",
    "create_attack",
    "minimal_epsilons",
    "quantize_within",
    "resolve_attacks",
]
