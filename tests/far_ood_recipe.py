"""The far-OOD recipe tests write when they need a cheap real stress corpus: MNIST digits
shrunk to 8 x 8 and shown to a model of scikit-learn's digits."""

from __future__ import annotations


def mnist_as_digits(name: str = "digits-far-ood-mnist", *, samples: int) -> str:
    """Recipe TOML for ``samples`` MNIST test digits as invalid inputs for a digits model."""
    return f"""
name = "{name}"
description = "MNIST digits shrunk to 8x8 and shown to a digits model as invalid inputs."
seed = 0
samples = {samples}

[source]
dataset = "mnist"
split = "test"

[generator]
name = "far-ood"

[generator.params]
target = "digits"
"""
