"""The two suites, which corruptions they hold, and how names, tables and severities resolve.

Every check that can fail on user input lives here, so that a bad name, table, severity
or image size is reported before any image is touched, with the valid choices listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import MappingProxyType

from generators.corruptions.tables import (
    MNIST_C_SETTING,
    REFERENCE_SIZE,
    SMALL_IMAGE_LIMIT,
    TABLES,
)
from supervisor_testing.errors import InvalidInputError, UnknownNameError

__all__ = [
    "MIN_IMAGE_SIZE",
    "SEVERITIES",
    "SUITES",
    "SUITE_TABLES",
    "check_image_shape",
    "list_corruptions",
    "resolve_corruptions",
    "resolve_levels",
    "resolve_severities",
    "resolve_suite",
    "resolve_table",
]

SEVERITIES = (1, 2, 3, 4, 5)

#: Smallest side (px) any corruption accepts.
MIN_IMAGE_SIZE = 8

#: Benchmark corruptions, then the extras, in the order the references list them.
SUITES = MappingProxyType(
    {
        "imagenet-c": MappingProxyType(
            {
                "benchmark": (
                    "gaussian_noise", "shot_noise", "impulse_noise",
                    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
                    "snow", "frost", "fog", "brightness",
                    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
                ),
                # ImageNet-C's held-out validation corruptions
                "extras": ("speckle_noise", "gaussian_blur", "spatter", "saturate"),
            }
        ),
        "mnist-c": MappingProxyType(
            {
                "benchmark": (
                    "shot_noise", "impulse_noise", "glass_blur", "motion_blur",
                    "shear", "scale", "rotate", "brightness", "translate",
                    "stripe", "fog", "spatter", "dotted_line", "zigzag", "canny_edges",
                ),
                # The rest of MNIST-C's code except pessimal noise (see _LEFT_OUT).
                "extras": (
                    "gaussian_noise", "speckle_noise", "gaussian_blur", "defocus_blur",
                    "zoom_blur", "frost", "snow", "contrast", "saturate",
                    "jpeg_compression", "pixelate", "elastic_transform", "quantize",
                    "line", "inverse",
                ),
            }
        ),
    }
)  # fmt: skip

#: Parameter tables each suite may use; ``auto`` picks one by image size.
SUITE_TABLES = MappingProxyType(
    {"imagenet-c": ("auto", "cifar10-c", "imagenet-c"), "mnist-c": ("auto", "mnist-c")}
)

#: Reference corruptions that are not offered, and why (the error names the reason).
_LEFT_OUT = MappingProxyType(
    {
        "pessimal_noise": (
            "MNIST-C's pessimal noise projects Gaussian noise through a fixed 196 x 196 "
            "matrix learned against the authors' own model, published only as a pickled "
            "binary file (pessimal_noise_matrix) in the google-research/mnist-c repository; "
            "no package index carries it and nothing here downloads at run time, so it "
            "cannot be reproduced and is left out of the mnist-c suite"
        ),
    }
)

_ALIASES = MappingProxyType(
    {"elastic": "elastic_transform", "jpeg": "jpeg_compression", "canny": "canny_edges"}
)


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def resolve_suite(suite: str) -> str:
    """The suite's canonical name; unknown names list the valid ones."""
    key = suite.strip().lower().replace("_", "-") if isinstance(suite, str) else suite
    if key not in SUITES:
        raise UnknownNameError(
            f"unknown corruption suite {suite!r}; choose one of: {', '.join(SUITES)}"
        )
    return key


def list_corruptions(suite: str = "imagenet-c", which: str = "benchmark") -> tuple[str, ...]:
    """Corruption names of ``suite``: its ``benchmark`` set, its ``extras`` or ``all``."""
    groups = SUITES[resolve_suite(suite)]
    if which == "all":
        return groups["benchmark"] + groups["extras"]
    if which not in groups:
        raise InvalidInputError(f"which must be 'benchmark', 'extras' or 'all', got {which!r}")
    return groups[which]


def resolve_corruptions(suite: str, corruptions: str | Iterable[str] | None) -> tuple[str, ...]:
    """Canonical names in suite order.

    ``None`` (or ``"benchmark"``) is the suite's benchmark set, ``"all"`` adds its extras;
    a comma-separated string or a list names corruptions (aliases such as ``jpeg`` and
    ``elastic`` are accepted).
    """
    suite = resolve_suite(suite)
    everything = list_corruptions(suite, "all")
    if corruptions is None or corruptions == "benchmark":
        return list_corruptions(suite, "benchmark")
    if corruptions == "all":
        return everything
    names = corruptions.split(",") if isinstance(corruptions, str) else list(corruptions)
    chosen = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"corruption names must be non-empty strings, got {name!r}")
        key = _canonical(name)
        if key in _LEFT_OUT:
            raise UnknownNameError(f"corruption {name!r} is not available: {_LEFT_OUT[key]}")
        if key not in everything:
            raise UnknownNameError(
                f"unknown corruption {name!r} in suite {suite!r}; valid: {', '.join(everything)}"
                f" (or 'benchmark', 'all')"
            )
        chosen.add(key)
    if not chosen:
        raise InvalidInputError("name at least one corruption (or 'benchmark', 'all')")
    return tuple(name for name in everything if name in chosen)


def resolve_severities(severities: str | int | Sequence[int] | None) -> tuple[int, ...] | None:
    """Sorted distinct severities from ``"1-5"``, ``"1,3,5"``, ``3`` or ``[1, 3]``.

    ``None`` keeps the suite default (all five for ImageNet-C, the published level per
    corruption for MNIST-C).
    """
    if severities is None:
        return None
    values: list[object]
    if isinstance(severities, str):
        values = []
        for part in severities.replace(" ", "").split(","):
            low, dash, high = part.partition("-")
            try:
                if dash:
                    values.extend(range(int(low), int(high) + 1))
                else:
                    values.append(int(part))
            except ValueError:
                raise InvalidInputError(
                    f"severities {severities!r}: write a range or list such as '1-5' or '1,3,5'"
                ) from None
    elif isinstance(severities, int) and not isinstance(severities, bool):
        values = [severities]
    else:
        values = list(severities)
    bad = [
        v for v in values if not isinstance(v, int) or isinstance(v, bool) or v not in SEVERITIES
    ]
    if bad or not values:
        shown = bad[0] if bad else "nothing"
        raise InvalidInputError(f"severity {shown!r} is outside 1..5; choose severities in 1..5")
    return tuple(sorted(set(values)))  # type: ignore[arg-type]


def resolve_table(suite: str, table: str, image_shape: Sequence[int]) -> str:
    """The parameter table for images of ``image_shape`` (C, H, W).

    ``auto`` gives MNIST-C's table for the mnist-c suite, and for imagenet-c the
    CIFAR-10-C table up to :data:`~generators.corruptions.tables.SMALL_IMAGE_LIMIT` px,
    the ImageNet-C table above.
    """
    suite = resolve_suite(suite)
    if table not in SUITE_TABLES[suite]:
        raise InvalidInputError(
            f"table {table!r} does not belong to suite {suite!r}; choose one of: "
            f"{', '.join(SUITE_TABLES[suite])}"
        )
    if table != "auto":
        return table
    if suite == "mnist-c":
        return "mnist-c"
    return "cifar10-c" if max(image_shape[1:]) <= SMALL_IMAGE_LIMIT else "imagenet-c"


def resolve_levels(
    suite: str, table: str, corruption: str, severities: tuple[int, ...] | None
) -> tuple[int, ...]:
    """The severities to make of one corruption.

    Corruptions with a single setting (MNIST-C's overlays and edge maps) have only
    severity 1; asking only for other severities of them is an error.
    """
    available = len(TABLES[table][corruption])
    if severities is None:
        if suite == "mnist-c":
            return (MNIST_C_SETTING[corruption],)
        return tuple(range(1, available + 1))
    levels = tuple(s for s in severities if s <= available)
    if not levels:
        raise InvalidInputError(
            f"{corruption} has a single setting, severity 1; add 1 to the severities"
        )
    return levels


def _glass_min_size(table: str, severity: int) -> int:
    delta = TABLES[table]["glass_blur"][severity - 1][1]
    return 2 * delta + 2


def check_image_shape(
    image_shape: Sequence[int], table: str, corruption: str, severity: int
) -> None:
    """Raise when images of ``image_shape`` are too small (or not 1 / 3 channels)."""
    channels, height, width = (int(d) for d in image_shape)
    if channels not in (1, 3):
        raise InvalidInputError(
            f"corruptions work on 1-channel (gray) or 3-channel (RGB) images, got {channels} "
            f"channels"
        )
    if min(height, width) < MIN_IMAGE_SIZE:
        raise InvalidInputError(
            f"images of {height}x{width} px are too small: corruptions need at least "
            f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} px"
        )
    if corruption == "glass_blur":
        needed = _glass_min_size(table, severity)
        if min(height, width) < needed:
            hint = " or table 'cifar10-c'" if table == "imagenet-c" else ""
            raise InvalidInputError(
                f"glass_blur at severity {severity} ({table} table) shifts pixels by up to "
                f"{needed // 2 - 1} px and needs images of at least {needed}x{needed} px, got "
                f"{height}x{width}; use larger images{hint}"
            )
    if severity not in range(1, len(TABLES[table][corruption]) + 1):
        raise InvalidInputError(
            f"{corruption} has severities 1..{len(TABLES[table][corruption])}, got {severity}"
        )


def reference_size(table: str) -> int:
    """The image side the table's values were chosen for."""
    return REFERENCE_SIZE[table]
