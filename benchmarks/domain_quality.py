"""Quality of the extrapolated domains on MNIST: how far each one takes the reference model
from its data, and whether the class survives.

    python benchmarks/domain_quality.py                    # 300 digits, group scheme
    python benchmarks/domain_quality.py --scheme domain    # one oracle per renderer (slow)
    python benchmarks/domain_quality.py --scheme domain --folds 6   # renderers in 6 folds
    python benchmarks/domain_quality.py --quick            # 60 digits, 2 oracle epochs

Per domain, at its catalogue strength, on the same seeded subsample of the MNIST test split:

* **reference accuracy**: the cached reference CNN's accuracy (how far the domain
  extrapolates beyond what the model learned);
* **OOD intensity**: the AUROC of the reference model's feature distance against the
  nominal test split, which equals the mean percentile of a domain sample's distance
  among nominal distances (0.5: indistinguishable from nominal, 1: every sample further
  out than every nominal one). The distance is the one of the k-NN supervisor (Sun et al.
  2022): the 10th-nearest cosine distance of the penultimate features to the training
  split's. Beside it, the share above the nominal 95th percentile (TPR at 5 % FPR);
* **class retention** (on-topicness): the accuracy of an oracle CNN trained on the training
  split plus domain-augmented copies of it, from which the domain is held out. Domains
  that share a renderer (the LED and LCD segment displays, the three patterned fills) are
  held out together, so no oracle has seen another option of the same drawing procedure.
  The ``domain`` scheme gives each such renderer cluster its own oracle (26 trainings);
  ``--folds K`` deals the clusters into K folds, one oracle each, which bounds the cost
  while every domain is still read by an oracle that never saw its renderer (it also
  misses the other clusters of its fold, so retention errs low). The ``group`` scheme
  leaves a whole catalogue group out (four oracles): stricter still, since related
  domains are unseen too. An oracle that learned that a digit stays a digit in other
  media but never saw this rendering still reads the class when the rendering kept it.

The committed result ran ``--scheme domain`` (26 oracles, about 27 minutes on two loaded
cores), the reading closest to "an oracle trained without that domain".

Writes ``benchmarks/results/domain_quality.json`` (table, settings, timings, machine load)
and ``domain_quality.png``, the on-topicness x OOD-intensity plot: useful domains sit in the
upper right (kept their class, far from nominal).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

os.environ.setdefault("SUPERVISOR_TESTING_CACHE", str(REPO / ".cache"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from generators.domains import GROUPS, load_catalogue, render_domain  # noqa: E402
from supervisor_testing.data import load_dataset  # noqa: E402
from supervisor_testing.data.dataset import Dataset  # noqa: E402
from supervisor_testing.generation import subsample_indices  # noqa: E402
from supervisor_testing.metrics import auroc  # noqa: E402
from supervisor_testing.models import predict_logits, train_model  # noqa: E402
from supervisor_testing.report import format_table  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
K_NEIGHBOURS = 10
# Strengths the augmentation draws from (the catalogue defaults lie in 0.5..0.75).
AUGMENT_STRENGTHS = (0.4, 0.6, 0.8, 1.0)
# Retention and OOD intensity both at least this: the domain is in the useful corner.
USEFUL = 0.8


def _load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def features(module: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """L2-normalised penultimate features of uint8 images."""
    module.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 512):
            x = images[start : start + 512].float() / 255.0
            out.append(F.normalize(module.features(x), dim=1))
    return torch.cat(out)


def knn_distance(bank: torch.Tensor, queries: torch.Tensor, k: int = K_NEIGHBOURS) -> np.ndarray:
    """The k-th nearest cosine distance of each query to the bank."""
    out = []
    for start in range(0, len(queries), 1024):
        similarity = queries[start : start + 1024] @ bank.T
        out.append(1.0 - similarity.topk(k, dim=1).values[:, -1])
    return torch.cat(out).numpy()


def accuracy_on(module: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    logits = predict_logits(module, images.float() / 255.0)
    return float((logits.argmax(dim=1) == labels).float().mean())


def augmented_copies(
    train: Dataset, names: list[str], *, seed: int
) -> tuple[torch.Tensor, np.ndarray]:
    """One rendering of every training image in a random domain at a random strength;
    returns the images and each one's domain index."""
    rng = np.random.default_rng(seed)
    domain_of = rng.integers(0, len(names), size=len(train))
    strength_of = rng.integers(0, len(AUGMENT_STRENGTHS), size=len(train))
    images = torch.empty_like(train.images)
    for d, name in enumerate(names):
        for s, strength in enumerate(AUGMENT_STRENGTHS):
            chosen = np.nonzero((domain_of == d) & (strength_of == s))[0]
            if len(chosen) == 0:
                continue
            index = torch.from_numpy(chosen)
            images[index] = render_domain(
                train.images[index], name, strength=strength, seed=seed, indices=index
            )
    return images, domain_of


def held_out_units(
    names: list[str], *, scheme: str, folds: int | None, seed: int
) -> dict[str, list[str]]:
    """Which domains each oracle leaves out: ``{unit name: [domain, ...]}``.

    ``group``: one unit per catalogue group. ``domain``: one unit per renderer, so domains
    that differ only in a renderer option leave together; with ``folds`` the renderers are
    shuffled (seeded) and dealt to the fold holding the fewest domains so far.
    """
    catalogue = load_catalogue()
    if scheme == "group":
        return {g: [n for n in names if catalogue.get(n).group == g] for g in GROUPS}
    clusters: dict[str, list[str]] = {}
    for name in names:
        clusters.setdefault(str(catalogue.get(name).renderer), []).append(name)
    if folds is None or folds >= len(clusters):
        return {"+".join(members): members for members in clusters.values()}
    order = np.random.default_rng(seed).permutation(len(clusters))
    dealt: list[list[str]] = [[] for _ in range(folds)]
    members = list(clusters.values())
    for i in order:
        smallest = min(range(folds), key=lambda f: (len(dealt[f]), f))
        dealt[smallest].extend(members[i])
    return {f"fold {f + 1}": sorted(d, key=names.index) for f, d in enumerate(dealt)}


def train_oracle(
    train: Dataset, augmented: torch.Tensor, keep: np.ndarray, *, epochs: int, seed: int
) -> torch.nn.Module:
    index = torch.from_numpy(np.nonzero(keep)[0])
    data = Dataset(
        name="mnist",
        split="train",
        images=torch.cat((train.images, augmented[index])),
        labels=torch.cat((train.labels, train.labels[index])),
        class_names=train.class_names,
        source="mnist train + domain augmentations",
    )
    return train_model(data, "cnn", seed=seed, epochs=epochs, cache=False).module


def describe_scheme(scheme: str, units: dict[str, list[str]]) -> str:
    """One line saying what each domain's oracle never saw."""
    count = len(units)
    if scheme == "group":
        return f"group scheme: {count} oracles, each without one catalogue group's domains"
    if any(unit.startswith("fold ") for unit in units):
        return (
            f"domain scheme in {count} folds: renderers dealt into {count} folds, one oracle "
            f"each; a domain's oracle saw no domain of its fold, so none sharing its renderer"
        )
    return f"domain scheme: {count} oracles, each without one renderer's domains"


def plot(rows: list[dict[str, Any]], path: Path, *, scheme: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    colours = dict(zip(GROUPS, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=True))
    figure, axes = plt.subplots(figsize=(11, 7))
    # a logit axis spreads the crowd near AUROC 1 (0.9, 0.99, 0.999 equally spaced)
    axes.set_xscale("logit")
    low, high = 0.45, 0.999
    axes.axvspan(USEFUL, high, ymin=(USEFUL + 0.02) / 1.04, color="0.93", zorder=0)
    axes.text(0.99, 1.0, "useful: novel and on topic", fontsize=9, ha="center", va="bottom")
    key = []
    for group in GROUPS:
        chosen = [r for r in rows if r["group"] == group]
        axes.scatter(
            [min(max(r["ood_intensity"], low), high) for r in chosen],
            [r["class_retention"] for r in chosen],
            color=colours[group],
            label=group,
            s=36,
            zorder=3,
        )
        for r in chosen:
            key.append(f"{len(key) + 1:2d} {r['domain']}")
            # numbers, not names: the useful corner is crowded
            axes.annotate(
                str(len(key)),
                (min(max(r["ood_intensity"], low), high), r["class_retention"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    figure.text(0.8, 0.94, "\n".join(key), fontsize=7.5, va="top", family="monospace")
    figure.subplots_adjust(right=0.78)
    axes.set_xlim(low, high)
    ticks = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
    axes.set_xticks(ticks, [f"{t:g}" for t in ticks])
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel(
        "OOD intensity: AUROC of the reference CNN's k-NN feature distance vs nominal "
        "(logit scale, clipped at 0.999)"
    )
    held_out = "its group held out" if scheme == "group" else "its renderer held out"
    axes.set_ylabel(f"class retention: oracle accuracy ({held_out})")
    axes.set_title("MNIST in extrapolated domains: on-topicness x OOD intensity")
    axes.legend(loc="lower left")
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=130)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300, help="test digits per domain")
    parser.add_argument(
        "--scheme",
        choices=("group", "domain"),
        default="group",
        help="hold out a catalogue group, or a domain with the domains sharing its renderer",
    )
    parser.add_argument(
        "--folds", type=int, default=None, help="domain scheme: deal the renderers into K folds"
    )
    parser.add_argument("--epochs", type=int, default=4, help="oracle training epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="60 digits, 2 oracle epochs")
    parser.add_argument("--out", type=Path, default=RESULTS / "domain_quality.json")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.epochs = 60, 2
    started = time.perf_counter()
    load_before = _load_average()

    catalogue = load_catalogue()
    names = catalogue.names()
    train = load_dataset("mnist", "train")
    test = load_dataset("mnist", "test")
    reference = train_model(train, "cnn", seed=args.seed).module
    index = subsample_indices(len(test), args.samples, seed=args.seed)
    source, labels = test.images[index], test.labels[index]

    clock = time.perf_counter()
    rendered = {name: render_domain(source, name, seed=args.seed, indices=index) for name in names}
    render_seconds = time.perf_counter() - clock

    bank = features(reference, train.images)
    nominal_scores = knn_distance(bank, features(reference, test.images))
    threshold = float(np.quantile(nominal_scores, 0.95))

    clock = time.perf_counter()
    augmented, domain_of = augmented_copies(train, names, seed=args.seed + 1)
    augment_seconds = time.perf_counter() - clock
    units = held_out_units(names, scheme=args.scheme, folds=args.folds, seed=args.seed)
    unit_of = {name: unit for unit, members in units.items() for name in members}
    held_out = {
        unit: np.isin(np.arange(len(names)), [names.index(n) for n in members])
        for unit, members in units.items()
    }
    clock = time.perf_counter()
    oracles = {}
    oracle_nominal = {}
    for key, excluded in held_out.items():
        keep = ~excluded[domain_of]
        oracles[key] = train_oracle(train, augmented, keep, epochs=args.epochs, seed=args.seed)
        oracle_nominal[key] = accuracy_on(oracles[key], test.images, test.labels)
        print(f"oracle without {key}: nominal test accuracy {oracle_nominal[key]:.4f}", flush=True)
    oracle_seconds = time.perf_counter() - clock

    rows = []
    for name in names:
        domain = catalogue.get(name)
        scores = knn_distance(bank, features(reference, rendered[name]))
        oracle = oracles[unit_of[name]]
        rows.append(
            {
                "domain": name,
                "group": domain.group,
                "renderer": domain.renderer,
                "strength": domain.strength,
                "reference_accuracy": round(accuracy_on(reference, rendered[name], labels), 4),
                "ood_intensity": round(auroc(nominal_scores, scores), 4),
                "tpr_at_5_fpr": round(float((scores > threshold).mean()), 4),
                "class_retention": round(accuracy_on(oracle, rendered[name], labels), 4),
                "oracle_held_out": units[unit_of[name]],
            }
        )
    nominal_row = {
        "reference_accuracy": round(accuracy_on(reference, source, labels), 4),
        "oracle_nominal_accuracy": {k: round(v, 4) for k, v in oracle_nominal.items()},
    }

    header = ("domain", "group", "strength", "ref acc", "OOD AUROC", "TPR@5%FPR", "retention", "")
    table_rows = [
        (
            r["domain"],
            r["group"],
            f"{r['strength']:.2f}",
            f"{r['reference_accuracy']:.3f}",
            f"{r['ood_intensity']:.3f}",
            f"{r['tpr_at_5_fpr']:.3f}",
            f"{r['class_retention']:.3f}",
            "useful" if min(r["ood_intensity"], r["class_retention"]) >= USEFUL else "",
        )
        for r in rows
    ]
    table = format_table(header, table_rows, style="markdown")
    print(f"retention oracles: {describe_scheme(args.scheme, units)}")
    print(table)
    print(f"nominal subsample: reference accuracy {nominal_row['reference_accuracy']:.3f}")
    useful = [r["domain"] for r in rows if min(r["ood_intensity"], r["class_retention"]) >= USEFUL]
    print(f"useful (both >= {USEFUL}): {len(useful)} of {len(rows)}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_path = args.out.with_suffix(".png")
    plot(rows, plot_path, scheme=args.scheme)
    payload = {
        "benchmark": "domain_quality",
        "settings": {
            "samples_per_domain": args.samples,
            "scheme": args.scheme,
            "folds": args.folds,
            "scheme_description": describe_scheme(args.scheme, units),
            "held_out": units,
            "oracle_epochs": args.epochs,
            "seed": args.seed,
            "k_neighbours": K_NEIGHBOURS,
            "augment_strengths": list(AUGMENT_STRENGTHS),
            "useful_threshold": USEFUL,
        },
        "nominal": nominal_row,
        "domains": rows,
        "useful": useful,
        "table_markdown": table,
        "plot": plot_path.name,
        "seconds": {
            "render_test": round(render_seconds, 1),
            "render_augmentations": round(augment_seconds, 1),
            "train_oracles": round(oracle_seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "machine": {
            "load_average_before": load_before,
            "load_average_after": _load_average(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out} and {plot_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
