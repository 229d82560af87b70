"""Is an ambiguous corpus ambiguous, and does it still look like the data? (AmbiGuess, RQ1)

An independent classifier (trained here on nominal data; an architecture and seed that
generation never uses) predicts every input of three sets: the ambiguous corpus, the
nominal test split, and pixel-space mixups of the corpus's class pairs with the same soft
labels. Given the pair models, a fourth set is a control: nominal test images passed
through a pair model of their class, which shows what the models' smooth rendering alone
does to the classifier and to the validity figure. Per set:

* top-1 accuracy against the sampled hard label (low for truly ambiguous inputs: the
  classifier cannot know which of the two classes was drawn);
* top-2 accuracy: the hard label is among the two highest predictions;
* top-pair accuracy: the two highest predictions are exactly the pair's two classes
  (high when the classifier sees both classes, and only them);
* mean softmax entropy in bits;
* validity: the percentile of each input's distance to nominal data in the classifier's
  feature space among held-out nominal images (50 = as typical as nominal data; see
  :mod:`generators.ambiguous.validity` for why not pixel reconstruction error), and the
  share of inputs beyond the nominal 95th percentile.

The default classifier is ``cnn``, the suite's counterpart of the Keras MNIST convnet
the reference assessed with first. A ResNet read the pair models' smooth images poorly
(81.5 % top-1 on their reconstructions of MNIST test digits, against 95.5 % for ``cnn``
and 98 % on the digits themselves), which would score rendering rather than ambiguity.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from generators.ambiguous.mixup import pixel_mixup
from generators.ambiguous.pair_store import TrainedPairs
from generators.ambiguous.validity import DEFAULT_NEIGHBOURS, FeatureValidity
from supervisor_testing.corpus import Corpus
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError

__all__ = ["AmbiguityAssessment", "AmbiguityScores", "ambiguity_scores", "assess_ambiguity"]

#: Inputs above this percentile of nominal feature distances count as outliers.
OUTLIER_PERCENTILE = 95.0


@dataclass(frozen=True)
class AmbiguityScores:
    """One row of the assessment: how a classifier and an autoencoder see one set."""

    name: str
    samples: int
    top1_accuracy: float
    top2_accuracy: float
    top_pair_accuracy: float | None
    entropy_bits: float
    validity_percentile: float | None = None
    outlier_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ambiguity_scores(
    probs: torch.Tensor,
    labels: torch.Tensor,
    label_probs: torch.Tensor | None = None,
    *,
    name: str = "",
) -> AmbiguityScores:
    """Top-1, top-2 and top-pair accuracy and mean entropy of predictions ``probs``.

    Args:
        probs: ``N x K`` predicted class probabilities.
        labels: int64 ``N`` hard labels.
        label_probs: ``N x K`` soft labels; top-pair accuracy needs exactly two non-zero
            classes in every row, else it is ``None`` (nominal data has one).

    Example:
        >>> s = ambiguity_scores(torch.tensor([[0.5, 0.4, 0.1]]), torch.tensor([1]),
        ...                      torch.tensor([[0.6, 0.4, 0.0]]))
        >>> s.top1_accuracy, s.top2_accuracy, s.top_pair_accuracy, round(s.entropy_bits, 3)
        (0.0, 1.0, 1.0, 1.361)
    """
    if probs.ndim != 2 or labels.shape != (probs.shape[0],) or probs.shape[0] == 0:
        raise InvalidInputError(
            f"probs must be N x K and labels N with N > 0, got {tuple(probs.shape)} and "
            f"{tuple(labels.shape)}"
        )
    probs = probs.double()
    top2 = probs.topk(2, dim=1).indices
    top1_acc = float((top2[:, 0] == labels).double().mean())
    top2_acc = float((top2 == labels[:, None]).any(dim=1).double().mean())
    entropy = -(probs * torch.log2(probs.clamp_min(1e-300))).sum(dim=1)
    pair_acc = None
    if label_probs is not None and bool(((label_probs > 0).sum(dim=1) == 2).all()):
        in_pair = torch.gather(label_probs, 1, top2) > 0
        pair_acc = float(in_pair.all(dim=1).double().mean())
    return AmbiguityScores(
        name=name,
        samples=int(probs.shape[0]),
        top1_accuracy=top1_acc,
        top2_accuracy=top2_acc,
        top_pair_accuracy=pair_acc,
        entropy_bits=float(entropy.mean()),
    )


@dataclass(frozen=True)
class AmbiguityAssessment:
    """The rows (``ambiguous``, ``nominal``, ``mixup``) and what produced them."""

    rows: tuple[AmbiguityScores, ...]
    classifier: str
    classifier_test_accuracy: float
    validity_reference: str

    def row(self, name: str) -> AmbiguityScores:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "classifier": self.classifier,
            "classifier_test_accuracy": self.classifier_test_accuracy,
            "validity_reference": self.validity_reference,
        }

    def table(self) -> str:
        """A fixed-width text table, one line per set."""

        def fmt(value: float | None, digits: int = 3) -> str:
            return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"

        header = ("set", "n", "top-1", "top-2", "top-pair", "H (bits)", "valid pct", "outliers")
        lines = [header]
        for r in self.rows:
            lines.append(
                (
                    r.name,
                    str(r.samples),
                    fmt(r.top1_accuracy),
                    fmt(r.top2_accuracy),
                    fmt(r.top_pair_accuracy),
                    fmt(r.entropy_bits),
                    fmt(r.validity_percentile, 1),
                    fmt(r.outlier_rate),
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join(
            "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines
        )


@torch.no_grad()
def _predict(module: nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    module.eval()
    return torch.cat(
        [torch.softmax(module(x.float() / 255.0), dim=1) for x in images.split(batch_size)]
    )


def _pair_reconstructions(
    trained: TrainedPairs, test: Dataset, *, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 test images encoded and decoded by an accepted pair model of their class (a
    seeded choice among those pairs), and the test indices they come from; images of a
    class that no accepted pair holds are left out."""
    from generators.ambiguous.quantization import to_uint8

    model = trained.model.select(trained.accepted)
    pairs = model.classes.tolist()
    rng = np.random.default_rng(seed)
    flat = test.images.reshape(len(test), -1).float() / 255.0
    out: list[torch.Tensor] = []
    kept: list[torch.Tensor] = []
    for c in range(len(test.class_names)):
        holders = [i for i, pair in enumerate(pairs) if c in pair]
        rows = torch.nonzero(test.labels == c).squeeze(1)
        if not holders or not len(rows):
            continue
        choice = torch.from_numpy(rng.choice(holders, size=len(rows)))
        for i in sorted(set(choice.tolist())):
            picked = rows[choice == i]
            one = model.select([i])
            with torch.no_grad():
                out.append(to_uint8(one.decode(one.encode(flat[picked][None]))[0]))
            kept.append(picked)
    index = torch.cat(kept)
    return torch.cat(out).reshape(-1, *test.image_shape), index


def assess_ambiguity(
    corpus: Corpus,
    *,
    train: Dataset,
    test: Dataset,
    reference: Dataset | None = None,
    classifier: nn.Module | None = None,
    arch: str = "cnn",
    seed: int = 1,
    trained: TrainedPairs | None = None,
    neighbours: int = DEFAULT_NEIGHBOURS,
    mixup_seed: int = 0,
    progress: bool = False,
) -> AmbiguityAssessment:
    """Score an ambiguous corpus against the nominal test split and a mixup baseline.

    Args:
        corpus: an ambiguous corpus (two non-zero classes per ``label_probs`` row).
        train: nominal training split: trains the classifier (unless given) and holds the
            nominal features the validity figure measures distances to.
        test: nominal test split: the nominal row, and the images the mixups blend.
        reference: held-out nominal images whose distances define the validity
            percentiles (the calibration split is a good choice); ``test`` by default.
        classifier: a trained classifier mapping ``[0, 1]`` images to logits through a
            penultimate layer; by default ``arch`` is trained on ``train`` with ``seed``
            (cached like every reference model). Use an architecture and seed not used to
            generate the corpus.
        trained: the pair models that generated the corpus; adds the ``reconstruction``
            control row.
        neighbours: the ``k`` of the validity figure's k-th nearest neighbour.
        mixup_seed: chooses the images blended into mixups (and the pair model that
            reconstructs each test image).
        progress: progress bar while training the classifier.

    Raises:
        InvalidInputError: the corpus is not ambiguous (not exactly two classes per row)
            or does not match the data set's image shape or classes.
    """
    from supervisor_testing.models import accuracy, train_model

    data = corpus.load(["images", "labels", "label_probs"])
    label_probs = data["label_probs"]
    if len(label_probs) == 0 or not bool(((label_probs > 0).sum(dim=1) == 2).all()):
        raise InvalidInputError(
            f"corpus {corpus.name!r} is not an ambiguous corpus: every label_probs row must "
            f"have exactly two non-zero classes"
        )
    if tuple(corpus.image_shape) != train.image_shape or corpus.num_classes != train.num_classes:
        raise InvalidInputError(
            f"corpus {corpus.name!r} ({corpus.image_shape}, {corpus.num_classes} classes) does "
            f"not match data set {train.name!r} ({train.image_shape}, {train.num_classes} "
            f"classes); assess it with the data set it was generated from"
        )
    if classifier is None:
        model = train_model(train, arch, seed=seed, progress=progress)
        module, described = model.module, f"{arch} (seed {seed})"
    else:
        module, described = classifier, type(classifier).__name__
    test_accuracy = accuracy(module, test)
    reference = reference if reference is not None else test
    validity = FeatureValidity(module, train=train, reference=reference, k=neighbours)

    # Mixups carry the corpus's pairs, soft labels and hard labels.
    pairs = torch.sort(torch.topk(label_probs, 2, dim=1).indices, dim=1).values
    first_weight = torch.gather(label_probs, 1, pairs[:, :1]).squeeze(1)
    mixups = pixel_mixup(test, pairs, first_weight, seed=mixup_seed)

    sets = [
        ("ambiguous", data["images"], data["labels"], label_probs),
        ("nominal", test.images, test.labels, None),
        ("mixup", mixups, data["labels"], label_probs),
    ]
    if trained is not None and trained.accepted:
        images, index = _pair_reconstructions(trained, test, seed=mixup_seed)
        sets.append(("reconstruction", images, test.labels[index], None))
    rows = []
    for name, images, labels, soft in sets:
        scores = ambiguity_scores(_predict(module, images), labels, soft, name=name)
        percentiles = validity.percentiles(images)
        rows.append(
            AmbiguityScores(
                **{
                    **scores.to_dict(),
                    "validity_percentile": float(percentiles.mean()),
                    "outlier_rate": float((percentiles > OUTLIER_PERCENTILE).double().mean()),
                }
            )
        )
    return AmbiguityAssessment(
        rows=tuple(rows),
        classifier=described,
        classifier_test_accuracy=test_accuracy,
        validity_reference=f"{reference.name}/{reference.split} (k={neighbours} feature distance)",
    )
