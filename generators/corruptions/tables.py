"""Parameter tables of the reference corruption suites, one tuple per severity 1..5.

The values are facts read from the reference code: ``imagenet_c/corruptions.py`` and
``make_cifar_c.py`` of hendrycks/robustness (ImageNet-C, CIFAR-10-C) and ``corruptions.py`` of
google-research/mnist-c (MNIST-C, whose functions carry five levels and whose published data
uses each function's default level, :data:`MNIST_C_SETTING`). Each table is tied to the image
size its values were chosen for (:data:`REFERENCE_SIZE`); quantities the reference code
expresses relative to that size (elastic displacements, frost texture scale, fog map size)
are rescaled to other sizes by the corruptions themselves.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = [
    "CIFAR10_C",
    "FOG_MAP_RATIO",
    "FROST_TEXTURE_SCALE",
    "IMAGENET_C",
    "MNIST_C",
    "MNIST_C_SETTING",
    "REFERENCE_SIZE",
    "SMALL_IMAGE_LIMIT",
    "TABLES",
]

#: Images up to this side length (px) use the CIFAR-10-C table under ``table="auto"``.
SMALL_IMAGE_LIMIT = 64

#: Image side the values of each table were chosen for.
REFERENCE_SIZE = MappingProxyType({"imagenet-c": 224, "cifar10-c": 32, "mnist-c": 28})

#: Frost: the texture is resized by this factor at the reference size before cropping
#: (CIFAR-10-C shrinks its textures to a fifth; ImageNet-C and MNIST-C crop them unscaled).
FROST_TEXTURE_SCALE = MappingProxyType({"imagenet-c": 1.0, "cifar10-c": 0.2, "mnist-c": 1.0})

#: Fog: side of the plasma fractal relative to the image side before rounding up to a
#: power of two (ImageNet-C draws 256 for 224 px; MNIST-C crops 28 px out of 256).
FOG_MAP_RATIO = MappingProxyType({"imagenet-c": 1.0, "cifar10-c": 1.0, "mnist-c": 256 / 28})

# The ImageNet-C code writes its elastic parameters as multiples of 244 although its
# images are 224 px; the values below keep that (they are what produced the data set).
_IN = 244

IMAGENET_C: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
    "shot_noise": (60, 25, 12, 5, 3),
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
    "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),
    "gaussian_blur": (1, 2, 3, 4, 6),
    # (sigma, max displacement, iterations)
    "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    # (disk radius, anti-alias sigma)
    "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    # (radius, sigma)
    "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    # zoom factors are numpy.arange(1, stop, step)
    "zoom_blur": ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)),
    # (mean, std, zoom, threshold, blur radius, blur sigma, image weight)
    "snow": (
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ),
    # (image weight, frost weight)
    "frost": ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
    # (fog amount, wibble decay)
    "fog": ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    # (alpha, sigma, affine jitter) in pixels at the reference size
    "elastic_transform": (
        (_IN * 2, _IN * 0.7, _IN * 0.1),
        (_IN * 2, _IN * 0.08, _IN * 0.2),
        (_IN * 0.05, _IN * 0.01, _IN * 0.02),
        (_IN * 0.07, _IN * 0.01, _IN * 0.02),
        (_IN * 0.12, _IN * 0.01, _IN * 0.02),
    ),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
    "jpeg_compression": (25, 18, 15, 10, 7),
    # (mean, std, sigma, threshold, intensity or mud sigma, 0 = water / 1 = mud)
    "spatter": (
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ),
    # (saturation scale, saturation shift)
    "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
}

_CIFAR = 32

CIFAR10_C: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1),
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
    "zoom_blur": ((1.06, 0.01), (1.11, 0.01), (1.16, 0.01), (1.21, 0.01), (1.26, 0.01)),
    "snow": (
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ),
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "elastic_transform": (
        (_CIFAR * 0, _CIFAR * 0, _CIFAR * 0.08),
        (_CIFAR * 0.05, _CIFAR * 0.2, _CIFAR * 0.07),
        (_CIFAR * 0.08, _CIFAR * 0.06, _CIFAR * 0.06),
        (_CIFAR * 0.1, _CIFAR * 0.04, _CIFAR * 0.05),
        (_CIFAR * 0.1, _CIFAR * 0.03, _CIFAR * 0.03),
    ),
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
    "jpeg_compression": (80, 65, 58, 50, 40),
    "spatter": (
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ),
    "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
}

_MN = 28

MNIST_C: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": IMAGENET_C["gaussian_noise"],
    "shot_noise": IMAGENET_C["shot_noise"],
    "impulse_noise": IMAGENET_C["impulse_noise"],
    "speckle_noise": IMAGENET_C["speckle_noise"],
    "gaussian_blur": IMAGENET_C["gaussian_blur"],
    "glass_blur": IMAGENET_C["glass_blur"],
    "defocus_blur": IMAGENET_C["defocus_blur"],
    "motion_blur": IMAGENET_C["motion_blur"],
    "zoom_blur": IMAGENET_C["zoom_blur"],
    "snow": IMAGENET_C["snow"],
    "frost": IMAGENET_C["frost"],
    "fog": IMAGENET_C["fog"],
    "brightness": IMAGENET_C["brightness"],
    "contrast": IMAGENET_C["contrast"],
    # MNIST-C takes only the mud branch of spatter, whatever the last value says.
    "spatter": IMAGENET_C["spatter"],
    # MNIST-C scales hue, saturation and value alike by these.
    "saturate": IMAGENET_C["saturate"],
    "jpeg_compression": IMAGENET_C["jpeg_compression"],
    "pixelate": IMAGENET_C["pixelate"],
    "elastic_transform": (
        (_MN * 2, _MN * 0.7, _MN * 0.1),
        (_MN * 2, _MN * 0.08, _MN * 0.2),
        (_MN * 0.05, _MN * 0.01, _MN * 0.02),
        (_MN * 0.07, _MN * 0.01, _MN * 0.02),
        (_MN * 0.12, _MN * 0.01, _MN * 0.02),
    ),
    # bits kept
    "quantize": (5, 4, 3, 2, 1),
    # shear angle (radians), random sign
    "shear": (0.2, 0.4, 0.6, 0.8, 1.0),
    # rotation (radians), random sign
    "rotate": (0.2, 0.4, 0.6, 0.8, 1.0),
    # inverse scale factor of the warp (content shrinks to 1 / value)
    "scale": (1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5),
    # shift in pixels at 28 px, random sign per axis
    "translate": (1, 2, 3, 4, 5),
    # overlays and edge maps have one setting
    "line": (None,),
    "dotted_line": (None,),
    "zigzag": (None,),
    "inverse": (None,),
    "stripe": (None,),
    "canny_edges": (None,),
}

#: The level MNIST-C's published data uses for each corruption (its function default).
MNIST_C_SETTING = MappingProxyType(
    {
        "gaussian_noise": 5,
        "shot_noise": 5,
        "impulse_noise": 4,
        "speckle_noise": 5,
        "gaussian_blur": 2,
        "glass_blur": 1,
        "defocus_blur": 1,
        "motion_blur": 1,
        "zoom_blur": 5,
        "snow": 5,
        "frost": 5,
        "fog": 5,
        "brightness": 5,
        "contrast": 4,
        "spatter": 4,
        "saturate": 5,
        "jpeg_compression": 5,
        "pixelate": 3,
        "elastic_transform": 1,
        "quantize": 5,
        "shear": 2,
        "rotate": 2,
        "scale": 3,
        "translate": 3,
        "line": 1,
        "dotted_line": 1,
        "zigzag": 1,
        "inverse": 1,
        "stripe": 1,
        "canny_edges": 1,
    }
)

TABLES = MappingProxyType(
    {
        "imagenet-c": MappingProxyType(IMAGENET_C),
        "cifar10-c": MappingProxyType(CIFAR10_C),
        "mnist-c": MappingProxyType(MNIST_C),
    }
)
