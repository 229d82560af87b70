"""What a comparative study runs: data set, models, supervisors and input kinds.

The AmbiGuess study (Weiss, Gómez & Tonella, EMSE 2023) compared supervisors over four
kinds of high-uncertainty inputs; a kind here is a recipe-name pattern, so the diffusion
and domain corpora join the study as soon as their recipes exist.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from supervisor_testing.errors import InvalidInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["KIND_RECIPES", "StudyConfig", "load_study_config"]

#: input kind -> recipe name pattern; ``{dataset}`` is the study's data set and ``{other}``
#: the data set whose images are invalid for it.
KIND_RECIPES: dict[str, str] = {
    "ambiguous": "{dataset}-ambiguous",
    "corrupted": "{dataset}-c",
    "invalid": "{dataset}-far-ood-{other}",
    "adversarial": "{dataset}-adversarial",
    "domain-shift": "{dataset}-domains",
    "diffusion-edit": "{dataset}-diffusion-edit",
}

_OTHER = {"mnist": "fashion", "fashion-mnist": "mnist"}

#: the axes of the cell grid; each cell is stored on its own, so these may change between
#: runs of one study directory without invalidating the cells already there.
GRID_FIELDS = ("architectures", "seeds", "supervisors", "kinds")

#: canonical name prefix of the deep ensembles: n/a on adversarial inputs, as in the paper,
#: because the attack targets one member (the model under study), not the ensemble.
ENSEMBLE_PREFIX = "deep-ensemble"


@dataclass(frozen=True)
class StudyConfig:
    """One study. Every field takes part in the resume check (:meth:`digest`).

    Attributes:
        dataset: data set whose ``train`` split fits models and supervisors.
        architectures: reference architectures; each is trained once per seed.
        seeds: model seeds (the paper's "runs").
        supervisors: registered supervisor names.
        kinds: input kinds from :data:`KIND_RECIPES`.
        samples: at most this many inputs per stress corpus (seeded subsample).
        fpr: nominal FPR for the TPR column.
        resamples: bootstrap resamples for the confidence intervals.
        ensemble_members: deep-ensemble size M, the model under study included. Run
            ``seed`` takes the models of seeds ``seed + 1 .. seed + M - 1`` as its other
            members, so the study's own models double as members of one another's
            ensembles: ``max(seeds) + M`` trainings per architecture, not ``seeds x M``.
    """

    dataset: str = "mnist"
    architectures: tuple[str, ...] = ("cnn", "mlp", "resnet")
    seeds: tuple[int, ...] = (0, 1, 2)
    supervisors: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("ambiguous", "corrupted", "invalid", "adversarial")
    samples: int = 1000
    fpr: float = 0.05
    resamples: int = 200
    ensemble_members: int = 5
    nominal: str = "{dataset}-test"
    calibration: str = "{dataset}-calibration"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from supervisor_testing.data import list_datasets
        from supervisor_testing.models import list_architectures
        from supervisor_testing.supervisors import supervisors

        if self.dataset not in list_datasets():
            raise InvalidInputError(
                f"unknown data set {self.dataset!r} in the study; known: "
                f"{', '.join(list_datasets())}"
            )
        for arch in self.architectures:
            if arch not in list_architectures():
                raise InvalidInputError(
                    f"unknown architecture {arch!r}; known: {', '.join(list_architectures())}"
                )
        for name in self.supervisors:
            supervisors.resolve(name)  # raises UnknownNameError listing the known ones
        unknown = [kind for kind in self.kinds if kind not in KIND_RECIPES]
        if unknown:
            raise InvalidInputError(
                f"unknown input kind(s) {', '.join(unknown)}; known: {', '.join(KIND_RECIPES)}"
            )
        if not self.architectures or not self.seeds or not self.kinds:
            raise InvalidInputError("a study needs at least one architecture, seed and kind")
        if self.samples < 10:
            raise InvalidInputError(f"samples must be at least 10, got {self.samples}")
        if self.ensemble_members < 2:
            raise InvalidInputError(
                f"ensemble_members must be at least 2, got {self.ensemble_members}"
            )

    def recipe_for(self, kind: str) -> str:
        """The recipe name that realises ``kind`` for this study's data set."""
        pattern = self.extra.get(kind, KIND_RECIPES[kind])
        return pattern.format(dataset=self.dataset, other=_OTHER.get(self.dataset, "other"))

    @property
    def nominal_recipe(self) -> str:
        return self.nominal.format(dataset=self.dataset)

    @property
    def calibration_recipe(self) -> str:
        return self.calibration.format(dataset=self.dataset)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("architectures", "seeds", "supervisors", "kinds"):
            data[key] = list(data[key])
        return data

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def settings(self) -> dict[str, Any]:
        """Everything that decides a finished cell's numbers: the config without the grid
        axes (:data:`GRID_FIELDS`), which a resumed study may extend or narrow."""
        return {k: v for k, v in self.to_dict().items() if k not in GRID_FIELDS}

    def settings_digest(self) -> str:
        return hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode()).hexdigest()


_FIELDS = {
    "dataset": str,
    "architectures": list,
    "seeds": list,
    "supervisors": list,
    "kinds": list,
    "samples": int,
    "fpr": float,
    "resamples": int,
    "ensemble_members": int,
    "nominal": str,
    "calibration": str,
    "extra": dict,
}

#: how the TOML spec names each type, for error messages
_TOML_TYPES = {str: "a string", list: "an array", int: "an integer", float: "a number",
               dict: "a table"}  # fmt: skip


def load_study_config(path: str | Path) -> StudyConfig:
    """Read a study from TOML (the keys of :class:`StudyConfig`, all optional)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"study config {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: malformed TOML ({exc})") from None
    for key, value in data.items():
        expected = _FIELDS.get(key)
        if expected is None:
            raise InvalidInputError(f"{path}: unknown key {key!r}; known: {', '.join(_FIELDS)}")
        if expected is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, expected):
            raise InvalidInputError(
                f"{path}: {key!r} must be {_TOML_TYPES[expected]}, got {value!r}"
            )
    for key in ("architectures", "seeds", "supervisors", "kinds"):
        if key in data:
            data[key] = tuple(data[key])
    return StudyConfig(**data)
