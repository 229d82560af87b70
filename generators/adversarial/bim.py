"""BIM (Kurakin et al. 2017): iterated FGSM with small steps, clipped to the epsilon ball."""

from __future__ import annotations

from types import MappingProxyType

from generators.adversarial.pgd import PGD

__all__ = ["BIM"]


class BIM(PGD):
    """PGD's iteration without the random start: 10 steps of 0.2 epsilon from the clean
    input (foolbox 3's ``LinfBasicIterativeAttack`` defaults), hence deterministic.

    Example:
        >>> BIM().settings
        {'steps': 10, 'rel_stepsize': 0.2, 'random_start': False}
    """

    name = "bim"
    defaults = MappingProxyType({"steps": 10, "rel_stepsize": 0.2, "random_start": False})
