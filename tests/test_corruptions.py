"""The corruption generator: reference formulas, per-sample determinism, suites, errors."""

from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage
from skimage import color, feature, transform

from generators.corruptions import CorruptionGenerator, corrupt, list_corruptions
from generators.corruptions.context import CorruptionContext
from generators.corruptions.fft_filter import correlate_at
from generators.corruptions.glass_blur import displace_pixels
from generators.corruptions.kernels import motion_kernels
from generators.corruptions.suites import resolve_table
from generators.corruptions.tables import CIFAR10_C, IMAGENET_C, MNIST_C, MNIST_C_SETTING
from supervisor_testing.cli import main
from supervisor_testing.corpus import Corpus
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError, UnknownNameError
from supervisor_testing.generation import create_generator, list_generators
from supervisor_testing.recipes import load_recipe
from supervisor_testing.report.severity_grid import has_severity_grid


def smooth_images(n: int, channels: int, size: int, *, seed: int) -> torch.Tensor:
    """Photo-like test images: bicubically enlarged 4 x 4 noise with mid-range levels."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, 4, 4, generator=generator)
    fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic")
    texture = torch.rand(n, channels, size, size, generator=generator) * 0.15
    return ((fine.clamp(0, 1) * 0.7 + texture) * 255 + 20).clamp(0, 255).to(torch.uint8)


def digit_images(n: int, *, seed: int) -> torch.Tensor:
    """MNIST-like strokes: thick random lines on black, 28 x 28."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, 28, 28), dtype=np.uint8)
    for image in out:
        for _ in range(3):
            r0, c0, r1, c1 = rng.integers(4, 24, size=4)
            rows = np.linspace(r0, r1, 40).round().astype(int)
            cols = np.linspace(c0, c1, 40).round().astype(int)
            for dr in (0, 1):
                for dc in (0, 1):
                    image[0, rows + dr, cols + dc] = 255
    return torch.from_numpy(out)


SMALL_RGB = smooth_images(6, 3, 32, seed=1)
DIGITS = digit_images(6, seed=2)
ALL = [("imagenet-c", name) for name in list_corruptions("imagenet-c", "all")] + [
    ("mnist-c", name) for name in list_corruptions("mnist-c", "all")
]


def _severity(suite: str, name: str) -> int:
    return MNIST_C_SETTING[name] if suite == "mnist-c" else 3


def _images(suite: str) -> torch.Tensor:
    return DIGITS if suite == "mnist-c" else SMALL_RGB


def _levels(images: torch.Tensor) -> np.ndarray:
    return images.numpy().astype(np.float64)


def test_generator_is_registered_with_aliases():
    assert "corruptions" in list_generators()
    assert isinstance(create_generator("corrupted"), CorruptionGenerator)
    assert len(list_corruptions("imagenet-c")) == 15
    assert len(list_corruptions("imagenet-c", "all")) == 19
    assert len(list_corruptions("mnist-c")) == 15
    assert len(list_corruptions("mnist-c", "all")) == 30


# -- determinism --------------------------------------------------------------------


_DETERMINISTIC = {
    "gaussian_blur", "defocus_blur", "zoom_blur", "brightness", "contrast", "saturate",
    "jpeg_compression", "pixelate", "quantize", "inverse", "stripe", "canny_edges", "scale",
}  # fmt: skip


@pytest.mark.parametrize(("suite", "name"), ALL)
def test_chunking_never_changes_a_byte_and_the_seed_does(suite, name):
    images, severity = _images(suite)[:4], _severity(suite, name)
    indices = [10, 3, 500, 42]
    whole = corrupt(images, name, severity=severity, seed=5, indices=indices, suite=suite)
    singles = [
        corrupt(images[i : i + 1], name, severity=severity, seed=5, indices=indices[i : i + 1],
                suite=suite)
        for i in range(len(indices))
    ]  # fmt: skip
    assert torch.equal(torch.cat(singles), whole)
    # order inside a batch does not matter either: a sample is keyed by its index
    flipped = corrupt(images.flip(0), name, severity=severity, seed=5, indices=indices[::-1],
                      suite=suite)  # fmt: skip
    assert torch.equal(flipped.flip(0), whole)
    other = corrupt(images, name, severity=severity, seed=6, indices=indices, suite=suite)
    assert torch.equal(other, whole) == (name in _DETERMINISTIC)


@pytest.mark.parametrize("name", ["gaussian_noise", "glass_blur", "motion_blur", "fog", "snow"])
def test_thread_count_does_not_change_a_byte(name):
    images = smooth_images(3, 3, 64, seed=3)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = corrupt(images, name, severity=4, seed=1)
        torch.set_num_threads(2)
        two = corrupt(images, name, severity=4, seed=1)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)


def test_generated_corpus_is_identical_whatever_the_chunk_size(tmp_path, monkeypatch):
    from generators.corruptions import generator as module

    source = Dataset(
        "toy", "test", smooth_images(40, 3, 16, seed=4), torch.arange(40) % 3, ("a", "b", "c")
    )
    gen = CorruptionGenerator(corruptions="shot_noise,glass_blur,frost", severities="2,5")
    first = gen.build(source, tmp_path / "a", seed=3, num_samples=25)
    monkeypatch.setattr(module, "_CHUNK_VALUES", 16 * 16 * 3 * 7)
    second = gen.build(source, tmp_path / "b", seed=3, num_samples=25)
    assert [s.sha256 for s in first.manifest.shards] == [s.sha256 for s in second.manifest.shards]


# -- reference formulas ---------------------------------------------------------------


def _context(name: str, severity: int, table: str = "cifar10-c", n: int = 1) -> CorruptionContext:
    suite = "mnist-c" if table == "mnist-c" else "imagenet-c"
    return CorruptionContext(suite, table, name, severity, 0, list(range(n)))


@pytest.mark.parametrize("severity", [1, 3, 5])
def test_contrast_matches_its_formula(severity):
    c = CIFAR10_C["contrast"][severity - 1]
    x = _levels(SMALL_RGB) / 255
    means = x.mean(axis=(2, 3), keepdims=True)
    expected = np.uint8(np.clip((x - means) * c + means, 0, 1) * 255)
    got = corrupt(SMALL_RGB, "contrast", severity=severity).numpy()
    assert np.abs(got.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("severity", [1, 5])
def test_brightness_and_saturate_match_scikit_image_hsv(severity):
    hwc = SMALL_RGB.permute(0, 2, 3, 1).numpy() / 255
    hsv = color.rgb2hsv(hwc)
    bright = hsv.copy()
    bright[..., 2] = np.clip(bright[..., 2] + CIFAR10_C["brightness"][severity - 1], 0, 1)
    scale, shift = CIFAR10_C["saturate"][severity - 1]
    saturated = hsv.copy()
    saturated[..., 1] = np.clip(saturated[..., 1] * scale + shift, 0, 1)
    for name, reference in (("brightness", bright), ("saturate", saturated)):
        expected = np.uint8(np.clip(color.hsv2rgb(reference), 0, 1) * 255).transpose(0, 3, 1, 2)
        got = corrupt(SMALL_RGB, name, severity=severity).numpy().astype(int)
        assert np.abs(got - expected).mean() < 0.05, name
        assert np.abs(got - expected).max() <= 1, name


@pytest.mark.parametrize(("table", "severity"), [("cifar10-c", 5), ("imagenet-c", 2)])
def test_gaussian_blur_matches_scipy(table, severity):
    sigma = {"cifar10-c": CIFAR10_C, "imagenet-c": IMAGENET_C}[table]["gaussian_blur"][severity - 1]
    x = _levels(SMALL_RGB) / 255
    expected = np.uint8(
        np.clip(ndimage.gaussian_filter(x, (0, 0, sigma, sigma), mode="nearest"), 0, 1) * 255
    )
    got = corrupt(SMALL_RGB, "gaussian_blur", severity=severity, table=table).numpy()
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_mnist_c_blurs_only_vertically_like_its_reference():
    got = corrupt(DIGITS, "gaussian_blur", severity=2, suite="mnist-c").numpy()
    x = _levels(DIGITS) / 255
    expected = np.uint8(
        np.clip(ndimage.gaussian_filter(x, (0, 0, 2, 0), mode="nearest"), 0, 1) * 255
    )
    assert np.abs(got.astype(int) - expected).max() <= 1


@pytest.mark.parametrize(("table", "severity"), [("cifar10-c", 4), ("imagenet-c", 1)])
def test_defocus_blur_matches_opencv_filter2d(table, severity):
    radius, alias = {"cifar10-c": CIFAR10_C, "imagenet-c": IMAGENET_C}[table]["defocus_blur"][
        severity - 1
    ]
    support = np.arange(-8, 9) if radius <= 8 else np.arange(-radius, radius + 1)
    xx, yy = np.meshgrid(support, support)
    disk = np.array(xx**2 + yy**2 <= radius**2, dtype=np.float32)
    disk /= disk.sum()
    kernel = cv2.GaussianBlur(disk, (3, 3) if radius <= 8 else (5, 5), sigmaX=alias)
    x = (_levels(SMALL_RGB) / 255).astype(np.float32)
    expected = np.stack([[cv2.filter2D(channel, -1, kernel) for channel in image] for image in x])
    expected = np.uint8(np.clip(expected, 0, 1) * 255)
    got = corrupt(SMALL_RGB, "defocus_blur", severity=severity, table=table).numpy()
    assert np.abs(got.astype(int) - expected).max() <= 1


def _clipped_zoom(image: np.ndarray, factor: float) -> np.ndarray:
    size = image.shape[0]
    crop = int(np.ceil(size / factor))
    top = (size - crop) // 2
    zoomed = ndimage.zoom(image[top : top + crop, top : top + crop], factor, order=1)
    trim = (zoomed.shape[0] - size) // 2
    return zoomed[trim : trim + size, trim : trim + size]


@pytest.mark.parametrize(("table", "severity"), [("cifar10-c", 5), ("imagenet-c", 3)])
def test_zoom_blur_matches_scipy_zoom(table, severity):
    stop, step = {"cifar10-c": CIFAR10_C, "imagenet-c": IMAGENET_C}[table]["zoom_blur"][
        severity - 1
    ]
    factors = np.arange(1, stop, step)
    x = _levels(SMALL_RGB) / 255
    expected = np.empty_like(x)
    for n, image in enumerate(x):
        for c, channel in enumerate(image):
            total = channel + sum(_clipped_zoom(channel, f) for f in factors)
            expected[n, c] = total / (len(factors) + 1)
    expected = np.uint8(np.clip(expected, 0, 1) * 255)
    got = corrupt(SMALL_RGB, "zoom_blur", severity=severity, table=table).numpy()
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_motion_kernels_reproduce_the_shifted_sum():
    """imagecorruptions' motion blur: tap i reads the image shifted back along the angle,
    edges repeated, weights of a one-sided Gaussian; taps stop at the image border."""
    x = _levels(SMALL_RGB[:1])[0, 0]
    for angle, radius, sigma in ((30.0, 6, 2.0), (-44.0, 10, 3.0), (12.5, 20, 15.0)):
        taps = 2 * radius + 1
        weights = np.exp(-(np.arange(taps) ** 2) / (2 * sigma**2))
        weights /= weights.sum()
        expected = np.zeros_like(x)
        for i in range(taps):
            dy = -int(np.ceil(i * np.sin(np.deg2rad(angle)) - 0.5))
            dx = -int(np.ceil(i * np.cos(np.deg2rad(angle)) - 0.5))
            if abs(dy) >= x.shape[0] or abs(dx) >= x.shape[1]:
                break
            rows = np.clip(np.arange(x.shape[0]) - dy, 0, x.shape[0] - 1)
            cols = np.clip(np.arange(x.shape[1]) - dx, 0, x.shape[1] - 1)
            expected += weights[i] * x[np.ix_(rows, cols)]
        kernels, top, left = motion_kernels(np.array([angle]), radius, sigma, *x.shape)
        image = torch.from_numpy(x).float()[None, None]
        got = correlate_at(image, kernels, top, left, mode="nearest")
        assert np.abs(got[0, 0].numpy() - expected).max() < 1e-3


def test_glass_shuffle_matches_the_sequential_reference():
    """The vectorised pass equals the references' pixel-by-pixel loop (with the numpy-view
    copy semantics of colour arrays) for the same offsets."""
    rng = np.random.default_rng(0)
    levels = torch.from_numpy(rng.integers(0, 256, (2, 3, 14, 14)).astype(np.float32))
    delta = 3
    region = (14 - 2 * delta) ** 2
    offsets = rng.integers(-delta, delta, (2, region, 2))

    class Fixed:
        def uniform(self, shape):
            return torch.from_numpy((offsets + delta + 0.5) / (2 * delta)).float()

    got = displace_pixels(levels, delta, Fixed())  # type: ignore[arg-type]
    for n in range(2):
        x = levels[n].permute(1, 2, 0).numpy().copy()
        visits = [
            (h, w) for h in range(14 - delta, delta, -1) for w in range(14 - delta, delta, -1)
        ]
        order = sorted(
            range(region), key=lambda j: (-(j // (14 - 2 * delta)), -(j % (14 - 2 * delta)))
        )
        by_position = {visits[k]: offsets[n, j] for k, j in enumerate(order)}
        for h, w in visits:
            dx, dy = by_position[(h, w)]
            x[h, w], x[h + dy, w + dx] = x[h + dy, w + dx], x[h, w]
        assert np.array_equal(got[n].permute(1, 2, 0).numpy(), x)


def test_pixelate_and_jpeg_match_pillow():
    for name, severity in (("pixelate", 4), ("jpeg_compression", 2)):
        got = corrupt(SMALL_RGB, name, severity=severity).numpy()
        for n, image in enumerate(SMALL_RGB.permute(0, 2, 3, 1).numpy()):
            picture = Image.fromarray(image)
            if name == "pixelate":
                c = CIFAR10_C["pixelate"][severity - 1]
                picture = picture.resize((int(32 * c), int(32 * c)), Image.BOX)
                expected = np.asarray(picture.resize((32, 32), Image.BOX))
            else:
                buffer = io.BytesIO()
                picture.save(buffer, "JPEG", quality=CIFAR10_C["jpeg_compression"][severity - 1])
                expected = np.asarray(Image.open(buffer))
            assert np.array_equal(got[n].transpose(1, 2, 0), expected)


def test_mnist_c_affine_warps_match_scikit_image_warp():
    x = _levels(DIGITS) / 255
    scale = MNIST_C["scale"][2]
    matrix = np.array([[scale, 0, 13.5 * (1 - scale)], [0, scale, 13.5 * (1 - scale)], [0, 0, 1]])
    expected = np.stack([transform.warp(image[0], matrix)[None] for image in x])
    got = corrupt(DIGITS, "scale", severity=3, suite="mnist-c").numpy()
    assert np.abs(got.astype(int) - np.uint8(np.clip(expected, 0, 1) * 255)).max() <= 1
    # rotation picks a sign per image: the output is one of the two references
    got = corrupt(DIGITS, "rotate", severity=2, suite="mnist-c").numpy().astype(int)
    for n, image in enumerate(x):
        candidates = []
        for angle in (0.4, -0.4):
            cos, sin = np.cos(angle), np.sin(angle)
            shift = 13.5 * np.array([1 - cos + sin, 1 - sin - cos])
            rotation = np.array([[cos, -sin, shift[0]], [sin, cos, shift[1]], [0, 0, 1]])
            reference = np.uint8(np.clip(transform.warp(image[0], rotation), 0, 1) * 255)
            candidates.append(np.abs(got[n, 0] - reference).max())
        assert min(candidates) <= 1


def test_mnist_c_pixel_formulas():
    x = DIGITS.numpy().astype(int)
    assert np.array_equal(corrupt(DIGITS, "inverse", severity=1, suite="mnist-c").numpy(), 255 - x)
    stripe = corrupt(DIGITS, "stripe", severity=1, suite="mnist-c").numpy()
    expected = x.copy()
    expected[..., :7] = 255 - expected[..., :7]
    expected[..., 21:] = 255 - expected[..., 21:]
    assert np.array_equal(stripe, expected)
    one_bit = corrupt(DIGITS, "quantize", severity=5, suite="mnist-c").numpy()
    assert set(np.unique(one_bit)) <= {0, 255}
    edges = corrupt(DIGITS, "canny_edges", severity=1, suite="mnist-c").numpy()
    for n in range(len(x)):
        assert np.array_equal(edges[n, 0] > 0, feature.canny(x[n, 0] / 255.0))


def test_noise_statistics():
    gray = torch.full((64, 1, 32, 32), 128, dtype=torch.uint8)
    x = 128 / 255
    # CIFAR-10-C sigma 0.08 at severity 3; truncation lowers the mean by half a level
    noisy = corrupt(gray, "gaussian_noise", severity=3).numpy() / 255.0
    assert abs(noisy.std() - 0.08) < 0.003
    assert abs(noisy.mean() - x + 0.5 / 255) < 0.002
    dark = torch.full((64, 1, 32, 32), 40, dtype=torch.uint8)  # counts above 3 would clip
    shot = corrupt(dark, "shot_noise", severity=5, table="imagenet-c").numpy()  # lambda 3
    counts = np.floor(shot / 255.0 * 3 + 1e-6)
    rate = 3 * 40 / 255
    assert abs(counts.mean() - rate) < 0.03 and abs(counts.var() - rate) < 0.04
    impulse = corrupt(gray, "impulse_noise", severity=5).numpy()  # amount 0.07
    assert abs((impulse == 255).mean() - 0.035) < 0.005
    assert abs((impulse == 0).mean() - 0.035) < 0.005


# -- gray and size handling ------------------------------------------------------------

_PER_CHANNEL = [
    "gaussian_blur",
    "defocus_blur",
    "zoom_blur",
    "contrast",
    "pixelate",
    "glass_blur",
    "motion_blur",
    "elastic_transform",
    "fog",
    "brightness",
]


@pytest.mark.parametrize("name", _PER_CHANNEL)
def test_gray_images_stay_gray_and_match_each_colour_channel(name):
    gray = smooth_images(4, 1, 24, seed=6)
    rgb = gray.expand(-1, 3, -1, -1).contiguous()
    out_gray = corrupt(gray, name, severity=4, seed=2)
    out_rgb = corrupt(rgb, name, severity=4, seed=2)
    assert out_gray.shape == gray.shape
    assert (out_gray.int() - out_rgb[:, :1].int()).abs().max() <= 1


def test_table_is_chosen_by_size_or_explicitly():
    assert resolve_table("imagenet-c", "auto", (3, 32, 32)) == "cifar10-c"
    assert resolve_table("imagenet-c", "auto", (3, 64, 64)) == "cifar10-c"
    assert resolve_table("imagenet-c", "auto", (3, 65, 65)) == "imagenet-c"
    assert resolve_table("imagenet-c", "imagenet-c", (1, 28, 28)) == "imagenet-c"
    assert resolve_table("mnist-c", "auto", (1, 224, 224)) == "mnist-c"
    gray = torch.full((64, 1, 32, 32), 128, dtype=torch.uint8)
    strong = corrupt(gray, "gaussian_noise", severity=1, table="imagenet-c").float().std()
    mild = corrupt(gray, "gaussian_noise", severity=1).float().std()
    assert abs(strong / mild - 0.08 / 0.04) < 0.2


def test_non_square_and_tiny_images():
    images = smooth_images(2, 3, 40, seed=7)[..., :9, :]
    for name in list_corruptions("imagenet-c", "all"):
        assert corrupt(images, name, severity=5).shape == images.shape


# -- bad input ----------------------------------------------------------------------------


def test_bad_input_raises_one_clear_error():
    with pytest.raises(UnknownNameError, match="valid: gaussian_noise"):
        corrupt(SMALL_RGB, "gaussian_nois", severity=1)
    with pytest.raises(UnknownNameError, match="imagenet-c, mnist-c"):
        corrupt(SMALL_RGB, "fog", severity=1, suite="cifar-c")
    for severity in (0, 6):
        with pytest.raises(InvalidInputError, match=r"outside 1\.\.5"):
            corrupt(SMALL_RGB, "fog", severity=severity)
    with pytest.raises(InvalidInputError, match="at least 8x8"):
        corrupt(SMALL_RGB[..., :7, :], "fog", severity=1)
    with pytest.raises(InvalidInputError, match="at least 10x10"):
        corrupt(SMALL_RGB[..., :9, :9], "glass_blur", severity=5, table="imagenet-c")
    with pytest.raises(InvalidInputError, match="1-channel"):
        corrupt(SMALL_RGB[:, :2], "fog", severity=1)
    with pytest.raises(InvalidInputError, match="uint8"):
        corrupt(SMALL_RGB.float(), "fog", severity=1)
    with pytest.raises(InvalidInputError, match="single setting"):
        CorruptionGenerator(suite="mnist-c", corruptions="stripe", severities="2-5")
    with pytest.raises(InvalidInputError, match="does not belong"):
        CorruptionGenerator(table="mnist-c")


# -- severity ------------------------------------------------------------------------------

# Corruptions whose every parameter grows stronger with severity in every table.
_MONOTONE = {
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "speckle_noise",
    "gaussian_blur",
    "zoom_blur",
    "contrast",
    "brightness",
    "jpeg_compression",
    "quantize",
    "shear",
    "rotate",
    "scale",
    "translate",
    "motion_blur",
    "defocus_blur",
}
# Fog's amount grows and its wibble decay falls at every CIFAR-10-C step. In the ImageNet-C
# table severities 3 and 4 share the amount (only the decay moves), and MNIST-C crops 28 px
# out of a 256 px map whose normalised level varies more from draw to draw than between
# severities, while the rescaling by max / (max + amount) cancels most of the extra haze
# (mean distance 41.7, 44.4, 44.0, 43.5, 44.1): checked in the CIFAR-10-C table only.
_MONOTONE_IN = {"fog": ("cifar10-c",)}
# The reference tables are not one ladder for the rest (measured mean distance from clean on
# these images, 12 seeds x gray / RGB): saturate desaturates at 1-2 and oversaturates at 3-5
# (checked per ladder below). Elastic moves weight between affine jitter and local warping
# (CIFAR-10-C 15.7, 13.8, 12.8, 13.1, 14.2). Glass blur trades sigma against iterations
# (CIFAR-10-C 0.4 px, 1 pass -> 0.25 px, 2 passes; ImageNet-C 16.9, 15.5, 21.1, 18.7, 20.3).
# Snow moves zoom and threshold both ways (CIFAR-10-C zoom 1.75 -> 2.25 -> 1.25). Frost lowers
# the image weight as it raises the frost weight, and on mid-gray images the two cancel
# (CIFAR-10-C 30.9, 47.4, 50.4, 47.8, 41.1). Pixelate's shrunk side is an integer: at 16 px
# CIFAR-10-C's 0.85 and 0.75 give 13 and 12 px grids that alias differently (6.86 -> 6.59)
# and ImageNet-C's 0.3 and 0.25 both give 4 px. Spatter is water at 1-3 and mud at 4-5
# (MNIST-C paints mud throughout), its mud severities move blur and threshold in opposite
# directions, and its splash coverage varies more from one draw to the next than between
# neighbouring severities.
_LADDERS = {"saturate": ((1, 2), (3, 4, 5))}
# mnist-c corruptions with their own formula (or ImageNet values on an otherwise CIFAR run)
_MNIST_C_OWN = {
    "quantize", "shear", "rotate", "scale", "translate", "saturate", "spatter",
    "gaussian_noise", "shot_noise", "gaussian_blur",
}  # fmt: skip


def _distances(images: torch.Tensor, name: str, suite: str, table: str, seed: int) -> list[float]:
    return [
        (
            corrupt(images, name, severity=s, seed=seed, suite=suite, table=table).float()
            - images.float()
        )
        .abs()
        .mean()
        .item()
        for s in range(1, 6)
    ]


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), gray=st.booleans())
def test_severity_moves_images_further_from_clean(seed, gray):
    # 16 images: enough that random angles and splashes average out (6 let one severity step
    # in ~1% of draws fall below the previous one).
    images = smooth_images(16, 1 if gray else 3, 16, seed=seed)
    for suite, table in (("imagenet-c", "cifar10-c"), ("imagenet-c", "imagenet-c"),
                         ("mnist-c", "mnist-c")):  # fmt: skip
        for name in list_corruptions(suite, "all"):
            if suite == "mnist-c" and name not in _MNIST_C_OWN:
                continue  # the same function as in imagenet-c, already checked there
            if len({"imagenet-c": IMAGENET_C, "cifar10-c": CIFAR10_C, "mnist-c": MNIST_C}[table][
                name
            ]) < 5:  # fmt: skip
                continue
            monotone = name in _MONOTONE or table in _MONOTONE_IN.get(name, ())
            if not monotone and name not in _LADDERS:
                continue
            d = _distances(images, name, suite, table, seed)
            ladders = _LADDERS.get(name, ((1, 2, 3, 4, 5),))
            for ladder in ladders:
                for low, high in itertools.pairwise(ladder):
                    slack = 0.5 + 0.05 * d[low - 1]
                    assert d[high - 1] >= d[low - 1] - slack, (suite, table, name, d)
            if monotone:
                assert d[4] > d[0], (suite, table, name, d)


# -- corpus, recipes, CLI --------------------------------------------------------------------


def test_corpus_columns_labels_and_pairing(tmp_path):
    labels = torch.arange(30) % 3
    source = Dataset("toy", "test", digit_images(30, seed=9), labels, ("a", "b", "c"))
    gen = CorruptionGenerator(suite="mnist-c", corruptions="fog,stripe,shear")
    assert gen.expected_samples(source, 12) == 36
    corpus = gen.build(source, tmp_path / "toy-c", seed=0, num_samples=12)
    data = corpus.load()
    assert corpus.kind == "corrupted" and len(corpus) == 36
    assert corpus.categories("corruption") == ("shear", "stripe", "fog")
    assert data["severity"].tolist() == [2] * 12 + [1] * 12 + [5] * 12
    assert torch.equal(data["labels"], labels[data["source_index"]])
    assert torch.equal(data["label_probs"].argmax(1), data["labels"])
    cells = data["corruption"].view(3, 12)
    assert (cells == torch.tensor([[0], [1], [2]])).all()
    assert (data["source_index"].view(3, 12) == data["source_index"][:12]).all()
    assert has_severity_grid(corpus)


def test_recipes_parse():
    for name in ("mnist-c", "fashion-mnist-c"):
        recipe = load_recipe(name)
        assert recipe.generator == "corruptions" and recipe.generator_params["suite"] == "mnist-c"


def test_cli_generates_and_shows_a_severity_grid(tmp_path):
    source = tmp_path / "digits-test"
    runner = CliRunner()
    result = runner.invoke(
        main, ["--quiet", "corpus", "from-dataset", "digits", "--out", source, "--samples", "20"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "digits-c"
    result = runner.invoke(
        main,
        [
            "--quiet",
            "generate",
            "corruptions",
            "--corpus",
            str(source),
            "--suite",
            "imagenet-c",
            "--corruptions",
            "fog,contrast",
            "--severities",
            "1-3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "120 samples (6 corruption x severity cells)" in result.output
    assert Corpus.open(out).categories("corruption") == ("fog", "contrast")
    grid = tmp_path / "grid.png"
    result = runner.invoke(main, ["corpus", "show", str(out), "--out", str(grid)])
    assert result.exit_code == 0, result.output
    assert Image.open(grid).size[0] > 3 * 24
    result = runner.invoke(
        main,
        [
            "generate",
            "corruptions",
            "--corpus",
            str(source),
            "--corruptions",
            "fogg",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2 and "unknown corruption 'fogg'" in result.output
    result = runner.invoke(
        main,
        [
            "generate",
            "corruptions",
            "--corpus",
            str(source),
            "--severities",
            "0-2",
            "--out",
            str(tmp_path / "y"),
        ],
    )
    assert result.exit_code == 2 and "outside 1..5" in result.output
