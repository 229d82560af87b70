"""Separable linear image operators as matrices: blurs, zooms and resamplings.

A 1-D filter with its boundary rule, a zoom or a resampling is a fixed ``n x n`` (or
``m x n``) matrix for a given image size, so a whole chunk is filtered by two matrix
products, ``rows @ x @ cols.T``, and the matrices are built once per size and cached.
Building them here (instead of calling scipy per image) is what makes the corruptions
batched; the tests check each matrix against scipy / Pillow on the same input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

__all__ = [
    "apply_dense",
    "apply_separable",
    "clipped_zoom",
    "extend_indices",
    "filter_matrix",
    "gaussian_matrix",
    "gaussian_weights",
    "pil_resize_matrix",
    "single_threaded_gemm",
    "zoom_matrix",
]

#: Boundary rules, named as in ``scipy.ndimage``: ``nearest`` repeats the edge, ``reflect``
#: mirrors about the edge (d c b a | a b c d), ``mirror`` about the edge pixel
#: (d c b | a b c d, OpenCV's BORDER_REFLECT_101), ``constant`` reads zeros.
MODES = ("nearest", "reflect", "mirror", "wrap", "constant")


def extend_indices(indices: np.ndarray, n: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Map indices outside ``0..n-1`` back inside by ``mode``; also say which are valid.

    Works for any distance outside (repeated reflections), which kernels wider than the
    image need.
    """
    indices = np.asarray(indices, dtype=np.int64)
    valid = np.ones(indices.shape, dtype=bool)
    if mode == "nearest":
        return np.clip(indices, 0, n - 1), valid
    if mode == "wrap":
        return np.mod(indices, n), valid
    if mode == "reflect":
        folded = np.mod(indices, 2 * n)
        return np.where(folded >= n, 2 * n - 1 - folded, folded), valid
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(indices), valid
        folded = np.mod(indices, 2 * n - 2)
        return np.where(folded >= n, 2 * n - 2 - folded, folded), valid
    if mode == "constant":
        valid = (indices >= 0) & (indices < n)
        return np.clip(indices, 0, n - 1), valid
    raise ValueError(f"unknown boundary mode {mode!r}; use one of {MODES}")


def filter_matrix(n: int, weights: np.ndarray, *, mode: str) -> np.ndarray:
    """``n x n`` matrix of the 1-D correlation with odd-length ``weights`` centred on 0."""
    weights = np.asarray(weights, dtype=np.float64)
    radius = len(weights) // 2
    offsets = np.arange(-radius, radius + 1)
    rows = np.repeat(np.arange(n), len(offsets))
    source, valid = extend_indices(rows + np.tile(offsets, n), n, mode)
    matrix = np.zeros((n, n), dtype=np.float64)
    np.add.at(matrix, (rows[valid], source[valid]), np.tile(weights, n)[valid])
    return matrix


def gaussian_weights(sigma: float, *, truncate: float = 4.0) -> np.ndarray:
    """scipy's sampled Gaussian: radius ``int(truncate * sigma + 0.5)``, normalised."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 0 or radius == 0:
        return np.ones(1)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / float(sigma) ** 2 * x**2)
    return phi / phi.sum()


@lru_cache(maxsize=256)
def _gaussian_matrix(n: int, sigma: float, mode: str, truncate: float) -> torch.Tensor:
    matrix = filter_matrix(n, gaussian_weights(sigma, truncate=truncate), mode=mode)
    return torch.from_numpy(matrix.astype(np.float32))


def gaussian_matrix(
    n: int, sigma: float, *, mode: str = "nearest", truncate: float = 4.0
) -> torch.Tensor:
    """Gaussian blur along one axis of length ``n`` as scikit-image's ``gaussian`` does it
    (scipy's ``gaussian_filter1d``; ``nearest`` is its default boundary)."""
    return _gaussian_matrix(int(n), float(sigma), mode, float(truncate))


@lru_cache(maxsize=256)
def _zoom_matrix(n: int, factor: float) -> torch.Tensor:
    crop = int(np.ceil(n / factor))
    top = (n - crop) // 2
    zoomed = round(crop * factor)
    trim = (zoomed - n) // 2
    out = np.arange(trim, trim + n, dtype=np.float64)
    # scipy's zoom (grid_mode=False) stretches 0..crop-1 onto 0..zoomed-1.
    step = (crop - 1) / (zoomed - 1) if zoomed > 1 else 0.0
    coordinate = np.minimum(out * step, crop - 1)
    low = np.minimum(np.floor(coordinate).astype(np.int64), crop - 1)
    high = np.minimum(low + 1, crop - 1)
    frac = coordinate - low
    matrix = np.zeros((n, n), dtype=np.float64)
    np.add.at(matrix, (np.arange(n), top + low), 1.0 - frac)
    np.add.at(matrix, (np.arange(n), top + high), frac)
    return torch.from_numpy(matrix.astype(np.float32))


def zoom_matrix(n: int, factor: float) -> torch.Tensor:
    """The references' ``clipped_zoom`` along one axis: crop the central ``ceil(n / z)``
    pixels, zoom them by ``z`` with linear interpolation (scipy, order 1) and keep the
    central ``n``."""
    return _zoom_matrix(int(n), float(factor))


@lru_cache(maxsize=256)
def _pil_resize_matrix(n_in: int, n_out: int, resample: int) -> torch.Tensor:
    from PIL import Image

    # Resizing the rows of an identity image gives each input pixel's weight in every
    # output pixel: Pillow's own coefficients, without re-deriving its filter code.
    identity = Image.fromarray(np.eye(n_in, dtype=np.float32))
    responses = np.asarray(identity.resize((n_out, n_in), resample), dtype=np.float64)
    return torch.from_numpy(responses.T.astype(np.float32).copy())


def pil_resize_matrix(n_in: int, n_out: int, resample: int) -> torch.Tensor:
    """``n_out x n_in`` matrix of Pillow's 1-D resampling filter ``resample``."""
    return _pil_resize_matrix(int(n_in), int(n_out), int(resample))


def clipped_zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """:func:`zoom_matrix` on both image axes of ``N x C x H x W``, as one bilinear resize.

    Resizing the central crop with ``align_corners=True`` maps its first and last pixels
    onto the output's, the same grid as scipy's ``zoom``; the fused kernel costs a few
    operations per pixel where the dense matrices cost the image side.
    """
    height, width = x.shape[-2:]
    crop_h, crop_w = int(np.ceil(height / factor)), int(np.ceil(width / factor))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    zoomed_h, zoomed_w = round(crop_h * factor), round(crop_w * factor)
    crop = x[..., top : top + crop_h, left : left + crop_w]
    zoomed = torch.nn.functional.interpolate(
        crop, size=(zoomed_h, zoomed_w), mode="bilinear", align_corners=True
    )
    trim_h, trim_w = (zoomed_h - height) // 2, (zoomed_w - width) // 2
    return zoomed[..., trim_h : trim_h + height, trim_w : trim_w + width]


def apply_separable(
    x: torch.Tensor, rows: torch.Tensor | None = None, cols: torch.Tensor | None = None
) -> torch.Tensor:
    """``rows @ x @ cols.T`` over the last two axes of ``x`` (either may be skipped)."""
    with single_threaded_gemm():
        if rows is not None:
            x = torch.matmul(rows, x)
        if cols is not None:
            x = torch.matmul(x, cols.T)
    return x


# MKL's sgemm takes another code path, with other rounding, for fewer than 4 rows.
_MIN_GEMM_ROWS = 4


@contextmanager
def single_threaded_gemm() -> Iterator[None]:
    """Run matrix products on one thread.

    A sample's bits may not depend on the chunk it is corrupted in. With several threads
    MKL splits the rows of a product among them and treats the leftover rows of each
    share with other kernels, whose rounding differs, so a row's result would depend on
    how many rows share the call; on one thread it does not (checked for 4 to 3000 rows).
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def apply_dense(x: torch.Tensor, operator: torch.Tensor) -> torch.Tensor:
    """``x @ operator`` for ``x`` of shape ``N x C x K``, as one GEMM over the ``N C`` rows,
    each row's result independent of the others (see :func:`single_threaded_gemm`; calls
    with fewer than 4 rows are padded with zero rows)."""
    rows = x.reshape(-1, x.shape[-1])
    count = rows.shape[0]
    if count < _MIN_GEMM_ROWS:
        rows = torch.cat((rows, rows.new_zeros(_MIN_GEMM_ROWS - count, rows.shape[1])))
    with single_threaded_gemm():
        product = rows @ operator
    return product[:count].reshape(*x.shape[:-1], operator.shape[-1])
