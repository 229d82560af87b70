"""Corruption x severity grids: one source image under every cell of a corrupted corpus.

Rows are corruptions and columns severities, and every tile shows the same source image
where the corpus has it in that cell, so the eye compares the corruptions, not the digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus

__all__ = ["has_severity_grid", "severity_grid"]

_TILE = 84  # target tile side in pixels; small images are enlarged by an integer factor
_LABEL_WIDTH = 130
_HEADER = 16
_PAD = 2


def has_severity_grid(corpus: Corpus) -> bool:
    """Whether ``corpus`` has a categorical ``corruption`` and a ``severity`` column."""
    columns = corpus.columns
    return (
        "corruption" in columns
        and columns["corruption"].categories is not None
        and "severity" in columns
    )


def _choose_rows(corpus: Corpus, seed: int) -> dict[tuple[int, int], int]:
    """Corpus row shown for each (corruption code, severity): the seeded source image if
    the cell has it, else the cell's first sample."""
    codes, severities, sources = [], [], []
    for batch in corpus.batches(4096, columns=["corruption", "severity", "source_index"]):
        codes.append(batch["corruption"].numpy())
        severities.append(batch["severity"].numpy())
        sources.append(batch["source_index"].numpy())
    code = np.concatenate(codes) if codes else np.empty(0, dtype=np.int64)
    severity = np.concatenate(severities) if severities else np.empty(0, dtype=np.int64)
    source = np.concatenate(sources) if sources else np.empty(0, dtype=np.int64)
    if not len(code):
        return {}
    candidates = np.unique(source)
    wanted = candidates[np.random.default_rng(seed).integers(len(candidates))]
    rows: dict[tuple[int, int], int] = {}
    for row in np.flatnonzero(source == wanted):
        rows.setdefault((int(code[row]), int(severity[row])), int(row))
    for row, cell in enumerate(zip(code.tolist(), severity.tolist(), strict=True)):
        rows.setdefault(cell, row)
    return rows


def severity_grid(corpus: Corpus, path: str | Path, *, seed: int = 0) -> Path:
    """Save a PNG with one row per corruption and one column per severity.

    Args:
        corpus: a corpus with ``corruption`` and ``severity`` columns (see
            :func:`has_severity_grid`).
        path: where the PNG goes.
        seed: picks the source image shown.
    """
    rows = _choose_rows(corpus, seed)
    wanted = {row: cell for cell, row in rows.items()}
    tiles: dict[tuple[int, int], np.ndarray] = {}
    start = 0
    for batch in corpus.batches(4096, columns=["images"]):
        images = batch["images"].numpy()
        for offset in range(len(images)):
            if start + offset in wanted:
                tiles[wanted[start + offset]] = images[offset]
        start += len(images)

    names = corpus.categories("corruption")
    codes = sorted({code for code, _ in rows})
    levels = sorted({level for _, level in rows})
    channels, height, width = corpus.image_shape
    scale = max(1, _TILE // max(height, width))
    tile_h, tile_w = height * scale, width * scale
    canvas = Image.new(
        "RGB",
        (
            _LABEL_WIDTH + len(levels) * (tile_w + _PAD) + _PAD,
            _HEADER + len(codes) * (tile_h + _PAD) + _PAD,
        ),
        "white",
    )
    draw = ImageDraw.Draw(canvas)
    for column, level in enumerate(levels):
        x = _LABEL_WIDTH + _PAD + column * (tile_w + _PAD)
        draw.text((x, 2), f"severity {level}", fill="black")
    for row, code in enumerate(codes):
        y = _HEADER + _PAD + row * (tile_h + _PAD)
        draw.text((4, y + tile_h // 2 - 6), names[code][:22], fill="black")
        for column, level in enumerate(levels):
            pixels = tiles.get((code, level))
            if pixels is None:
                continue
            picture = pixels[0] if channels == 1 else np.transpose(pixels, (1, 2, 0))
            image = Image.fromarray(np.ascontiguousarray(picture)).convert("RGB")
            image = image.resize((tile_w, tile_h), Image.Resampling.NEAREST)
            canvas.paste(image, (_LABEL_WIDTH + _PAD + column * (tile_w + _PAD), y))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
