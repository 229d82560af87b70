"""Resampling a chunk at arbitrary source coordinates (bilinear), for affine warps and
elastic displacement fields."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["affine_source_grid", "sample_at"]


def sample_at(
    x: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    *,
    border: str,
    pixel_centres: bool = True,
) -> torch.Tensor:
    """Bilinear samples of ``N x C x H x W`` at source coordinates ``rows``, ``cols``
    (``N x H' x W'``, in pixels).

    Borders: ``zeros`` reads zeros outside; ``mirror`` reflects about the edge pixels
    (OpenCV's BORDER_REFLECT_101); ``reflect`` reflects about the image edge, half a pixel
    further out (scipy's ``map_coordinates(mode='reflect')``).
    """
    height, width = x.shape[-2:]
    if border == "reflect":
        # align_corners=False puts the reflection axis at -0.5 and size - 0.5.
        gx = (2 * cols + 1) / width - 1
        gy = (2 * rows + 1) / height - 1
        return F.grid_sample(
            x, torch.stack((gx, gy), dim=-1), mode="bilinear", padding_mode="reflection",
            align_corners=False,
        )  # fmt: skip
    gx = 2 * cols / max(width - 1, 1) - 1
    gy = 2 * rows / max(height - 1, 1) - 1
    padding = {"zeros": "zeros", "mirror": "reflection"}[border]
    return F.grid_sample(
        x, torch.stack((gx, gy), dim=-1), mode="bilinear", padding_mode=padding,
        align_corners=True,
    )  # fmt: skip


def affine_source_grid(
    inverse_maps: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Source (row, col) of every output pixel under ``N x 2 x 3`` maps from output
    ``(x, y, 1)`` = (col, row, 1) to source ``(x, y)``."""
    rows, cols = torch.meshgrid(
        torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )  # fmt: skip
    points = torch.stack((cols, rows, torch.ones_like(rows)), dim=-1).reshape(-1, 3)
    source = torch.einsum("nij,pj->npi", inverse_maps.to(torch.float64), points)
    source = source.reshape(-1, height, width, 2).to(torch.float32)
    return source[..., 1], source[..., 0]
