"""Diffusion edits: SDEdit and CODE on diffusers models trained here or saved locally."""

from __future__ import annotations

from generators.diffusion.code_edit import code_edit
from generators.diffusion.config import DiffusionModelConfig, DiffusionTrainConfig
from generators.diffusion.ddim_inversion import ddim_invert
from generators.diffusion.generator import METHODS, DiffusionEditGenerator
from generators.diffusion.latent_sdedit import LatentEditor, is_latent_pipeline
from generators.diffusion.model_store import (
    DiffusionModel,
    default_model_path,
    load_diffusion_model,
    resolve_diffusion_model,
    save_diffusion_model,
)
from generators.diffusion.sdedit import sdedit
from generators.diffusion.training import diffusion_cache_key, train_diffusion_model

__all__ = [
    "METHODS",
    "DiffusionEditGenerator",
    "DiffusionModel",
    "DiffusionModelConfig",
    "DiffusionTrainConfig",
    "LatentEditor",
    "code_edit",
    "ddim_invert",
    "default_model_path",
    "diffusion_cache_key",
    "is_latent_pipeline",
    "load_diffusion_model",
    "resolve_diffusion_model",
    "save_diffusion_model",
    "sdedit",
    "train_diffusion_model",
]
