"""The ``ambiguous`` generator: AmbiGuess corpora from any labelled image data set."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from generators.ambiguous.config import PairTrainingConfig
from generators.ambiguous.density_sampler import DensitySampler
from generators.ambiguous.pair_model import PairAAE
from generators.ambiguous.pair_store import TrainedPairs
from generators.ambiguous.quality_filter import QualityFilter, check_filter_params
from generators.ambiguous.quantization import to_uint8
from generators.ambiguous.training import train_pair_models
from supervisor_testing.corpus import ColumnSpec, Corpus
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import Generator, generators

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset

__all__ = [
    "DEFAULT_SAMPLES",
    "AmbiguousGenerator",
    "check_max_label_diff",
    "make_ambiguous_corpus",
    "sample_corpus_columns",
]

#: Samples made when the caller does not say how many.
DEFAULT_SAMPLES = 10_000

# Latent points decoded per pair at a time.
_DECODE_CHUNK = 1024
# Independent random streams derived from the corpus seed.
_PAIR_STREAM, _ORDER_STREAM, _LABEL_STREAM = 0, 1, 2

_TRAINING_PARAMS = {
    "epochs": "epochs",
    "batch_size": "batch_size",
    "hidden_dim": "hidden_dim",
    "dropout": "dropout",
    "learning_rate": "learning_rate",
    "max_tries": "max_tries",
    "disc_accuracy_range": "disc_accuracy_range",
    "min_class_accuracy": "min_class_accuracy",
}


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def _pair_name(pair: tuple[int, int]) -> str:
    return f"{pair[0]}-{pair[1]}"


def _split_counts(total: int, slots: int, rng: np.random.Generator) -> list[int]:
    """``total`` split as evenly as possible over ``slots``; the remainder goes to a seeded
    choice of slots so that no pair is favoured by its position."""
    counts = [total // slots] * slots
    for i in rng.choice(slots, size=total % slots, replace=False):
        counts[int(i)] += 1
    return counts


def sample_corpus_columns(
    trained: TrainedPairs,
    num_samples: int,
    *,
    max_label_diff: float,
    seed: int,
    grid_size: int = 50,
    quality_filter: QualityFilter | None = None,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """Draw ``num_samples`` ambiguous samples from trained pair models as corpus columns.

    The samples are split evenly over the accepted pairs. A pair that gives up (too few
    ambiguous points within ``100 n`` candidates) passes its shortfall on to the others;
    a warning names it. The samples are shuffled, and each gets a hard label drawn from
    its soft label, all from ``seed``. A ``quality_filter`` rejects candidates that any of
    its independent classifiers does not find ambiguous between the pair or finds
    atypical; rejected candidates count against the pair's budget. ``progress`` shows
    bars for the density grid (when not cached) and for the samples accepted so far, since
    sampling ends before the first corpus batch is written; it changes no draw.

    Returns:
        ``images`` (uint8), ``labels``, ``label_probs`` (exactly the pair's two classes
        non-zero), ``source_index`` (-1: no source image), ``pair`` (the two classes,
        ``N x 2``) and ``latent`` (the 2-d point decoded, ``N x 2``).

    Raises:
        InvalidInputError: ``num_samples`` or ``max_label_diff`` is out of range, or no
            pair passed the acceptance rule.
    """
    from tqdm.auto import tqdm

    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
        raise InvalidInputError(f"num_samples must be a positive int, got {num_samples!r}")
    check_max_label_diff(max_label_diff)
    accepted = trained.accepted
    if not accepted:
        raise InvalidInputError(
            "no pair model passed the acceptance rule, so there is nothing to sample from; "
            "use smaller batches (batch_size: on a small training pool, large batches "
            "give too few steps per epoch, the usual cause), train longer (epochs), allow "
            "more tries (max_tries) or relax the rule (disc_accuracy_range, "
            "min_class_accuracy)"
        )
    model = trained.model.select(accepted)
    pairs = [trained.pairs[i] for i in accepted]
    norms = trained.gradient_norms(grid_size, progress=progress)[accepted]
    sampler = DensitySampler(model, trained.config, grid_size=grid_size, gradient_norms=norms)
    rngs = [_rng(seed, _PAIR_STREAM, a, b) for a, b in pairs]
    accept = _filter_test(model, trained.input_shape, quality_filter) if quality_filter else None
    split_rng = _rng(seed, _ORDER_STREAM)
    counts = _split_counts(num_samples, len(pairs), split_rng)
    zs: list[list[torch.Tensor]] = [[] for _ in pairs]
    probs: list[list[torch.Tensor]] = [[] for _ in pairs]
    open_pairs = list(range(len(pairs)))
    gave_up: list[int] = []
    with tqdm(
        total=num_samples, desc="sampling", unit="sample", disable=not progress, leave=False
    ) as bar:
        while True:
            z, p, short = sampler.draw(
                counts, max_label_diff=max_label_diff, rngs=rngs, accept=accept,
                on_accept=bar.update,
            )  # fmt: skip
            for i in range(len(pairs)):
                zs[i].append(z[i])
                probs[i].append(p[i])
            missing = sum(c - len(zi) for c, zi in zip(counts, z, strict=True))
            gave_up += [i for i in open_pairs if short[i]]
            open_pairs = [i for i in open_pairs if not short[i]]
            if missing == 0 or not open_pairs:
                break
            counts = [0] * len(pairs)
            for i, extra in zip(
                open_pairs, _split_counts(missing, len(open_pairs), split_rng), strict=True
            ):
                counts[i] = extra
    if gave_up:
        names = ", ".join(_pair_name(pairs[i]) for i in sorted(set(gave_up)))
        warnings.warn(
            f"pair(s) {names} ran out of ambiguous points before their share; the other "
            f"pairs made up the difference (raise max_label_diff to widen the band"
            + (", or relax the quality filter)" if quality_filter else ")"),
            stacklevel=2,
        )
    per_pair_z = [torch.cat(z) for z in zs]
    latent = torch.cat(per_pair_z)
    if len(latent) == 0:
        raise InvalidInputError(
            f"no latent point had |p1 - p2| < max_label_diff = {max_label_diff}; raise it"
        )
    if len(latent) < num_samples:
        warnings.warn(
            f"made {len(latent)} of {num_samples} samples: every pair ran out of ambiguous "
            f"points (raise max_label_diff"
            + (", or relax the quality filter)" if quality_filter else ")"),
            stacklevel=2,
        )
    images = _decode(model, per_pair_z)
    soft = torch.cat([torch.cat(p) for p in probs])
    pair_index = torch.cat(
        [torch.full((len(z),), i, dtype=torch.int64) for i, z in enumerate(per_pair_z)]
    )
    order = torch.from_numpy(_rng(seed, _ORDER_STREAM, 1).permutation(len(latent)))
    latent, soft, pair_index, images = latent[order], soft[order], pair_index[order], images[order]
    classes = model.classes[pair_index]  # N x 2
    first = torch.from_numpy(_rng(seed, _LABEL_STREAM).random(len(latent))) < soft[:, 0].double()
    label_probs = torch.zeros(len(latent), len(trained.class_names), dtype=torch.float32)
    label_probs.scatter_(1, classes, soft)
    c, h, w = trained.input_shape
    return {
        "images": images.reshape(-1, c, h, w),
        "labels": torch.where(first, classes[:, 0], classes[:, 1]),
        "label_probs": label_probs,
        "source_index": torch.full((len(latent),), -1, dtype=torch.int64),
        "pair": classes,
        "latent": latent,
    }


def _filter_test(
    model: PairAAE, shape: tuple[int, ...], quality_filter: QualityFilter
) -> Callable[[torch.Tensor, np.ndarray], np.ndarray]:
    """The sampler's ``accept`` test: decode the marked latent points as corpus pixels and
    ask ``quality_filter`` about each, with its pair's classes."""

    @torch.no_grad()
    def accept(z: torch.Tensor, judge: np.ndarray) -> np.ndarray:
        verdict = np.zeros(judge.shape, dtype=bool)
        rows, cols = np.nonzero(judge)
        if len(rows):
            images = to_uint8(model.decode(z))[rows, cols].reshape(len(rows), *shape)
            classes = model.classes[torch.from_numpy(rows)]
            verdict[rows, cols] = quality_filter.keep(images, classes).numpy()
        return verdict

    return accept


@torch.no_grad()
def _decode(model: PairAAE, per_pair_z: list[torch.Tensor]) -> torch.Tensor:
    """uint8 images ``N x D`` of every pair's latent points, concatenated in pair order.

    The stacked decoder takes one padded row of points per pair; chunks of columns bound
    the memory at ``P x chunk x D`` floats.
    """
    out = [torch.empty(len(z), model.input_dim, dtype=torch.uint8) for z in per_pair_z]
    longest = max(len(z) for z in per_pair_z)
    for start in range(0, longest, _DECODE_CHUNK):
        stop = start + _DECODE_CHUNK
        z = torch.zeros(model.num_pairs, min(stop, longest) - start, 2)
        for i, zi in enumerate(per_pair_z):
            z[i, : len(zi[start:stop])] = zi[start:stop]
        decoded = to_uint8(model.decode(z))
        for i, zi in enumerate(per_pair_z):
            out[i][start : start + len(zi[start:stop])] = decoded[i, : len(zi[start:stop])]
    return torch.cat(out)


def check_max_label_diff(value: object) -> float:
    """``max_label_diff`` must lie in ``(0, 1]``: 0 admits nothing, and above 1 every point
    qualifies, including unambiguous ones."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < float(value) <= 1:
        raise InvalidInputError(
            f"max_label_diff must lie in (0, 1] (e.g. 0.2: keep points whose two class "
            f"probabilities differ by less than 0.2), got {value!r}"
        )
    return float(value)


@generators.register("ambiguous", aliases=("ambiguess",))
class AmbiguousGenerator(Generator):
    """AmbiGuess: ambiguous images between two classes, from one regularized AAE per pair.

    The source is the *training* split the pair models learn from. Parameters:

    * ``max_label_diff`` (0.2): keep latent points whose two class probabilities differ
      by less than this.
    * ``model_seed`` (0): seeds training; the corpus seed only seeds sampling, so corpora
      with different seeds share the cached models.
    * ``pairs`` (all): class pairs, e.g. ``[[3, 5], [4, 9]]``.
    * ``grid_size`` (50): density-grid cells per axis.
    * ``filter_arch`` (none): a reference architecture, or a list of distinct ones (a
      committee, e.g. ``["mlp", "resnet"]``), trained on the source (each with seed
      ``filter_seed``, 0). Every one must rank the pair as its top two classes, and under
      every one's features a sample's validity percentile must not exceed
      ``filter_max_validity`` (90); see :mod:`generators.ambiguous.quality_filter`. A
      one-element list is stored as its plain name and a longer one sorted. Off in the
      published method.
    * training: ``epochs`` (80), ``batch_size`` (1000), ``hidden_dim`` (128), ``dropout``
      (0.1), ``learning_rate`` (0.001), ``max_tries`` (20), ``disc_accuracy_range``
      ([0.4, 0.6]), ``min_class_accuracy`` (0.9).

    Example:
        >>> AmbiguousGenerator(max_label_diff=0.1).kind
        'ambiguous'
    """

    name = "ambiguous"
    version = "1"
    kind = "ambiguous"
    defaults = MappingProxyType(
        {
            "max_label_diff": 0.2,
            "model_seed": 0,
            "pairs": None,
            "grid_size": 50,
            "filter_arch": None,
            "filter_seed": 0,
            "filter_max_validity": 90.0,
            "epochs": 80,
            "batch_size": 1000,
            "hidden_dim": 128,
            "dropout": 0.1,
            "learning_rate": 0.001,
            "max_tries": 20,
            "disc_accuracy_range": [0.4, 0.6],
            "min_class_accuracy": 0.9,
        }
    )

    _progress: bool = False

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        params["max_label_diff"] = check_max_label_diff(params["max_label_diff"])
        seed = params["model_seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise InvalidInputError(f"model_seed must be a non-negative int, got {seed!r}")
        grid = params["grid_size"]
        if not isinstance(grid, int) or isinstance(grid, bool) or grid < 1:
            raise InvalidInputError(f"grid_size must be a positive int, got {grid!r}")
        if params["pairs"] is not None:
            if not isinstance(params["pairs"], (list, tuple)):
                raise InvalidInputError(
                    f"pairs must be a list of [first, second] class indices, got "
                    f"{params['pairs']!r}"
                )
            params["pairs"] = [list(p) if isinstance(p, tuple) else p for p in params["pairs"]]
        params["disc_accuracy_range"] = list(params["disc_accuracy_range"])
        params["filter_arch"] = check_filter_params(
            params["filter_arch"], params["filter_seed"], params["filter_max_validity"]
        )
        params["filter_max_validity"] = float(params["filter_max_validity"])
        self.training_config(params)  # validates the training values
        return params

    @staticmethod
    def training_config(params: dict[str, Any]) -> PairTrainingConfig:
        """The :class:`PairTrainingConfig` that ``params`` describe."""
        values = {field: params[key] for key, field in _TRAINING_PARAMS.items()}
        return PairTrainingConfig(**values)

    def extra_columns(self) -> dict[str, ColumnSpec]:
        return {
            "pair": ColumnSpec("int64", (2,)),  # the two classes mixed, first < second
            "latent": ColumnSpec("float32", (2,)),  # the latent point decoded
        }

    def expected_samples(self, source: Dataset, num_samples: int | None) -> int | None:
        return DEFAULT_SAMPLES if num_samples is None else num_samples

    def train(self, source: Dataset, *, progress: bool = False) -> TrainedPairs:
        """Train (or load from the cache) the pair models this generator samples from."""
        return train_pair_models(
            source,
            config=self.training_config(self._params),
            seed=self._params["model_seed"],
            pairs=self._params["pairs"],
            progress=progress,
        )

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        n = DEFAULT_SAMPLES if num_samples is None else num_samples
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise InvalidInputError(f"num_samples must be a positive int, got {n!r}")
        trained = self.train(source, progress=self._progress)
        quality_filter = None
        if self._params["filter_arch"] is not None:
            quality_filter = QualityFilter.train(
                source,
                arch=self._params["filter_arch"],
                seed=self._params["filter_seed"],
                max_validity=self._params["filter_max_validity"],
            )
        columns = sample_corpus_columns(
            trained,
            n,
            max_label_diff=self._params["max_label_diff"],
            seed=seed,
            grid_size=self._params["grid_size"],
            quality_filter=quality_filter,
            progress=self._progress,
        )
        for start in range(0, len(columns["images"]), self.batch_size):
            yield {k: v[start : start + self.batch_size] for k, v in columns.items()}

    def build(
        self,
        source: Dataset,
        path: str | os.PathLike[str],
        *,
        progress: bool = False,
        **kwargs: Any,
    ) -> Corpus:
        """As :meth:`Generator.build`; ``progress`` also shows the training bars."""
        self._progress = progress
        try:
            return super().build(source, path, progress=progress, **kwargs)
        finally:
            self._progress = False


def make_ambiguous_corpus(
    dataset: str | os.PathLike[str] | Dataset,
    out: str | os.PathLike[str],
    *,
    split: str = "train",
    num_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
    **params: Any,
) -> Corpus:
    """Train (or load) the pair models on ``dataset``'s ``split`` and write an ambiguous
    corpus of ``num_samples`` to ``out``. ``params`` are :class:`AmbiguousGenerator`
    parameters (``None`` values keep the defaults)."""
    from supervisor_testing.data import load_dataset

    generator = AmbiguousGenerator(**{k: v for k, v in params.items() if v is not None})
    source = (
        dataset if not isinstance(dataset, (str, os.PathLike)) else load_dataset(dataset, split)
    )
    return generator.build(
        source, out, seed=seed, num_samples=num_samples, overwrite=overwrite, progress=progress
    )
