"""Trained pair models with their provenance, on disk as safetensors plus JSON.

Training all pairs takes minutes, sampling from them milliseconds, so trained models are
cached under ``cache_dir("ambiguous", key)``: ``config.json`` (the hyper-parameters, the
seed, the data set hash, the pairs and how each one's training went) and
``pairs.safetensors`` (the stacked weights). The key hashes everything that determines the
weights, so a change to any of it trains afresh. Weights are never pickled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from generators.ambiguous.acceptance import PairReport
from generators.ambiguous.config import PairTrainingConfig
from generators.ambiguous.pair_model import PairAAE
from supervisor_testing._version import __version__
from supervisor_testing.atomic import atomic_directory, atomic_path
from supervisor_testing.errors import SupervisorTestingError

__all__ = [
    "CONFIG_FILE",
    "PAIR_MODELS_FORMAT_VERSION",
    "WEIGHTS_FILE",
    "TrainedPairs",
    "load_trained_pairs",
    "pair_models_key",
]

#: Bump when the model, the training loop or the file layout change the weights a config
#: and seed give: it is part of every cache key.
PAIR_MODELS_FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "pairs.safetensors"


def pair_models_key(
    dataset_sha256: str,
    pairs: Sequence[tuple[int, int]],
    config: PairTrainingConfig,
    *,
    seed: int,
) -> str:
    """sha256 over the training data, the pairs, the hyper-parameters, the seed and the
    format version: everything the weights depend on."""
    payload = {
        "dataset_sha256": dataset_sha256,
        "pairs": [list(p) for p in pairs],
        "config": config.to_dict(),
        "seed": seed,
        "format_version": PAIR_MODELS_FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class TrainedPairs:
    """The trained models of every pair, in eval use only (no dropout at inference).

    Attributes:
        model: all pairs stacked; ``model.classes[i]`` is pair ``i``.
        reports: one per pair, in the same order.
        config: the hyper-parameters.
        seed: the training seed.
        input_shape: ``(C, H, W)`` of the images it was trained on.
        class_names: the data set's label space.
        dataset_sha256: content hash of the training split.
        train_seconds: wall-clock training time (``None`` when unknown).
        path: the directory it was loaded from or cached in.
    """

    model: PairAAE
    reports: tuple[PairReport, ...]
    config: PairTrainingConfig
    seed: int
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    dataset_sha256: str
    train_seconds: float | None = None
    path: Path | None = field(default=None, compare=False)
    _grids: dict[int, torch.Tensor] = field(default_factory=dict, repr=False, compare=False)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [r.classes for r in self.reports]

    @property
    def accepted(self) -> list[int]:
        """Indices of the pairs whose model passed the acceptance rule."""
        return [i for i, r in enumerate(self.reports) if r.accepted]

    @property
    def rejected_pairs(self) -> list[tuple[int, int]]:
        """Pairs that never passed within ``max_tries``: they yield no samples."""
        return [r.classes for r in self.reports if not r.accepted]

    def gradient_norms(self, grid_size: int, *, progress: bool = False) -> torch.Tensor:
        """The density grid's cell weights before filtering, float64 ``P x G²``.

        Computed once per grid size and kept beside the weights (when the models live in
        a directory), so that sampling after training starts at once. ``progress`` shows
        a bar while they are computed.
        """
        if grid_size in self._grids:
            return self._grids[grid_size]
        from safetensors.torch import load_file, save_file

        from generators.ambiguous.density_sampler import cell_gradient_norms, grid_centres

        file = self.path / f"density-grid-{grid_size}.safetensors" if self.path else None
        norms = None
        if file is not None and file.is_file():
            try:
                norms = load_file(str(file))["gradient_norms"]
            except Exception:  # an unreadable cache file is recomputed
                norms = None
        if norms is None or norms.shape != (self.model.num_pairs, grid_size**2):
            centres, _ = grid_centres(self.config, grid_size)
            norms = cell_gradient_norms(self.model, centres, progress=progress)
            if file is not None and file.parent.is_dir():
                with atomic_path(file) as tmp:
                    save_file({"gradient_norms": norms}, str(tmp))
        self._grids[grid_size] = norms
        return norms

    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": PAIR_MODELS_FORMAT_VERSION,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "input_shape": list(self.input_shape),
            "class_names": list(self.class_names),
            "dataset_sha256": self.dataset_sha256,
            "pairs": [r.to_dict() for r in self.reports],
            "train_seconds": self.train_seconds,
            "torch_version": torch.__version__,
            "supervisor_testing_version": __version__,
        }

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``pairs.safetensors`` into ``directory`` atomically
        (a sibling temporary directory renamed into place; an existing one is replaced)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        with atomic_directory(directory, replace=True) as tmp:
            text = json.dumps(self.metadata(), indent=2, sort_keys=True) + "\n"
            (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
            state = {k: v.contiguous() for k, v in self.model.state_dict().items()}
            save_file(state, str(tmp / WEIGHTS_FILE))
        return directory


def load_trained_pairs(directory: str | Path) -> TrainedPairs:
    """Load pair models that :meth:`TrainedPairs.save` wrote.

    Raises:
        SupervisorTestingError: the directory is missing, incomplete or from another
            format version.
    """
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise SupervisorTestingError(
            f"{directory} holds no trained pair models ({CONFIG_FILE} and {WEIGHTS_FILE}); "
            "train them with train_pair_models"
        )
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SupervisorTestingError(f"{config_path} is not valid JSON ({exc}); retrain") from None
    if meta.get("format_version") != PAIR_MODELS_FORMAT_VERSION:
        raise SupervisorTestingError(
            f"{directory} holds pair models of format {meta.get('format_version')!r}; this "
            f"version reads {PAIR_MODELS_FORMAT_VERSION}: retrain them"
        )
    config = PairTrainingConfig.from_dict(meta["config"])
    measure = config.disc_accuracy_measure
    reports = tuple(PairReport.from_dict(r, measure=measure) for r in meta["pairs"])
    c, h, w = (int(d) for d in meta["input_shape"])
    class_names = tuple(meta["class_names"])
    model = PairAAE(
        torch.tensor([r.classes for r in reports], dtype=torch.int64),
        input_dim=c * h * w,
        num_classes=len(class_names),
        config=config,
    )
    try:
        model.load_state_dict(load_file(str(weights_path)))
    except Exception as exc:  # safetensors and load_state_dict raise untyped errors
        raise SupervisorTestingError(f"{weights_path} cannot be loaded ({exc}); retrain") from None
    return TrainedPairs(
        model=model.eval(),
        reports=reports,
        config=config,
        seed=int(meta["seed"]),
        input_shape=(c, h, w),
        class_names=class_names,
        dataset_sha256=str(meta["dataset_sha256"]),
        train_seconds=meta.get("train_seconds"),
        path=directory,
    )
