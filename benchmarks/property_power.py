"""How often each metamorphic property catches its broken supervisor, how often it flags a
correct one, and what a check and a strategy draw cost.

For every property, ``--repeats`` independent subsamples of the sklearn digits test split
(seeds 0, 1, ...) are checked on a correct supervisor (false alarms) and on the broken
supervisor the property exists for (detections), at the default tolerance and alpha. A
property that relies on luck shows up here as a false-alarm rate above its alpha or a
detection rate below 1. Draw costs are hypothesis examples per second for each strategy,
hypothesis overhead included.

Timings on a shared machine are noisy: wall and CPU seconds are both recorded, with the
load average before and after.

Usage: python benchmarks/property_power.py [--repeats R] [--draws N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "property_power.json"
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the broken supervisors the tests use

FAST_PAIRS = {
    "pairs": [[3, 5], [4, 9]],
    "epochs": 25,
    "batch_size": 64,
    "max_tries": 1,
    "disc_accuracy_range": [0.0, 1.0],
    "min_class_accuracy": 0.0,
    "max_label_diff": 0.9,
}


def _timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def _power(name, check, correct, broken, repeats):
    """False-alarm and detection rates of ``check`` over ``repeats`` seeds."""
    alarms = detections = 0
    wall = cpu = 0.0
    for seed in range(repeats):
        result, w, c = _timed(lambda seed=seed: check(correct, seed))
        alarms += not result.holds
        wall, cpu = wall + w, cpu + c
        detections += not check(broken, seed).holds
    return {
        "property": name,
        "correct": correct.name,
        "broken": broken.name,
        "false_alarm_rate": alarms / repeats,
        "detection_rate": detections / repeats,
        "check_wall_s": wall / repeats,
        "check_cpu_s": cpu / repeats,
    }


def _draw_rate(name, strategy, draws):
    from hypothesis import HealthCheck, Phase, given, settings

    count = [0]

    @settings(
        max_examples=draws,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(sample):
        count[0] += 1

    _, wall, cpu = _timed(run)
    return {"strategy": name, "draws": count[0], "wall_s": wall, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from broken_supervisors import (
        BatchNormInTrainMode,
        PixelTemplate,
        ReadsBytesAsFloats,
        UnseededMCDropout,
        WrongSign,
        identity_batch_norm,
    )
    from torch import nn

    from supervisor_testing import create_supervisor, load_dataset, train_model
    from supervisor_testing import properties as p
    from supervisor_testing import strategies as s

    load_before = os.getloadavg()
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    mlp = train_model(train, "mlp", seed=0).module
    msp = create_supervisor("max-softmax", mlp)
    bn_model = nn.Sequential(identity_batch_norm(train), mlp).eval()
    template = train.images.float().div(255).mean(0)

    rows = [
        _power(
            "severity-monotone (fog)",
            lambda sup, seed: p.check_severity_monotone(sup, test, corruption="fog", seed=seed),
            msp,
            WrongSign(mlp),
            args.repeats,
        ),
        _power(
            "translation-invariant",
            lambda sup, seed: p.check_translation_invariant(sup, test, seed=seed),
            msp,
            PixelTemplate(mlp, template),
            args.repeats,
        ),
        _power(
            "dtype-invariant",
            lambda sup, seed: p.check_dtype_invariant(sup, test, seed=seed),
            msp,
            ReadsBytesAsFloats(mlp),
            args.repeats,
        ),
        _power(
            "batch-invariant",
            lambda sup, seed: p.check_batch_invariant(sup, test, seed=seed),
            create_supervisor("max-logit", bn_model),
            BatchNormInTrainMode(bn_model),
            args.repeats,
        ),
        _power(
            "deterministic",
            lambda sup, seed: p.check_deterministic(sup, test, seed=seed),
            create_supervisor("mc-dropout-mean-softmax", mlp, samples=20),
            UnseededMCDropout(mlp),
            args.repeats,
        ),
    ]
    strategies = {
        "nominal": s.nominal(test),
        "corrupted (all fitting, 1..5)": s.corrupted(test),
        "domain_shifted": s.domain_shifted(test),
        "adversarial (fgsm)": s.adversarial(mlp, test, attack="fgsm"),
    }
    try:
        from generators.ambiguous import AmbiguousGenerator

        generator = AmbiguousGenerator(**FAST_PAIRS)
        nominal_pairs = test.subset(
            torch.nonzero(torch.isin(test.labels, torch.tensor([3, 4, 5, 9]))).squeeze(1)
        )
        corpus_path = REPO / ".cache" / "benchmarks" / "property-power-ambiguous"
        corpus = generator.build(train, corpus_path, seed=0, num_samples=200, overwrite=True)
        rows.append(
            _power(
                "ambiguity-ordering",
                lambda sup, seed: p.check_ambiguity_ordering(
                    sup, corpus, nominal_pairs, samples=64, seed=seed
                ),
                msp,
                WrongSign(mlp),
                args.repeats,
            )
        )
        strategies["ambiguous"] = s.ambiguous(generator, source=train)
    except Exception as exc:  # the benchmark reports the rest when AmbiGuess cannot train
        warnings.warn(f"ambiguity ordering left out: {exc!r}", stacklevel=1)
    draws = [_draw_rate(name, strategy, args.draws) for name, strategy in strategies.items()]

    print(f"{'property':28} {'correct':26} {'false alarms':>12} {'broken':26} {'detected':>9} "
          f"{'wall s':>7} {'cpu s':>6}")  # fmt: skip
    for row in rows:
        print(
            f"{row['property']:28} {row['correct']:26} {row['false_alarm_rate']:12.2f} "
            f"{row['broken']:26} {row['detection_rate']:9.2f} {row['check_wall_s']:7.3f} "
            f"{row['check_cpu_s']:6.3f}"
        )
    print(f"\n{'strategy':32} {'draws/s (wall)':>14} {'ms/draw (cpu)':>14}")
    for row in draws:
        print(
            f"{row['strategy']:32} {row['draws'] / row['wall_s']:14.1f} "
            f"{1000 * row['cpu_s'] / row['draws']:14.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "repeats": args.repeats,
                "samples_per_check": 64,
                "properties": rows,
                "strategies": draws,
                "load_average_before": load_before,
                "load_average_after": os.getloadavg(),
                "torch_threads": torch.get_num_threads(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
