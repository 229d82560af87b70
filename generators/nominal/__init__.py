"""Nominal corpora: (a seeded subsample of) a data set split, with one-hot labels."""

from __future__ import annotations

from generators.nominal.subsample import NominalGenerator

__all__ = ["NominalGenerator"]
