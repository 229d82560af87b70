"""hypothesis strategies that draw stress inputs through the generators.

Each strategy draws the *recipe* of one input (a source row, a corruption, a severity, a
seed, ...) from hypothesis and makes the input with the generator's own function, so an
example replays exactly and shrinks the way hypothesis shrinks numbers and choices:
towards the first source row, seed 0, the lowest severity, the simplest corruption
(:data:`SIMPLEST_FIRST`), the first attack, and, with :func:`batches`, fewer samples.

Strategies compose like hypothesis's own: ``corrupted(corpus, severity=st.integers(1, 3))``,
``batches(st.one_of(nominal(corpus), corrupted(corpus)), size=(8, 32))``. Everything that
can be checked without drawing (an empty corpus, a severity outside 1..5, images too small
for a corruption, a model that cannot read the corpus) is checked when the strategy is
built, with an error from :mod:`supervisor_testing.errors`.

Example:
    >>> from hypothesis import given
    >>> from supervisor_testing.strategies import batches, corrupted
    >>> @given(batch=batches(corrupted("digits-test", corruption="fog"), size=(2, 8)))
    ... def test_scores_one_value_per_input(batch):
    ...     assert batch.images.shape[0] == len(batch)

hypothesis's ``hypothesis`` entry point (functions run whenever hypothesis is imported)
is not used: every strategy here needs a corpus or a model, so there is no argument-free
strategy that ``st.from_type`` could resolve a type to, and registering our types would
import torch into every process that imports hypothesis.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from supervisor_testing.drawn import Batch, Sample
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.model_probe import check_model_reads, model_of

if TYPE_CHECKING:
    from torch import nn

    from generators.ambiguous.generator import AmbiguousGenerator
    from generators.ambiguous.pair_store import TrainedPairs
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset
    from supervisor_testing.supervisors.base import Supervisor

__all__ = [
    "SIMPLEST_FIRST",
    "Batch",
    "Sample",
    "adversarial",
    "ambiguous",
    "batches",
    "corrupted",
    "corruptions",
    "domain_shifted",
    "edited",
    "generated",
    "nominal",
]

T = TypeVar("T")

#: Every corruption, simplest first: the order :func:`corrupted` shrinks towards. One
#: global pixel map, then one rigid geometric map, independent pixel noise, a blur kernel,
#: lossy re-encoding, drawn overlays, and last the layered weather and texture models.
SIMPLEST_FIRST = (
    "brightness", "contrast", "inverse", "saturate", "quantize",
    "translate", "rotate", "scale", "shear",
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise",
    "gaussian_blur", "defocus_blur", "motion_blur", "zoom_blur", "glass_blur",
    "pixelate", "jpeg_compression",
    "line", "dotted_line", "zigzag", "stripe",
    "fog", "frost", "snow", "spatter", "elastic_transform", "canny_edges",
)  # fmt: skip

# Seeds hypothesis draws for the generators (all of them take a non-negative int).
_SEEDS = st.integers(0, 2**31 - 1)


@dataclass(frozen=True)
class _Pool:
    """The source images a strategy draws rows from, loaded once."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def rows(self) -> SearchStrategy[int]:
        return st.integers(0, len(self.labels) - 1)

    def dataset(self, index: int) -> Dataset:
        """Row ``index`` as a one-image data set (what generators take)."""
        from supervisor_testing.data.dataset import Dataset

        if int(self.labels[index]) < 0:
            raise InvalidInputError(
                f"row {index} of {self.name!r} lies outside the label space (label -1); "
                f"generators need labelled sources"
            )
        return Dataset(
            self.name,
            "test",
            self.images[index : index + 1],
            self.labels[index : index + 1],
            self.class_names,
        )


def _pool(
    source: Corpus | Dataset | str | os.PathLike[str],
    *,
    model: nn.Module | Supervisor | None,
    labelled: bool = False,
) -> _Pool:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

    if isinstance(source, Dataset):
        pool = _Pool(source.name, source.images, source.labels, tuple(source.class_names))
    elif isinstance(source, (Corpus, str, os.PathLike)):
        from supervisor_testing.recipes import resolve_corpus

        corpus = resolve_corpus(source)
        data = corpus.load(["images", "labels"])
        pool = _Pool(corpus.name, data["images"], data["labels"], corpus.class_names)
    else:
        raise InvalidInputError(
            f"expected a corpus, a data set, or a corpus path or recipe name, got "
            f"{type(source).__name__}"
        )
    if len(pool.labels) == 0:
        raise InvalidInputError(
            f"corpus {pool.name!r} is empty: there is nothing to draw from; use a corpus "
            f"with at least one sample"
        )
    if labelled and bool((pool.labels < 0).any()):
        raise InvalidInputError(
            f"corpus {pool.name!r} holds inputs outside the label space (label -1); this "
            f"strategy derives inputs from labelled sources, so use a nominal corpus"
        )
    if model is not None:
        check_model_reads(
            model, pool.image_shape, num_classes=len(pool.class_names), what=repr(pool.name)
        )
    return pool


def _choices(value: T | Sequence[T] | SearchStrategy[T] | None, everything: Sequence[T]):
    """A fixed tuple of choices, or the strategy itself when one was given."""
    if isinstance(value, SearchStrategy):
        return value
    if value is None:
        return tuple(everything)
    if isinstance(value, str) or not isinstance(value, Sequence):
        return (value,)
    return tuple(value)


def _int_range(
    value: int | tuple[int, int] | range | Sequence[int] | SearchStrategy[int],
    *,
    name: str,
    low: int,
    high: int,
) -> tuple[int, ...] | SearchStrategy[int]:
    """Sorted levels from ``3``, ``(1, 5)`` (inclusive), ``range(1, 4)`` or ``[1, 3]``."""
    if isinstance(value, SearchStrategy):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        levels: tuple[Any, ...] = (value,)
    elif isinstance(value, tuple) and len(value) == 2 and not isinstance(value, range):
        first, last = value
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value) or last < first:
            raise InvalidInputError(
                f"{name} range {value!r} is impossible: give (low, high) with "
                f"{low} <= low <= high <= {high}"
            )
        levels = tuple(range(first, last + 1))
    elif isinstance(value, (range, Sequence)) and not isinstance(value, str):
        levels = tuple(value)
    else:
        raise InvalidInputError(
            f"{name} must be an int, a (low, high) range, a list or a hypothesis strategy, "
            f"got {value!r}"
        )
    bad = [
        v for v in levels if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high
    ]
    if bad or not levels:
        raise InvalidInputError(
            f"{name} {value!r} is impossible: values lie in {low}..{high}"
            + (f" ({bad[0]!r} does not)" if bad else " and none was given")
        )
    return tuple(sorted(set(levels)))


def _strategy(choices: tuple[T, ...] | SearchStrategy[T]) -> SearchStrategy[T]:
    if isinstance(choices, SearchStrategy):
        return choices
    if len(choices) == 1:
        return st.just(choices[0])
    if all(isinstance(c, int) for c in choices) and choices == tuple(
        range(choices[0], choices[-1] + 1)  # type: ignore[operator]
    ):
        return st.integers(choices[0], choices[-1])  # type: ignore[arg-type, return-value]
    return st.sampled_from(choices)  # earlier choices are simpler: shrinking goes there


# -- nominal ------------------------------------------------------------------------------


def nominal(
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    model: nn.Module | Supervisor | None = None,
) -> SearchStrategy[Sample]:
    """Rows of ``corpus`` as they are; shrinks towards row 0.

    Args:
        corpus: a corpus, a data set, or a corpus path or recipe name.
        model: when given, checked now to read the corpus's images.

    Raises:
        InvalidInputError: an empty corpus, or a model that cannot read it.
    """
    pool = _pool(corpus, model=model)

    @st.composite
    def draw_nominal(draw: st.DrawFn) -> Sample:
        index = draw(pool.rows())
        image = pool.images[index]
        return Sample("nominal", image, int(pool.labels[index]), index, image)

    return draw_nominal()


# -- corruptions --------------------------------------------------------------------------


def _fitting_corruptions(
    image_shape: tuple[int, int, int], suite: str, table: str, levels: tuple[int, ...]
) -> tuple[str, ...]:
    """Corruptions of ``suite`` that images of ``image_shape`` take at every level."""
    from generators.corruptions.suites import check_image_shape, list_corruptions, resolve_table

    resolved = resolve_table(suite, table, image_shape)
    names = []
    for name in list_corruptions(suite, "all"):
        try:
            for level in levels:
                check_image_shape(image_shape, resolved, name, level)
        except InvalidInputError:
            continue
        names.append(name)
    return tuple(sorted(names, key=SIMPLEST_FIRST.index))


def corruptions(
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    suite: str = "imagenet-c",
    table: str = "auto",
    severity: int | tuple[int, int] | Sequence[int] = (1, 5),
) -> SearchStrategy[str]:
    """Names of the corruptions the corpus's images take at every ``severity``, simplest
    first (so a failure shrinks towards the simplest one that still fails).

    Raises:
        InvalidInputError: an empty corpus, an impossible severity range, or images that
            no corruption takes.
    """
    from generators.corruptions.suites import resolve_suite

    pool = _pool(corpus, model=None)
    levels = _int_range(severity, name="severity", low=1, high=5)
    if isinstance(levels, SearchStrategy):
        raise InvalidInputError("corruptions() takes severity as an int, a range or a list")
    names = _fitting_corruptions(pool.image_shape, resolve_suite(suite), table, levels)
    if not names:
        raise InvalidInputError(
            f"no corruption of suite {suite!r} takes {pool.name!r}'s {pool.image_shape} images "
            f"at severities {list(levels)}; use larger images or lower severities"
        )
    return st.sampled_from(names)


def corrupted(
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    corruption: str | Sequence[str] | SearchStrategy[str] | None = None,
    severity: int | tuple[int, int] | Sequence[int] | SearchStrategy[int] = (1, 5),
    suite: str = "imagenet-c",
    table: str = "auto",
    model: nn.Module | Supervisor | None = None,
) -> SearchStrategy[Sample]:
    """Rows of ``corpus`` corrupted by :func:`generators.corruptions.corrupt`.

    Args:
        corpus: the clean source (labelled).
        corruption: a name, a list of names, or a strategy of names; ``None`` is every
            corruption of ``suite`` the images take. Lists shrink towards the simplest
            (:data:`SIMPLEST_FIRST` order), whatever order they are given in.
        severity: an int, an inclusive ``(low, high)`` range, a list, or a strategy
            (``st.integers(1, 5)``); shrinks towards the lowest.
        suite: ``imagenet-c`` or ``mnist-c``.
        table: the suite's parameter table (``auto`` picks by image size).
        model: when given, checked now to read the corpus's images.

    Draws carry ``corruption``, ``severity`` and ``seed`` in :attr:`Sample.params`, and the
    source image in :attr:`Sample.clean`.

    Raises:
        InvalidInputError: an empty or unlabelled corpus, a severity outside 1..5, images
            too small for a named corruption, or a model that cannot read them. Choices
            given as strategies are checked when drawn.
        UnknownNameError: an unknown suite or corruption.
    """
    from generators.corruptions import corrupt
    from generators.corruptions.suites import (
        check_image_shape,
        resolve_corruptions,
        resolve_suite,
        resolve_table,
    )

    pool = _pool(corpus, model=model, labelled=True)
    suite = resolve_suite(suite)
    resolved_table = resolve_table(suite, table, pool.image_shape)
    levels = _int_range(severity, name="severity", low=1, high=5)
    # A severity strategy may draw any level: every corruption it could meet must take all
    # five when the choice is ours; a named one is checked again on each draw.
    checked_levels = levels if isinstance(levels, tuple) else (1,)
    filter_levels = levels if isinstance(levels, tuple) else (1, 2, 3, 4, 5)
    names = _choices(corruption, ())
    if isinstance(names, tuple):
        if corruption is None:
            names = _fitting_corruptions(pool.image_shape, suite, table, filter_levels)
            if not names:
                raise InvalidInputError(
                    f"no corruption of suite {suite!r} takes {pool.name!r}'s "
                    f"{pool.image_shape} images at severities {list(filter_levels)}"
                )
        else:
            names = tuple(sorted(resolve_corruptions(suite, list(names)), key=SIMPLEST_FIRST.index))
            for name in names:
                for level in checked_levels:
                    check_image_shape(pool.image_shape, resolved_table, name, level)

    def check_draw(name: str, level: int) -> None:
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
            raise InvalidInputError(f"the severity strategy drew {level!r}; severities are 1..5")
        check_image_shape(pool.image_shape, resolved_table, name, level)

    @st.composite
    def draw_corrupted(draw: st.DrawFn) -> Sample:
        name = resolve_corruptions(suite, [draw(_strategy(names))])[0]
        level = draw(_strategy(levels))
        check_draw(name, level)
        index = draw(pool.rows())
        seed = draw(_SEEDS)
        clean = pool.images[index]
        image = corrupt(
            clean[None], name, severity=level, seed=seed, indices=[index], suite=suite,
            table=table,
        )[0]  # fmt: skip
        params = {"corruption": name, "severity": level, "seed": seed}
        return Sample("corrupted", image, int(pool.labels[index]), index, clean, params)

    return draw_corrupted()


# -- ambiguous ----------------------------------------------------------------------------


def ambiguous(
    generator: TrainedPairs | AmbiguousGenerator,
    *,
    pair: tuple[int, int]
    | Sequence[tuple[int, int]]
    | SearchStrategy[tuple[int, int]]
    | None = None,
    source: Dataset | None = None,
    max_label_diff: float | None = None,
    grid_size: int | None = None,
    model: nn.Module | Supervisor | None = None,
) -> SearchStrategy[Sample]:
    """AmbiGuess images between two classes, one latent draw per example.

    Args:
        generator: trained pair models (:func:`generators.ambiguous.train_pair_models`),
            or an :class:`~generators.ambiguous.AmbiguousGenerator` together with the
            training ``source`` (its models are trained, or loaded from the cache, now).
        pair: a class pair, a list of pairs or a strategy of pairs; ``None`` is every
            accepted pair, in training order.
        max_label_diff, grid_size: sampling settings (the generator's, or AmbiGuess's
            defaults 0.2 and 50).
        model: when given, checked now to read the images.

    Draws carry ``pair`` and ``seed`` in :attr:`Sample.params`; they have no source image.

    Raises:
        InvalidInputError: no accepted pair, a pair that was not trained or not accepted,
            a bad ``max_label_diff``, or a model that cannot read the images.
    """
    import dataclasses

    from generators.ambiguous.generator import (
        AmbiguousGenerator,
        check_max_label_diff,
        sample_corpus_columns,
    )
    from generators.ambiguous.pair_store import TrainedPairs

    if isinstance(generator, AmbiguousGenerator):
        if source is None:
            raise InvalidInputError(
                "an AmbiguousGenerator needs the training source to train its pair models: "
                "pass source=<the training split>"
            )
        params = generator.params
        max_label_diff = params["max_label_diff"] if max_label_diff is None else max_label_diff
        grid_size = params["grid_size"] if grid_size is None else grid_size
        trained = generator.train(source)
    elif isinstance(generator, TrainedPairs):
        trained = generator
    else:
        raise InvalidInputError(
            f"ambiguous() takes trained pair models or an AmbiguousGenerator, got "
            f"{type(generator).__name__}"
        )
    max_label_diff = check_max_label_diff(0.2 if max_label_diff is None else max_label_diff)
    grid_size = 50 if grid_size is None else grid_size
    accepted = [trained.pairs[i] for i in trained.accepted]
    if not accepted:
        raise InvalidInputError(
            "no pair model passed the acceptance rule, so there is nothing to draw from; "
            "train longer or relax the rule"
        )
    pairs = _choices(pair, accepted)
    if isinstance(pairs, tuple):
        if pair is not None and len(pairs) == 2 and all(isinstance(c, int) for c in pairs):
            pairs = (pairs,)  # one pair given as (a, b)
        pairs = tuple(tuple(sorted(int(c) for c in p)) for p in pairs)  # type: ignore[union-attr]
        unknown = [p for p in pairs if p not in accepted]
        if unknown:
            raise InvalidInputError(
                f"pair {unknown[0]} has no accepted model; draw from {accepted}"
            )
    if model is not None:
        check_model_reads(
            model, trained.input_shape, num_classes=len(trained.class_names), what="the pairs"
        )
    trained.gradient_norms(grid_size)  # the density grid once, not on every draw
    by_pair = {}
    for k, classes in enumerate(trained.pairs):
        if classes in accepted:
            reports = tuple(
                dataclasses.replace(r, accepted=(i == k)) for i, r in enumerate(trained.reports)
            )
            by_pair[classes] = dataclasses.replace(trained, reports=reports, _grids=trained._grids)

    @st.composite
    def draw_ambiguous(draw: st.DrawFn) -> Sample:
        classes = tuple(sorted(draw(_strategy(pairs))))
        if classes not in by_pair:
            raise InvalidInputError(f"the pair strategy drew {classes}; draw from {accepted}")
        seed = draw(_SEEDS)
        columns = sample_corpus_columns(
            by_pair[classes], 1, max_label_diff=max_label_diff, seed=seed, grid_size=grid_size
        )
        params = {"pair": classes, "seed": seed}
        return Sample(
            "ambiguous", columns["images"][0], int(columns["labels"][0]), -1, None, params
        )

    return draw_ambiguous()


# -- adversarial --------------------------------------------------------------------------


def adversarial(
    model: nn.Module | Supervisor,
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    attack: str | Sequence[str] | SearchStrategy[str] | None = None,
    epsilons: Sequence[float] | None = None,
    attack_params: dict[str, dict[str, Any]] | None = None,
) -> SearchStrategy[Sample]:
    """Rows of ``corpus`` attacked at the smallest ladder epsilon that flips ``model``.

    Args:
        model: the classifier under attack (or a supervisor wrapping it).
        corpus: the clean, labelled source.
        attack: a name, list or strategy of ``fgsm``, ``pgd``, ``bim``, ``deepfool``;
            ``None`` is all four. Lists are put in that order, simplest first, which is
            where shrinking goes.
        epsilons: the ladder on 0..1 pixels (default: the AmbiGuess study's).
        attack_params: per-attack settings, e.g. ``{"pgd": {"steps": 10}}``.

    Draws carry ``attack``, ``epsilon`` (``inf`` where no step flips it), ``success`` and
    ``seed`` in :attr:`Sample.params`.

    Raises:
        InvalidInputError: an empty or unlabelled corpus, a model that cannot read it, an
            unknown attack or a bad ladder.
    """
    from generators.adversarial import (
        ATTACKS,
        check_epsilons,
        create_attack,
        minimal_epsilons,
        resolve_attacks,
    )
    from generators.adversarial.catalog import resolve_attack_settings

    module = model_of(model)
    pool = _pool(corpus, model=module, labelled=True)
    ladder = check_epsilons(epsilons)
    names = _choices(attack, tuple(ATTACKS))
    settings = resolve_attack_settings(tuple(ATTACKS), attack_params)
    if isinstance(names, tuple):
        # FGSM (one gradient step) is the simplest, DeepFool the most involved.
        names = tuple(sorted(resolve_attacks(list(names)), key=tuple(ATTACKS).index))

    @st.composite
    def draw_adversarial(draw: st.DrawFn) -> Sample:
        name = resolve_attacks([draw(_strategy(names))])[0]
        index = draw(pool.rows())
        seed = draw(_SEEDS)
        clean = pool.images[index]
        label = pool.labels[index : index + 1]
        result = minimal_epsilons(
            create_attack(name, **settings[name]),
            module,
            clean[None],
            label,
            epsilons=ladder,
            seed=seed,
            keys=torch.tensor([index]),
        )
        params = {
            "attack": name,
            "epsilon": float(result.epsilon[0]),
            "success": bool(result.success[0]),
            "seed": seed,
        }
        return Sample("adversarial", result.images[0], int(label[0]), index, clean, params)

    return draw_adversarial()


# -- domains ------------------------------------------------------------------------------


def domain_shifted(
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    domain: str | Sequence[str] | SearchStrategy[str] | None = None,
    strength: float | tuple[float, float] | SearchStrategy[float] | None = None,
    model: nn.Module | Supervisor | None = None,
) -> SearchStrategy[Sample]:
    """Rows of ``corpus`` drawn in an unseen domain by its offline renderer.

    Args:
        corpus: the source (labelled).
        domain: a catalogue name, list or strategy of names; ``None`` is every domain
            with an offline renderer, in catalogue order.
        strength: a number, an inclusive ``(low, high)`` range (drawn in steps of 0.001,
            shrinking towards ``low``; 0 leaves the image unchanged) or a strategy in
            [0, 1]; ``None`` takes each domain's catalogue strength.
        model: when given, checked now to read the corpus's images.

    Draws carry ``domain``, ``strength`` and ``seed`` in :attr:`Sample.params`.

    Raises:
        InvalidInputError: an empty or unlabelled corpus, images the renderers do not take,
            a strength outside [0, 1], or a model that cannot read the images.
        UnknownNameError: a domain not in the catalogue.
    """
    from generators.domains import load_catalogue, render_domain
    from generators.domains.rendering import check_images, check_strength

    pool = _pool(corpus, model=model, labelled=True)
    check_images(pool.images[:1])
    catalogue = load_catalogue()
    everything = tuple(d.name for d in catalogue.domains.values() if d.renderer is not None)
    names = _choices(domain, everything)
    if isinstance(names, tuple):
        for name in names:
            if catalogue.get(name).renderer is None:
                raise InvalidInputError(f"domain {name!r} has no offline renderer")
    strengths: SearchStrategy[float | None]
    if strength is None:
        strengths = st.none()
    elif isinstance(strength, SearchStrategy):
        strengths = strength
    elif isinstance(strength, tuple):
        if len(strength) != 2:
            raise InvalidInputError(f"strength range must be (low, high), got {strength!r}")
        low, high = (check_strength(v) for v in strength)
        if high < low:
            raise InvalidInputError(
                f"strength range {strength!r} is impossible: give (low, high) with "
                f"0 <= low <= high <= 1"
            )
        # Whole thousandths, not st.floats: hypothesis shrinks floats towards simple
        # values (1.0 before 0.501), integers towards the low end, which is what a
        # failure should be reported at.
        strengths = st.integers(math.ceil(low * 1000), math.floor(high * 1000)).map(
            lambda k: k / 1000
        )
    else:
        strengths = st.just(check_strength(strength))

    @st.composite
    def draw_domain(draw: st.DrawFn) -> Sample:
        found = catalogue.get(draw(_strategy(names)))
        value = draw(strengths)
        value = found.strength if value is None else check_strength(value)
        index = draw(pool.rows())
        seed = draw(_SEEDS)
        clean = pool.images[index]
        image = render_domain(clean[None], found, strength=value, seed=seed, indices=[index])[0]
        params = {"domain": found.name, "strength": value, "seed": seed}
        return Sample("domain-shift", image, int(pool.labels[index]), index, clean, params)

    return draw_domain()


# -- any registered generator -------------------------------------------------------------


def generated(
    generator: str,
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    model: nn.Module | Supervisor | None = None,
    **params: Any,
) -> SearchStrategy[Sample]:
    """Rows of ``corpus`` passed one at a time through the registered ``generator``.

    The generator is looked up in the registry and built with ``params`` now (so an
    unknown name or parameter fails here); each draw runs it on one source image with a
    drawn seed and keeps the first sample it yields. Extra columns it writes (scalars)
    land in :attr:`Sample.params` beside ``generator`` and ``seed``. The generator sees a
    one-image data set, so its per-image randomness is keyed by the seed alone: a draw
    replays exactly, but need not equal the same row of a corpus built from the whole
    source.

    Raises:
        UnknownNameError: no generator is registered as ``generator``.
        InvalidInputError: bad parameters, an empty or unlabelled corpus, or a model that
            cannot read it.
    """
    from supervisor_testing.generation import create_generator

    made = create_generator(generator, **params)
    pool = _pool(corpus, model=model, labelled=True)

    @st.composite
    def draw_generated(draw: st.DrawFn) -> Sample:
        index = draw(pool.rows())
        seed = draw(_SEEDS)
        batch = next(iter(made.generate(pool.dataset(index), seed=seed, num_samples=1)))
        extras = {
            name: value[0].item()
            for name, value in batch.items()
            if name not in ("images", "labels", "label_probs", "source_index")
            and value[0].numel() == 1
        }
        out = {"generator": made.name, **extras, "seed": seed}
        clean = pool.images[index]
        return Sample(made.kind, batch["images"][0], int(batch["labels"][0]), index, clean, out)

    return draw_generated()


def edited(
    corpus: Corpus | Dataset | str | os.PathLike[str],
    *,
    model: nn.Module | Supervisor | None = None,
    **params: Any,
) -> SearchStrategy[Sample]:
    """Rows of ``corpus`` edited by the registered ``diffusion`` generator (see
    :func:`generated`); ``params`` are that generator's parameters.

    Raises:
        UnknownNameError: no ``diffusion`` generator is installed.
    """
    return generated("diffusion", corpus, model=model, **params)


# -- batches ------------------------------------------------------------------------------


def batches(
    strategy: SearchStrategy[Sample],
    size: int | tuple[int, int] | SearchStrategy[int] = (1, 16),
) -> SearchStrategy[Batch]:
    """:class:`Batch` es of samples drawn from ``strategy``; shrinks towards fewer samples.

    Args:
        strategy: a sample strategy from this module (or a composition of them).
        size: an exact count, an inclusive ``(low, high)`` range, or a strategy of counts.

    Raises:
        InvalidInputError: a size below 1 or an impossible range.
    """
    if not isinstance(strategy, SearchStrategy):
        raise InvalidInputError(
            f"batches() takes a strategy of samples, got {type(strategy).__name__}"
        )
    if isinstance(size, SearchStrategy):

        @st.composite
        def draw_batch(draw: st.DrawFn) -> Batch:
            n = draw(size)
            if not isinstance(n, int) or n < 1:
                raise InvalidInputError(f"the size strategy drew {n!r}; batches need >= 1 sample")
            return Batch(draw(st.lists(strategy, min_size=n, max_size=n)))

        return draw_batch()
    counts = _int_range(size, name="batch size", low=1, high=10**6)
    assert isinstance(counts, tuple)
    if counts != tuple(range(counts[0], counts[-1] + 1)):
        raise InvalidInputError(f"batch size must be a count or a (low, high) range, got {size!r}")
    return st.lists(strategy, min_size=counts[0], max_size=counts[-1]).map(Batch)
