"""User data as a folder of images with one sub-folder per class (``root/<class>/*.png``).

Classes are the sub-folder names in sorted order, so label ``i`` is the ``i``-th name;
images within a class are read in sorted file-name order. Every image must have the size
and channel count of the first: a folder mixing them is refused rather than resized,
because a silent resize would change what the supervisor is tested on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from supervisor_testing.data.labelled_images import LabelledImages
from supervisor_testing.errors import DatasetNotFoundError, InvalidInputError

__all__ = ["IMAGE_SUFFIXES", "load_image_folder", "read_image_folder_layout"]

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")

# Modes PIL can hand back as 8-bit grey or RGB without inventing or losing channels
# the user would care about (alpha is dropped: supervisors see opaque images).
_GREY = {"L": "L", "1": "L", "LA": "L"}
_COLOUR = {"RGB": "RGB", "RGBA": "RGB", "P": "RGB", "CMYK": "RGB", "YCbCr": "RGB"}


def _layout(root: Path) -> list[tuple[str, list[Path]]]:
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: no such folder")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise InvalidInputError(
            f"{root}: an image folder needs one sub-folder per class (root/<class>/*.png); "
            "found none"
        )
    layout = [
        (
            folder.name,
            sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
        )
        for folder in classes
    ]
    if not any(files for _, files in layout):
        raise InvalidInputError(
            f"{root}: no images (suffixes {', '.join(IMAGE_SUFFIXES)}) in its class folders"
        )
    return layout


def _read(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            mode = _GREY.get(image.mode) or _COLOUR.get(image.mode)
            if mode is None:
                raise InvalidInputError(
                    f"{path}: image mode {image.mode!r} has no 8-bit grey or RGB form; save "
                    "it as 8-bit grey or RGB"
                )
            pixels = np.asarray(image.convert(mode), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInputError(f"{path}: not a readable image ({exc})") from exc
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def load_image_folder(path: str | Path) -> LabelledImages:
    """Images and labels from ``path/<class>/<image>``; labels follow sorted class names."""
    root = Path(path)
    layout = _layout(root)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, (_, files) in enumerate(layout):
        for file in files:
            pixels = _read(file)
            if images and pixels.shape != images[0].shape:
                raise InvalidInputError(
                    f"{file}: {'x'.join(map(str, pixels.shape))} (C x H x W) differs from "
                    f"{'x'.join(map(str, images[0].shape))} of the first image; all images of "
                    "a folder must share size and channel count"
                )
            images.append(pixels)
            labels.append(label)
    return LabelledImages(
        np.stack(images),
        np.asarray(labels, dtype=np.int64),
        tuple(name for name, _ in layout),
        f"image-folder:{root}",
    )


def read_image_folder_layout(path: str | Path) -> tuple[tuple[str, ...], tuple[int, int, int]]:
    """Class names and ``C x H x W`` of an image folder, reading one image header only."""
    from PIL import Image

    layout = _layout(Path(path))
    first = next(files[0] for _, files in layout if files)
    with Image.open(first) as image:
        channels = 1 if image.mode in _GREY else 3
        width, height = image.size
    return tuple(name for name, _ in layout), (channels, height, width)
