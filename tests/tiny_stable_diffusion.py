"""A tiny random Stable-Diffusion pipeline, built from configs and saved offline.

UNet2DConditionModel, AutoencoderKL, a CLIP text encoder and a tokenizer from a
hand-written character vocabulary: nothing downloads, it builds and runs in seconds, and
its outputs are noise. Tests use it for the mechanics around diffusers' pipelines (shapes,
seeded bytes, strength rules), never for image quality. Both the text-to-image and the
image-to-image classes can be saved, since users hand either kind to ``--pipeline``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["save_tiny_stable_diffusion"]


def save_tiny_stable_diffusion(root: Path, *, img2img: bool = False) -> Path:
    """Save a tiny random ``StableDiffusionPipeline`` (or ``...Img2ImgPipeline``) under
    ``root`` and return its directory; the same weights every call (seed 0)."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionImg2ImgPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root.mkdir(parents=True, exist_ok=True)
    # a character-level CLIP vocabulary: every word splits into letters, no merges needed
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz0123456789":
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    (root / "vocab.json").write_text(json.dumps(vocab))
    (root / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(root / "vocab.json"), str(root / "merges.txt"), model_max_length=16
    )
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG as it was
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            block_out_channels=(32, 64),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            norm_num_groups=8,
        )
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            block_out_channels=(8, 16),
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            latent_channels=4,
            norm_num_groups=8,
            sample_size=16,
        )
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
                hidden_size=32,
                intermediate_size=37,
                num_attention_heads=4,
                num_hidden_layers=2,
                vocab_size=100,
                max_position_embeddings=16,
            )
        )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    kind = StableDiffusionImg2ImgPipeline if img2img else StableDiffusionPipeline
    pipeline = kind(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    directory = root / ("sd-img2img" if img2img else "sd")
    pipeline.save_pretrained(directory)
    return directory
