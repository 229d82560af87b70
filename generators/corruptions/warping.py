"""Resampling a chunk at arbitrary source coordinates (bilinear), for affine warps and
elastic displacement fields."""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

__all__ = ["affine_source_grid", "displaced", "sample_at", "warp_affine"]


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
    # Elementwise products rather than a batched matrix product, whose rounding may depend
    # on how many samples share the call.
    maps = inverse_maps.to(torch.float64)[:, :, :, None, None]
    source = maps[:, :, 0] * cols + maps[:, :, 1] * rows + maps[:, :, 2]
    source = source.to(torch.float32)
    return source[:, 1], source[:, 0]


def _normalisers(height: int, width: int, border: str) -> tuple[float, float, float, float]:
    """(scale, offset) per axis taking pixel coordinates to ``grid_sample``'s [-1, 1]."""
    if border == "reflect":  # align_corners=False: pixel centres at (2 i + 1) / n - 1
        return 2.0 / width, 1.0 / width - 1.0, 2.0 / height, 1.0 / height - 1.0
    return 2.0 / max(width - 1, 1), -1.0, 2.0 / max(height - 1, 1), -1.0


def _grid_sample(x: torch.Tensor, grid: torch.Tensor, border: str) -> torch.Tensor:
    padding = {"zeros": "zeros", "mirror": "reflection", "reflect": "reflection"}[border]
    return F.grid_sample(
        x, grid, mode="bilinear", padding_mode=padding, align_corners=border != "reflect"
    )


def warp_affine(x: torch.Tensor, inverse_maps: torch.Tensor, *, border: str) -> torch.Tensor:
    """:func:`sample_at` at the sources of ``N x 2 x 3`` inverse maps (output (col, row,
    1) -> source (x, y)), with the grid's normalisation folded into the maps so that the
    grid is written in one pass (float32, elementwise: no sample's bits depend on another).
    """
    height, width = x.shape[-2:]
    scale_x, offset_x, scale_y, offset_y = _normalisers(height, width, border)
    maps = inverse_maps.to(torch.float64).clone()
    maps[:, 0] *= scale_x
    maps[:, 0, 2] += offset_x
    maps[:, 1] *= scale_y
    maps[:, 1, 2] += offset_y
    # N x 3 x 2: the coefficient of col, of row and the constant, for (grid x, grid y).
    coefficients = maps.transpose(1, 2).to(torch.float32)[:, :, None, None, :]
    cols = torch.arange(width, dtype=torch.float32)[None, :, None]
    rows = torch.arange(height, dtype=torch.float32)[:, None, None]
    grid = coefficients[:, 0] * cols + coefficients[:, 1] * rows + coefficients[:, 2]
    return _grid_sample(x, grid, border)


def displaced(x: torch.Tensor, field: torch.Tensor, *, border: str) -> torch.Tensor:
    """:func:`sample_at` at each pixel moved by ``N x 2 x H x W`` (column, row) offsets."""
    height, width = x.shape[-2:]
    scale_x, offset_x, scale_y, offset_y = _normalisers(height, width, border)
    base = _base_grid(height, width, scale_x, offset_x, scale_y, offset_y)
    steps = torch.tensor((scale_x, scale_y), dtype=torch.float32)
    return _grid_sample(x, base + field.permute(0, 2, 3, 1) * steps, border)


@lru_cache(maxsize=16)
def _base_grid(
    height: int, width: int, scale_x: float, offset_x: float, scale_y: float, offset_y: float
) -> torch.Tensor:
    cols = torch.arange(width, dtype=torch.float64) * scale_x + offset_x
    rows = torch.arange(height, dtype=torch.float64) * scale_y + offset_y
    grid = torch.stack(torch.meshgrid(cols, rows, indexing="xy"), dim=-1)
    return grid.to(torch.float32)
