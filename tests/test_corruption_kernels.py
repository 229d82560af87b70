"""The corruptions' fast paths: batch-invariant bits, the Poisson table sampler, the OpenCV
separable filter, and the corruption that is left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy import ndimage, stats

from generators.corruptions import corrupt
from generators.corruptions.seeding import SampleRandomness
from generators.corruptions.separable_filter import DENSE_SIDE, gaussian_separable
from supervisor_testing.cli import main
from supervisor_testing.errors import UnknownNameError


def _smooth(n: int, channels: int, size: int, *, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, 4, 4, generator=generator)
    fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic")
    texture = torch.rand(n, channels, size, size, generator=generator) * 0.15
    return ((fine.clamp(0, 1) * 0.7 + texture) * 255 + 20).clamp(0, 255).to(torch.uint8)


IMAGES = _smooth(36, 3, 32, seed=11)
DIGIT_SIZED = _smooth(36, 1, 28, seed=12)

# Matrix products and FFTs whose rounding could follow the chunk: dense operators
# (defocus, zoom), fitted FFT boxes (motion, snow), separable products (the rest).
_LINEAR = ["defocus_blur", "zoom_blur", "motion_blur", "snow", "gaussian_blur", "glass_blur"]


@pytest.mark.parametrize(
    ("name", "images"), [(name, IMAGES) for name in _LINEAR] + [("defocus_blur", DIGIT_SIZED)]
)
def test_a_sample_has_the_same_bits_in_any_chunk_on_two_threads(name, images):
    """Chunks of 36, 3 and 1 images give the same bytes, with torch on two threads (MKL
    rounds the leftover rows of a thread's share differently; before products were kept
    on one thread, defocus blur differed in about one pixel in ten thousand)."""
    threads = torch.get_num_threads()
    if threads < 2:
        # Raising the count of a process that torch started on one thread changes MKL's
        # blocking for the rest of the session, and later byte comparisons against fresh
        # worker processes (tests/test_scale_out.py) would fail for that reason alone.
        pytest.skip("torch started on one thread (OMP_NUM_THREADS=1)")
    torch.set_num_threads(2)
    try:
        indices = list(range(100, 136))
        whole = corrupt(images, name, severity=4, seed=2, indices=indices)
        for size in (3, 1):
            parts = [
                corrupt(images[i : i + size], name, severity=4, seed=2,
                        indices=indices[i : i + size])
                for i in range(0, len(images), size)
            ]  # fmt: skip
            assert torch.equal(torch.cat(parts), whole), size
        assert torch.get_num_threads() == 2  # the one-thread products restore the setting
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("rate", [3.0, 60.0, 500.0])
def test_poisson_levels_invert_the_exact_cdf(rate):
    """Each count is the Poisson quantile of the sample's own uniform, computed here by
    scipy independently of the guide table."""
    levels = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (5, 3, 9, 7)))
    levels = levels.to(torch.uint8)
    counts = SampleRandomness(4, range(5), "shot_noise", 2).poisson_levels(levels, rate)
    replay = SampleRandomness(4, range(5), "shot_noise", 2)
    uniforms = np.stack([g.random(3 * 9 * 7) for g in replay._streams()])  # the same draw
    expected = stats.poisson.ppf(uniforms, levels.reshape(5, -1).numpy() / 255.0 * rate)
    assert np.array_equal(counts.reshape(5, -1).numpy(), expected)


def test_poisson_levels_have_poisson_moments():
    levels = torch.full((40, 1, 32, 32), 128, dtype=torch.uint8)
    counts = SampleRandomness(0, range(40), "shot_noise", 1).poisson_levels(levels, 25.0)
    rate = 25.0 * 128 / 255
    n = counts.numel()
    assert abs(counts.mean().item() - rate) < 5 * (rate / n) ** 0.5
    assert abs(counts.var().item() / rate - 1) < 5 * (2 / n) ** 0.5


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "constant"])
@pytest.mark.parametrize(("size", "sigma", "truncate"), [(64, 1.0, 4.0), (100, 2.44, 3.0)])
def test_large_image_filter_matches_scipy(mode, size, sigma, truncate):
    assert size > DENSE_SIDE  # the OpenCV path
    x = np.random.default_rng(1).random((2, 3, size, size - 7)).astype(np.float32)
    got = gaussian_separable(torch.from_numpy(x), sigma, mode=mode, truncate=truncate)
    expected = ndimage.gaussian_filter(
        x.astype(np.float64), (0, 0, sigma, sigma), mode=mode, truncate=truncate
    )
    assert np.abs(got.numpy() - expected).max() < 1e-5


def test_kernels_wider_than_the_image_fall_back_to_matrices():
    x = np.random.default_rng(2).random((1, 1, 50, 60)).astype(np.float32)
    got = gaussian_separable(torch.from_numpy(x), 20.0, mode="mirror")
    expected = ndimage.gaussian_filter(x.astype(np.float64), (0, 0, 20, 20), mode="mirror")
    assert np.abs(got.numpy() - expected).max() < 1e-5


def test_pessimal_noise_is_refused_with_the_reason():
    clean = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    with pytest.raises(UnknownNameError, match="pessimal_noise_matrix"):
        corrupt(clean, "pessimal_noise", severity=1, suite="mnist-c")
    result = CliRunner().invoke(
        main,
        ["generate", "corruptions", "--corpus", "mnist-test", "--suite", "mnist-c",
         "--corruptions", "pessimal_noise", "--out", "unused"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "pessimal" in result.output and "Traceback" not in result.output
