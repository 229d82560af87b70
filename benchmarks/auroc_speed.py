"""AUROC speed: ours against scikit-learn in one process, plus the AUROC bootstrap.

Run from the repository root::

    python benchmarks/auroc_speed.py

Times AUROC on 1,000,000 tied scores (500k nominal / 500k stress) for
``supervisor_testing.metrics.auroc`` and ``sklearn.metrics.roc_auc_score`` (best of several
repeats, inputs prepared outside the timed region), checks that the two agree to 1e-12, and
times the 1000-resample AUROC bootstrap on 2k / 2k scores through the vectorised and the
generic path, checking they give the same interval. Writes
``benchmarks/results/auroc_speed.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

import scipy  # noqa: E402
import sklearn  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from supervisor_testing.metrics import auroc, auroc_bootstrap, bootstrap_interval  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "auroc_speed.json"
SEED = 20240601
TOLERANCE = 1e-12


def best_time(function: Callable[[], Any], *, repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls (the least disturbed by other load) and a result."""
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def tied_scores(n: int, m: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scores rounded to 3 decimals: about 8,000 distinct values, many ties."""
    rng = np.random.default_rng(seed)
    return (
        np.round(rng.normal(0.0, 1.0, n), 3),
        np.round(rng.normal(0.5, 1.0, m), 3),
    )


def _generic_auroc(nominal: np.ndarray, stress: np.ndarray) -> float:
    # A wrapper keeps bootstrap_interval on its generic, per-resample path.
    return auroc(nominal, stress)


def bench_auroc(*, repeats: int) -> dict[str, Any]:
    nominal, stress = tied_scores(500_000, 500_000, seed=SEED)
    labels = np.concatenate([np.zeros(nominal.size), np.ones(stress.size)])
    pooled = np.concatenate([nominal, stress])
    ours_s, ours = best_time(lambda: auroc(nominal, stress), repeats=repeats)
    sklearn_s, theirs = best_time(lambda: roc_auc_score(labels, pooled), repeats=repeats)
    difference = abs(ours - theirs)
    if difference > TOLERANCE:
        raise SystemExit(f"AUROC disagrees with sklearn: {ours!r} vs {theirs!r}")
    return {
        "n_nominal": int(nominal.size),
        "n_stress": int(stress.size),
        "n_distinct": int(np.unique(pooled).size),
        "repeats": repeats,
        "auroc": ours,
        "abs_difference_vs_sklearn": difference,
        "seconds": {"supervisor_testing": ours_s, "sklearn": sklearn_s},
    }


def bench_bootstrap(*, repeats: int) -> dict[str, Any]:
    nominal, stress = tied_scores(2_000, 2_000, seed=SEED + 1)
    options = {"level": 0.95, "resamples": 1000, "seed": 0}
    fast_s, fast = best_time(lambda: auroc_bootstrap(nominal, stress, **options), repeats=repeats)
    generic_s, generic = best_time(
        lambda: bootstrap_interval(_generic_auroc, nominal, stress, **options), repeats=repeats
    )
    if fast != generic:
        raise SystemExit(f"bootstrap paths disagree: {fast} vs {generic}")
    return {
        "n_nominal": int(nominal.size),
        "n_stress": int(stress.size),
        "resamples": options["resamples"],
        "repeats": repeats,
        "interval": [fast.low, fast.high],
        "seconds": {"auroc_bootstrap": fast_s, "bootstrap_interval(generic)": generic_s},
    }


def print_table(title: str, seconds: dict[str, float], baseline: str) -> None:
    print(f"\n{title}")
    print(f"{'implementation':<30} {'seconds':>10} {'ratio':>8}")
    for name, value in seconds.items():
        print(f"{name:<30} {value:>10.4f} {value / seconds[baseline]:>8.2f}")


def main() -> None:
    auroc_result = bench_auroc(repeats=5)
    bootstrap_result = bench_bootstrap(repeats=3)
    print_table(
        "AUROC, 500k nominal / 500k stress, tied (best of 5)",
        auroc_result["seconds"],
        baseline="supervisor_testing",
    )
    print(f"agreement with sklearn: |difference| = {auroc_result['abs_difference_vs_sklearn']:.1e}")
    print_table(
        "AUROC bootstrap, 1000 resamples, 2k / 2k (best of 3)",
        bootstrap_result["seconds"],
        baseline="auroc_bootstrap",
    )
    result = {
        "benchmark": "auroc_speed",
        "seed": SEED,
        "auroc": auroc_result,
        "bootstrap": bootstrap_result,
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {RESULT_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
