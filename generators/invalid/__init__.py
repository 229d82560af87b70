"""Invalid inputs: images from another data set, outside the model's label space."""

from __future__ import annotations

from generators.invalid.far_ood import FarOODGenerator
from generators.invalid.image_conversion import convert_images

__all__ = ["FarOODGenerator", "convert_images"]
