"""The attacks by name, and the checks that turn user input into a list of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generators.adversarial.attack import Attack
from generators.adversarial.bim import BIM
from generators.adversarial.deepfool import DeepFool
from generators.adversarial.fgsm import FGSM
from generators.adversarial.pgd import PGD
from supervisor_testing.errors import InvalidInputError, UnknownNameError

__all__ = ["ATTACKS", "create_attack", "resolve_attack_settings", "resolve_attacks"]

#: Attack classes by name, in the AmbiGuess study's order.
ATTACKS: Mapping[str, type[Attack]] = {cls.name: cls for cls in (FGSM, PGD, BIM, DeepFool)}


def create_attack(name: str, **settings: Any) -> Attack:
    """The attack ``name`` (``fgsm``, ``pgd``, ``bim`` or ``deepfool``) with ``settings``.

    Example:
        >>> create_attack("BIM", steps=5)
        BIM(random_start=False, rel_stepsize=0.2, steps=5)
    """
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in ATTACKS:
        raise UnknownNameError(f"unknown attack {name!r}; choose from: {', '.join(ATTACKS)}")
    return ATTACKS[key](**settings)


def resolve_attacks(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Attack names from a list or a comma-separated string (``None``: all four), checked
    for unknown names and repeats, in the order given."""
    if value is None:
        return tuple(ATTACKS)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise InvalidInputError(
            f"attacks must be a list of names or a comma-separated string, got {value!r}"
        )
    names = tuple(item.strip().lower() for item in items if item.strip())
    if not names:
        raise InvalidInputError(f"name at least one attack; choose from: {', '.join(ATTACKS)}")
    for name in names:
        if name not in ATTACKS:
            # Not UnknownNameError: within a recipe that would read as an unknown generator.
            raise InvalidInputError(f"unknown attack {name!r}; choose from: {', '.join(ATTACKS)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInputError(f"attack {repeated[0]!r} is named twice; name each attack once")
    return names


def resolve_attack_settings(
    attacks: tuple[str, ...], settings: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Every chosen attack's full settings: its defaults updated by ``settings[name]``."""
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise InvalidInputError(
            f"attack_params must be a table of attack name -> settings, got {settings!r}"
        )
    stray = sorted(set(settings) - set(attacks))
    if stray:
        raise InvalidInputError(
            f"attack_params has settings for {stray[0]!r}, which is not among the attacks "
            f"({', '.join(attacks)}); add it to attacks or drop its settings"
        )
    out = {}
    for name in attacks:
        given = settings.get(name, {})
        if not isinstance(given, Mapping):
            raise InvalidInputError(
                f"attack_params.{name} must be a table of settings, got {given!r}"
            )
        out[name] = create_attack(name, **given).settings
    return out
