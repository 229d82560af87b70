"""Corrupted inputs: the MNIST-C and ImageNet-C / CIFAR-10-C corruption suites.

Batched torch (and numpy / OpenCV / Pillow where one image at a time is the nature of the
step), seeded per sample, native on gray and RGB images of any size from 8 px.

Example:
    >>> import torch
    >>> from generators.corruptions import corrupt
    >>> clean = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    >>> corrupt(clean, "stripe", severity=1, suite="mnist-c")[0, 0, 0].tolist()[:8]
    [255, 255, 255, 255, 255, 255, 255, 0]
"""

from __future__ import annotations

from generators.corruptions.functional import corrupt
from generators.corruptions.generator import CorruptionGenerator
from generators.corruptions.suites import SEVERITIES, SUITES, list_corruptions

__all__ = ["SEVERITIES", "SUITES", "CorruptionGenerator", "corrupt", "list_corruptions"]
