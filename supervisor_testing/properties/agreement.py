"""How far two scorings of the same inputs disagree, for the exact properties.

Determinism, batch composition and dtype round trips should give the same scores up to
float rounding, so they need no significance test: the statistic is the root-mean-square
disagreement over all inputs, in units of the scores' spread (:func:`score_scale`), and
any value above the tolerance is a violation. One number over many inputs, rather than a
worst case, keeps a single rounding outlier from deciding while a real bug, which moves
every score, still shows.
"""

from __future__ import annotations

import numpy as np

from supervisor_testing.properties.inputs import score_scale

__all__ = ["relative_disagreement"]


def relative_disagreement(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """RMS and largest absolute difference of ``other`` from ``reference``, both divided
    by the reference scores' spread."""
    scale = score_scale(reference)
    diff = np.abs(np.asarray(other, dtype=np.float64) - reference)
    return float(np.sqrt(np.mean(diff**2)) / scale), float(diff.max() / scale)
