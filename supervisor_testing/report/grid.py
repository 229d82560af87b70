"""Image grids: the quickest way for a person to see what a corpus holds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageDraw

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus

__all__ = ["corpus_grid", "image_grid"]


def image_grid(
    images: torch.Tensor,
    *,
    columns: int = 8,
    scale: int = 2,
    padding: int = 2,
    captions: Sequence[str] | None = None,
) -> Image.Image:
    """Tile ``uint8`` images ``N x C x H x W`` into one picture.

    Args:
        columns: tiles per row.
        scale: nearest-neighbour upscaling, so 8x8 or 28x28 inputs stay legible.
        captions: one short text per image, drawn under its tile.
    """
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise InvalidInputError(
            f"image_grid needs uint8 N x C x H x W with C in (1, 3), got {images.dtype} "
            f"{tuple(images.shape)}"
        )
    if captions is not None and len(captions) != len(images):
        raise InvalidInputError(f"got {len(captions)} captions for {len(images)} images")
    n, c, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    caption_height = 12 if captions else 0
    tile_h, tile_w = h * scale + caption_height, w * scale
    canvas = Image.new(
        "RGB",
        (columns * (tile_w + padding) + padding, rows * (tile_h + padding) + padding),
        "white",
    )
    draw = ImageDraw.Draw(canvas)
    pixels = images.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        tile = pixels[i][:, :, 0] if c == 1 else pixels[i]
        picture = Image.fromarray(np.ascontiguousarray(tile), "L" if c == 1 else "RGB")
        picture = picture.resize((w * scale, h * scale), Image.Resampling.NEAREST)
        x = padding + (i % columns) * (tile_w + padding)
        y = padding + (i // columns) * (tile_h + padding)
        canvas.paste(picture.convert("RGB"), (x, y))
        if captions:
            draw.text((x, y + h * scale), captions[i][: max(1, tile_w // 6)], fill="black")
    return canvas


def corpus_grid(
    corpus: Corpus,
    path: str | Path,
    *,
    count: int = 64,
    columns: int = 8,
    seed: int = 0,
    scale: int = 3,
) -> Path:
    """Save a grid of ``count`` seeded random samples of ``corpus`` as a PNG, captioned
    with their labels (``ood`` for inputs outside the label space)."""
    n = len(corpus)
    count = min(count, n)
    chosen = np.sort(np.random.default_rng(seed).choice(n, size=count, replace=False))
    images, labels = [], []
    start = 0
    for batch in corpus.batches(1024, columns=["images", "labels"]):  # stream: corpora can be big
        stop = start + len(batch["labels"])
        local = torch.from_numpy(chosen[(chosen >= start) & (chosen < stop)] - start)
        images.append(batch["images"][local])
        labels.extend(batch["labels"][local].tolist())
        start = stop
    names = corpus.class_names
    captions = [names[label] if 0 <= label < len(names) else "ood" for label in labels]
    grid = image_grid(torch.cat(images), columns=columns, scale=scale, captions=captions)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path
