"""The ``adversarial`` generator: a nominal source -> an adversarial corpus.

A seeded shuffle of the source (or of a seeded subsample) is split into as many equal
parts as there are attacks, in the AmbiGuess study's manner: a quarter each for FGSM,
PGD, BIM and DeepFool by default. Every input is attacked at each step of the epsilon
ladder until it flips (:mod:`generators.adversarial.ladder`); inputs that never flip are
kept with their clean image, ``success`` false and epsilon ``inf``.

Columns beside the required ones: ``attack`` (categorical), ``epsilon`` (float64, the
smallest step whose stored uint8 image flips the prediction; ``inf`` where none does),
``success`` (bool), ``predicted`` (the model's class for the stored image) and, with
``store_float``, ``float_epsilon`` (float64, the same for the unrounded float output) and
``float_perturbation`` (float32, the float output minus the clean input there). Labels and
``label_probs`` are the true source labels, one-hot.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from generators.adversarial.catalog import create_attack, resolve_attack_settings, resolve_attacks
from generators.adversarial.ladder import STUDY_EPSILONS, check_epsilons, minimal_epsilons
from generators.adversarial.target_model import (
    TargetModel,
    check_fits,
    check_model_spec,
    resolve_target_model,
)
from supervisor_testing.corpus import ColumnSpec
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import Generator, generators, subsample_indices

if TYPE_CHECKING:
    import os

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = ["AdversarialGenerator", "assign_attacks"]

_SHA256_HEX = frozenset("0123456789abcdef")


def assign_attacks(
    num_available: int, num_samples: int | None, num_attacks: int, *, seed: int
) -> list[torch.Tensor]:
    """Source indices for each attack: a seeded shuffle split into equal parts (sizes
    differ by at most one), each part sorted so it reads in source order."""
    chosen = subsample_indices(num_available, num_samples, seed=seed)
    # A stream apart from the subsample's, so that the split is not tied to the choice.
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    shuffled = chosen[torch.from_numpy(rng.permutation(len(chosen)))]
    return [part.sort().values for part in torch.tensor_split(shuffled, num_attacks)]


@generators.register("adversarial", aliases=("adversarials",))
class AdversarialGenerator(Generator):
    """Adversarial inputs at the smallest successful epsilon, against one classifier.

    Parameters:
        model: an architecture name (trained on ``train_data`` with ``model_seed`` and
            cached), a saved model directory, or ``package.module:factory``.
        train_data: the data set an architecture is trained on (its train split).
        model_seed: the architecture's training seed.
        model_sha256: pins the weights; ``None`` records whatever the model resolves to.
        attacks: names in order (``fgsm``, ``pgd``, ``bim``, ``deepfool``), a list or a
            comma-separated string; each gets an equal share of the inputs.
        epsilons: the ladder on 0..1 pixels (default: the AmbiGuess study's 13 steps).
        attack_params: per-attack settings, e.g. ``{"pgd": {"steps": 20}}``.
        store_float: also search the ladder in float space and store ``float_epsilon``
            and ``float_perturbation`` (runs every attack at sub-level steps too).

    ``batch_size`` and ``device`` are attributes, not parameters: neither changes a byte
    on CPU.

    Example:
        >>> gen = AdversarialGenerator(model="cnn", train_data="mnist", attacks="fgsm,pgd")
        >>> gen.params["attacks"], gen.params["attack_params"]["pgd"]["steps"]
        (['fgsm', 'pgd'], 40)
    """

    name = "adversarial"
    version = "1"
    kind = "adversarial"
    defaults = MappingProxyType(
        {
            "model": "cnn",
            "train_data": None,
            "model_seed": 0,
            "model_sha256": None,
            "attacks": None,
            "epsilons": list(STUDY_EPSILONS),
            "attack_params": None,
            "store_float": False,
        }
    )

    #: Inputs attacked together; results do not depend on it.
    batch_size = 256
    #: Where the model runs ("cpu", "cuda", ...); results are checked byte-stable on CPU.
    device: str | None = None

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._target: TargetModel | None = None
        self._image_shape: tuple[int, int, int] | None = None

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        check_model_spec(params["model"], params["train_data"])
        seed = params["model_seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise InvalidInputError(f"model_seed must be a non-negative int, got {seed!r}")
        digest = params["model_sha256"]
        if digest is not None and (
            not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _SHA256_HEX
        ):
            raise InvalidInputError(
                f"model_sha256 must be a 64-digit lower-case hex digest, got {digest!r}"
            )
        attacks = resolve_attacks(params["attacks"])
        if not isinstance(params["store_float"], bool):
            raise InvalidInputError(
                f"store_float must be true or false, got {params['store_float']!r}"
            )
        return {
            **params,
            "model": params["model"].strip(),
            "attacks": list(attacks),
            "epsilons": list(check_epsilons(params["epsilons"])),
            "attack_params": resolve_attack_settings(attacks, params["attack_params"]),
        }

    @property
    def attack_names(self) -> tuple[str, ...]:
        return tuple(self._params["attacks"])

    def target(self, *, progress: bool = False) -> TargetModel:
        """The model under attack, resolved once; its weights' sha256 is then recorded
        in :attr:`params` (and so in the corpus manifest)."""
        if self._target is None:
            target = resolve_target_model(
                self._params["model"],
                train_data=self._params["train_data"],
                model_seed=self._params["model_seed"],
                expected_sha256=self._params["model_sha256"],
                progress=progress,
            )
            if self.device is not None:
                target.module.to(self.device)
            self._target = target
            self._params["model_sha256"] = target.sha256
        return self._target

    def bind(self, source: Dataset, *, progress: bool = False) -> TargetModel:
        """Resolve the model and check that it reads ``source`` (shape and classes)."""
        target = self.target(progress=progress)
        check_fits(target, source, spec=self._params["model"])
        self._image_shape = source.image_shape
        return target

    def extra_columns(self) -> dict[str, ColumnSpec]:
        columns = {
            "attack": ColumnSpec("int64", (), categories=self.attack_names),
            "epsilon": ColumnSpec("float64"),
            "success": ColumnSpec("bool"),
            "predicted": ColumnSpec("int64"),
        }
        if self._params["store_float"]:
            columns["float_epsilon"] = ColumnSpec("float64")
            if self._image_shape is None:
                raise InvalidInputError(
                    "store_float needs the image shape: call bind(source) or build() first"
                )
            columns["float_perturbation"] = ColumnSpec("float32", self._image_shape)
        return columns

    def build(self, source: Dataset, path: str | os.PathLike[str], **options: Any) -> Corpus:
        # The model is resolved first so that its hash is in the manifest's params.
        self.bind(source, progress=bool(options.get("progress", False)))
        return super().build(source, path, **options)

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        module = self.bind(source).module
        parts = assign_attacks(len(source), num_samples, len(self.attack_names), seed=seed)
        settings: Mapping[str, dict[str, Any]] = self._params["attack_params"]
        for code, (name, part) in enumerate(zip(self.attack_names, parts, strict=True)):
            attack = create_attack(name, **settings[name])
            for chunk in part.split(self.batch_size):
                labels = source.labels[chunk]
                result = minimal_epsilons(
                    attack,
                    module,
                    source.images[chunk],
                    labels,
                    epsilons=self._params["epsilons"],
                    seed=seed,
                    keys=chunk,
                    track_float=self._params["store_float"],
                )
                batch = {
                    "images": result.images,
                    "labels": labels,
                    "label_probs": F.one_hot(labels, source.num_classes).to(torch.float32),
                    "source_index": chunk,
                    "attack": torch.full((len(chunk),), code, dtype=torch.int64),
                    "epsilon": result.epsilon,
                    "success": result.success,
                    "predicted": result.predicted,
                }
                if result.float_epsilon is not None:
                    batch["float_epsilon"] = result.float_epsilon
                    batch["float_perturbation"] = result.float_perturbation
                yield batch


AdversarialGenerator.__module__ = "generators.adversarial"
