"""The ``diffusion`` generator: a nominal source -> a diffusion-edit corpus.

Every selected source image is edited in every (method, strength) cell, so cells compare
paired, like the corruption suites. Edits move the input away from the data by an amount
the strength controls while the model keeps it realistic: the natural-looking shifts a
corruption cannot make. Strong edits can change the class, so every sample also carries
an independent classifier's probabilities (``oracle_probs``); ``labels`` and
``label_probs`` keep the source label unless ``label_from="oracle"``.

Each sample's noise comes from its own seed (seed, source index, method, strength) and
the model runs in fixed row blocks, so batching and sharding never change a byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from generators.diffusion.latent_sdedit import (
    DEFAULT_PROMPT,
    LatentEditor,
    is_latent_pipeline,
    render_prompt,
)
from generators.diffusion.schedules import check_strength
from supervisor_testing.corpus import ColumnSpec
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import (
    Generator,
    generators,
    row_segments,
    subsample_indices,
)

if TYPE_CHECKING:
    from generators.diffusion.model_store import DiffusionModel
    from supervisor_testing.data.dataset import Dataset

__all__ = ["LABEL_SOURCES", "METHODS", "DiffusionEditGenerator"]

METHODS = ("sdedit", "code")
LABEL_SOURCES = ("source", "oracle")

#: rows per batch: two of the denoiser's 32-row blocks.
_CHUNK = 64


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidInputError(
            f"diffusion: method must be one of {', '.join(METHODS)}, got {value!r}"
        )
    for name in value:
        if name not in METHODS:
            raise InvalidInputError(
                f"diffusion: unknown method {name!r}; choose from {', '.join(METHODS)}"
            )
    return list(dict.fromkeys(value))


def _strengths(value: Any) -> list[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidInputError(
            f"diffusion: strengths must be a list of numbers in [0, 1], got {value!r}"
        )
    return list(dict.fromkeys(check_strength(v) for v in value))


@generators.register("diffusion", aliases=("diffusion-edit", "diffusion-edits"))
class DiffusionEditGenerator(Generator):
    """SDEdit and CODE edits of nominal inputs with a local diffusers UNet.

    Parameters:
        method: ``sdedit``, ``code``, or both (list or ``"sdedit,code"``).
        strengths: edit strengths in [0, 1] (SDEdit's t0 / T, CODE's inversion depth);
            0 returns the input unchanged.
        pipeline: a local diffusers directory (saved pipeline or UNet); default: the model
            shipped for the source data set, else the one trained here and cached. A saved
            Stable-Diffusion pipeline runs ``sdedit`` through diffusers' image-to-image
            pipeline (see :mod:`generators.diffusion.latent_sdedit`); ``code`` needs a
            pixel-space UNet.
        steps: timesteps in the DDIM grid over T (an edit runs about strength x steps).
        eta: SDEdit's DDIM eta (1 stochastic as in the paper, 0 deterministic ODE).
        repeats: SDEdit noise-and-denoise rounds (the paper's runs use 3).
        conditional: condition a class-conditional model on the source label (keeps the
            class through stronger edits); ``False`` runs it unconditionally.
        langevin_steps, step_size, clip_stds, encode_noise, thresholding: CODE's knobs
            (see :func:`generators.diffusion.code_edit.code_edit`).
        oracle: the independent classifier behind ``oracle_probs``: an architecture
            (trained on the source data set's train split and cached), a saved model
            directory or ``package.module:factory``.
        oracle_seed: training seed of an architecture oracle.
        label_from: ``source`` (labels and one-hot label_probs from the source) or
            ``oracle`` (its arg-max and probabilities).
        prompt, guidance_scale: Stable-Diffusion pipelines only: the prompt template
            (``{class}`` becomes the source's class name; ``""`` edits unprompted) and
            the classifier-free guidance scale (diffusers' default 7.5; <= 1 turns it off).
    """

    name = "diffusion"
    version = "1"
    kind = "diffusion-edit"
    defaults = MappingProxyType(
        {
            "method": "sdedit",
            "strengths": [0.3, 0.5, 0.7],
            "pipeline": None,
            "steps": 50,
            "eta": 1.0,
            "repeats": 1,
            "conditional": True,
            "langevin_steps": 20,
            "step_size": 1e-3,
            "clip_stds": 1.7,
            "encode_noise": 0.01,
            "thresholding": False,
            "oracle": "resnet",
            "oracle_seed": 0,
            "label_from": "source",
            "prompt": DEFAULT_PROMPT,
            "guidance_scale": 7.5,
        }
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._model: DiffusionModel | None = None
        self._latent: LatentEditor | None = None
        self._class_names: tuple[str, ...] = ()
        self._oracle: Any = None
        self._num_classes: int | None = None

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        params["method"] = _names(params["method"])
        params["strengths"] = _strengths(params["strengths"])
        for key in ("steps", "repeats", "langevin_steps"):
            value = params[key]
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < (0 if key == "langevin_steps" else 1)
            ):
                raise InvalidInputError(f"diffusion: {key} must be a positive int, got {value!r}")
        if not isinstance(params["prompt"], str):
            raise InvalidInputError(
                f"diffusion: prompt must be a string (use {{class}} for the class name), "
                f"got {params['prompt']!r}"
            )
        for key in ("eta", "step_size", "encode_noise", "guidance_scale"):
            if not isinstance(params[key], (int, float)) or params[key] < 0:
                raise InvalidInputError(
                    f"diffusion: {key} must be a non-negative number, got {params[key]!r}"
                )
            params[key] = float(params[key])
        if params["clip_stds"] is not None:
            if not isinstance(params["clip_stds"], (int, float)) or params["clip_stds"] <= 0:
                raise InvalidInputError(
                    "diffusion: clip_stds must be positive or None (no CBC), "
                    f"got {params['clip_stds']!r}"
                )
            params["clip_stds"] = float(params["clip_stds"])
        if params["label_from"] not in LABEL_SOURCES:
            raise InvalidInputError(
                f"diffusion: label_from must be one of {', '.join(LABEL_SOURCES)}, "
                f"got {params['label_from']!r}"
            )
        pipeline = params["pipeline"]
        if pipeline is not None:
            if not isinstance(pipeline, str) or not pipeline:
                raise InvalidInputError(
                    f"diffusion: pipeline must be a directory path, got {pipeline!r}"
                )
            from pathlib import Path

            from generators.diffusion.model_store import _missing

            if not Path(pipeline).expanduser().is_dir():
                raise _missing(Path(pipeline))
        return params

    @staticmethod
    def model_available(dataset_name: str) -> bool:
        """Whether a default model (shipped or cached) exists for ``dataset_name``."""
        from generators.diffusion.model_store import resolve_diffusion_model

        try:
            resolve_diffusion_model(None, dataset_name)
        except InvalidInputError:
            return False
        return True

    # -- the corpus layout ---------------------------------------------------------------

    def cells(self) -> list[tuple[str, float]]:
        """(method, strength) pairs in corpus order."""
        return [(m, s) for m in self._params["method"] for s in self._params["strengths"]]

    def extra_columns(self) -> dict[str, ColumnSpec]:
        if self._num_classes is None:
            raise InvalidInputError(
                "diffusion: the oracle_probs column is as wide as the label space; call "
                "class_names(source) or prepare(source) before extra_columns()"
            )
        return {
            "method": ColumnSpec("int64", (), categories=METHODS),
            "strength": ColumnSpec("float32"),
            "t0": ColumnSpec("int64"),
            "source_label": ColumnSpec("int64"),
            "oracle_probs": ColumnSpec("float32", (self._num_classes,)),
        }

    def class_names(self, source: Dataset) -> tuple[str, ...]:
        # every build asks for the label space before the schema: the oracle column is
        # as wide as it
        self._num_classes = source.num_classes
        return tuple(source.class_names)

    def build(self, source: Dataset, path: Any, **kwargs: Any) -> Any:
        self.prepare(source)  # a model that does not fit fails before anything is written
        return super().build(source, path, **kwargs)

    def expected_samples(self, source: Dataset, num_samples: int | None) -> int | None:
        count = len(source) if num_samples is None else num_samples
        return count * len(self.cells())

    # -- models -------------------------------------------------------------------------

    def prepare(self, source: Dataset) -> None:
        """Load the diffusion model and the oracle and check both fit ``source``."""
        self._num_classes = source.num_classes
        self._class_names = tuple(source.class_names)
        pipeline = self._params["pipeline"]
        if pipeline is not None and is_latent_pipeline(pipeline):
            if "code" in self._params["method"]:
                raise InvalidInputError(
                    f"diffusion: CODE needs a pixel-space UNet2DModel, but {pipeline} holds a "
                    "latent Stable-Diffusion pipeline; use --method sdedit with it, or a "
                    "pixel-space model for code"
                )
            if self._latent is None:
                self._latent = LatentEditor.load(pipeline)
            if source.image_shape[0] not in (1, 3):
                raise InvalidInputError(
                    f"diffusion: a Stable-Diffusion pipeline edits RGB images; the source "
                    f"{source.name!r} has {source.image_shape[0]} channels"
                )
        else:
            if self._model is None:
                from generators.diffusion.model_store import resolve_diffusion_model

                self._model = resolve_diffusion_model(pipeline, source.name)
            _check_fits(self._model, source, conditional=self._params["conditional"])
        if self._oracle is None:
            self._oracle = _load_oracle(
                self._params["oracle"], source, seed=self._params["oracle_seed"]
            )

    @property
    def model(self) -> DiffusionModel | LatentEditor | None:
        """The loaded model: a pixel-space UNet, or a Stable-Diffusion pipeline's editor."""
        return self._latent if self._latent is not None else self._model

    # -- generation ---------------------------------------------------------------------

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        self.prepare(source)
        indices = subsample_indices(len(source), num_samples, seed=seed)
        for method, strength in self.cells():
            yield from self._cell_batches(source, method, strength, indices, seed)

    def generate_range(
        self, source: Dataset, *, seed: int, num_samples: int | None = None, start: int, stop: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        self.prepare(source)
        cells = self.cells()
        indices = subsample_indices(len(source), num_samples, seed=seed)
        for cell, lo, hi in row_segments([len(indices)] * len(cells), start, stop):
            method, strength = cells[cell]
            yield from self._cell_batches(source, method, strength, indices[lo:hi], seed)

    def edit(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        source_index: torch.Tensor,
        *,
        method: str,
        strength: float,
        seed: int,
    ) -> tuple[torch.Tensor, int]:
        """Edit uint8 ``images`` (their labels and source indices key the noise); return
        uint8 edits and t0. Needs :meth:`prepare` (or a built corpus) first."""
        from generators.diffusion.code_edit import code_edit
        from generators.diffusion.denoiser import Denoiser
        from generators.diffusion.image_space import from_model_space, to_model_space
        from generators.diffusion.sample_noise import NoiseStreams, sample_seed
        from generators.diffusion.sdedit import sdedit

        model = self._model
        if model is None and self._latent is None:
            raise InvalidInputError("diffusion: call prepare(source) before edit()")
        strength = check_strength(strength)
        if strength == 0.0:
            return images.clone(), 0  # exactly the input, not a round trip through floats
        p = self._params
        if self._latent is not None:
            return self._latent_edit(images, labels, source_index, method, strength, seed)
        assert model is not None
        x0 = to_model_space(images, image_size=model.image_size)
        denoiser = Denoiser(model, labels if p["conditional"] else None)
        noise = NoiseStreams(
            [sample_seed(seed, int(i), method, strength) for i in source_index], tuple(x0.shape[1:])
        )
        if method == "sdedit":
            x, t0 = sdedit(
                denoiser,
                x0,
                strength=strength,
                noise=noise,
                steps=p["steps"],
                eta=p["eta"],
                repeats=p["repeats"],
            )
        else:
            x, t0 = code_edit(
                denoiser,
                x0,
                strength=strength,
                noise=noise,
                steps=p["steps"],
                langevin_steps=p["langevin_steps"],
                step_size=p["step_size"],
                clip_stds=p["clip_stds"],
                encode_noise=p["encode_noise"],
                thresholding=p["thresholding"],
            )
        return from_model_space(x, height=images.shape[-2], width=images.shape[-1]), t0

    def _latent_edit(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        source_index: torch.Tensor,
        method: str,
        strength: float,
        seed: int,
    ) -> tuple[torch.Tensor, int]:
        from generators.diffusion.sample_noise import sample_seed

        assert self._latent is not None
        if method != "sdedit":
            raise InvalidInputError(
                f"diffusion: CODE needs a pixel-space UNet2DModel; {self._latent.path} is a "
                "latent Stable-Diffusion pipeline (use method sdedit)"
            )
        p = self._params
        prompts = [render_prompt(p["prompt"], self._class_names[int(y)]) for y in labels]
        seeds = [sample_seed(seed, int(i), method, strength) for i in source_index]
        edited = self._latent.edit(
            images,
            prompts,
            seeds,
            strength=strength,
            steps=p["steps"],
            guidance_scale=p["guidance_scale"],
        )
        return edited, self._latent.t0(strength, steps=p["steps"])

    def _cell_batches(
        self, source: Dataset, method: str, strength: float, indices: torch.Tensor, seed: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        code = METHODS.index(method)
        for part in indices.split(_CHUNK):
            labels = source.labels[part]
            edited, t0 = self.edit(
                source.images[part], labels, part, method=method, strength=strength, seed=seed
            )
            oracle_probs = _oracle_probs(self._oracle, edited)
            n = len(part)
            if self._params["label_from"] == "oracle":
                out_labels = oracle_probs.argmax(dim=1)
                label_probs = oracle_probs
            else:
                out_labels = labels
                label_probs = F.one_hot(labels, source.num_classes).to(torch.float32)
            yield {
                "images": edited,
                "labels": out_labels,
                "label_probs": label_probs,
                "source_index": part,
                "method": torch.full((n,), code, dtype=torch.int64),
                "strength": torch.full((n,), strength, dtype=torch.float32),
                "t0": torch.full((n,), t0, dtype=torch.int64),
                "source_label": labels,
                "oracle_probs": oracle_probs,
            }


def _check_fits(model: DiffusionModel, source: Dataset, *, conditional: bool) -> None:
    """A model must see the corpus's channels at its side or padded by under 8 pixels."""
    channels, height, width = source.image_shape
    side = model.image_size
    if model.in_channels != channels:
        raise InvalidInputError(
            f"diffusion: the model {model.describe()} takes {model.in_channels}-channel images "
            f"but the source {source.name!r} has {channels}; use a model trained on "
            f"{channels}-channel data (suptest model train-diffusion --dataset {source.name})"
        )
    if not (0 <= side - height < 8 and 0 <= side - width < 8):
        raise InvalidInputError(
            f"diffusion: the model {model.describe()} works at {side}x{side} but the source "
            f"{source.name!r} has {height}x{width} images (a model may be at most 7 pixels "
            f"larger, the padding to its size); use a model trained at this resolution "
            f"(suptest model train-diffusion --dataset {source.name})"
        )
    if conditional and model.num_classes is not None and model.num_classes != source.num_classes:
        raise InvalidInputError(
            f"diffusion: the class-conditional model has {model.num_classes} classes but the "
            f"source {source.name!r} has {source.num_classes}; use conditional=False "
            f"(--unconditional) or a model trained on this label space"
        )


def _load_oracle(spec: str, source: Dataset, *, seed: int) -> torch.nn.Module:
    from supervisor_testing.data import load_dataset
    from supervisor_testing.models import resolve_model
    from supervisor_testing.models.networks import architectures

    train = load_dataset(source.name, "train") if spec in architectures else source
    module = resolve_model(spec, dataset=train, seed=seed).module
    return module.eval()


@torch.no_grad()
def _oracle_probs(oracle: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    from generators.diffusion.denoiser import ROW_BLOCK
    from supervisor_testing.supervisors.thread_limit import limited_threads

    x = images.float().div(255.0)
    rows = x.shape[0]
    pad = -rows % ROW_BLOCK
    if pad:
        x = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))])
    with limited_threads(1):
        return torch.softmax(oracle(x)[:rows].float(), dim=1)


DiffusionEditGenerator.__module__ = "generators.diffusion"
