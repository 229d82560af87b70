"""Sampling supervisors: MC-dropout and deep ensembles, each with four quantifiers.

Both families produce S softmax vectors per input (S dropout masks, or S ensemble members)
and reduce them with one of the quantifiers the AmbiGuess study compares:

* variation ratio: ``1 - (votes for the plurality class) / S``;
* mean softmax: the negated largest entry of the mean softmax;
* predictive entropy: the entropy of the mean softmax;
* mutual information: predictive entropy minus the mean of the per-sample entropies
  (the part of the uncertainty the samples disagree on).

The prediction is the plurality vote (ties go to the class with the higher mean softmax).
The S samples of an input are computed once and shared by the four quantifiers through the
process-wide cache, so a battery that runs all four pays for one set of samples.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.base import Supervisor, as_model_input
from supervisor_testing.supervisors.dropout_sampler import DropoutSampler
from supervisor_testing.supervisors.feature.extraction import model_device
from supervisor_testing.supervisors.fingerprints import model_key, tensor_fingerprint
from supervisor_testing.supervisors.nominal_data import require_dataset
from supervisor_testing.supervisors.registry import register_supervisor
from supervisor_testing.supervisors.result_cache import shared_cache
from supervisor_testing.supervisors.state import FittedStateError, load_module_state, module_state

if TYPE_CHECKING:
    from typing_extensions import Self

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = [
    "QUANTIFIERS",
    "DeepEnsemble",
    "DeepEnsembleEntropy",
    "DeepEnsembleMeanSoftmax",
    "DeepEnsembleMutualInformation",
    "DeepEnsembleVariationRatio",
    "MCDropout",
    "MCDropoutEntropy",
    "MCDropoutMeanSoftmax",
    "MCDropoutMutualInformation",
    "MCDropoutVariationRatio",
    "SampleSummary",
    "SamplingSupervisor",
    "infer_architecture",
    "plurality_vote",
    "summarize_samples",
]


@dataclass(frozen=True)
class SampleSummary:
    """What the quantifiers need from S softmax samples of N inputs.

    Attributes:
        mean_probs: ``N x K`` mean softmax.
        votes: ``N x K`` how many samples have each class as their arg-max.
        mean_entropy: ``N`` mean entropy (nats) of the individual samples.
        samples: S.
    """

    mean_probs: torch.Tensor
    votes: torch.Tensor
    mean_entropy: torch.Tensor
    samples: int


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(p, p).sum(dim=-1)


def summarize_samples(probs: torch.Tensor) -> SampleSummary:
    """Reduce ``S x N x K`` softmax samples to a :class:`SampleSummary` (float64, CPU)."""
    probs = probs.detach().double().cpu()
    s, _, k = probs.shape
    votes = torch.nn.functional.one_hot(probs.argmax(dim=2), k).sum(dim=0)
    return SampleSummary(
        mean_probs=probs.mean(dim=0),
        votes=votes,
        mean_entropy=_entropy(probs).mean(dim=0),
        samples=s,
    )


def _concat_summaries(parts: list[SampleSummary]) -> SampleSummary:
    return SampleSummary(
        mean_probs=torch.cat([p.mean_probs for p in parts]),
        votes=torch.cat([p.votes for p in parts]),
        mean_entropy=torch.cat([p.mean_entropy for p in parts]),
        samples=parts[0].samples,
    )


def _variation_ratio(s: SampleSummary) -> torch.Tensor:
    return 1.0 - s.votes.max(dim=1).values.double() / s.samples


def _mean_softmax(s: SampleSummary) -> torch.Tensor:
    return -s.mean_probs.max(dim=1).values


def _predictive_entropy(s: SampleSummary) -> torch.Tensor:
    return _entropy(s.mean_probs)


def _mutual_information(s: SampleSummary) -> torch.Tensor:
    # Jensen: never negative in exact arithmetic; clamp the rounding error.
    return (_entropy(s.mean_probs) - s.mean_entropy).clamp(min=0.0)


#: quantifier name -> (function of a summary, what its score means).
QUANTIFIERS: dict[str, tuple[Callable[[SampleSummary], torch.Tensor], str]] = {
    "variation-ratio": (_variation_ratio, "share of samples disagreeing with the plurality"),
    "mean-softmax": (_mean_softmax, "negated top class of the mean softmax"),
    "entropy": (_predictive_entropy, "entropy of the mean softmax (nats)"),
    "mutual-information": (_mutual_information, "entropy of the mean minus mean entropy"),
}


def plurality_vote(summary: SampleSummary) -> torch.Tensor:
    """The class most samples pick; ties go to the higher mean softmax."""
    # Adding at most 0.5 cannot overturn a difference of one vote.
    return (summary.votes.double() + 0.5 * summary.mean_probs).argmax(dim=1)


class SamplingSupervisor(Supervisor):
    """Scores from S softmax samples per input, reduced by :attr:`quantifier`."""

    family = "sampling"
    quantifier: ClassVar[str] = ""

    def summary(self, x: torch.Tensor) -> SampleSummary:
        """The S samples of ``x``, summarised (cached)."""
        raise NotImplementedError

    def score_and_predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        summary = self.summary(x)
        return QUANTIFIERS[self.quantifier][0](summary).float(), plurality_vote(summary)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.score_and_predict(x)[0]


class MCDropout(SamplingSupervisor):
    """MC-dropout (Gal & Ghahramani, ICML 2016): S forward passes with dropout active.

    Dropout layers sample masks while batch norm stays in eval mode; the batch is
    replicated at the first dropout layer rather than looping S forward passes (see
    :mod:`~supervisor_testing.supervisors.dropout_sampler`).

    Args:
        samples: S, 100 as in the AmbiGuess study.
        seed: seeds every mask; the same input and seed give the same score in any batch.
        replicate: ``auto``, ``first-dropout`` or ``input`` (where the batch is replicated).
        max_rows: bound on ``S * inputs`` per forward pass (memory).

    Raises:
        InvalidInputError: the model has no dropout layer.
    """

    fit_needs = "nothing"

    def __init__(
        self,
        model: nn.Module,
        *,
        samples: int = 100,
        seed: int = 0,
        replicate: str = "auto",
        max_rows: int = 8192,
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        self.sampler = DropoutSampler(
            model, samples=samples, seed=seed, replicate=replicate, max_rows=max_rows
        )
        self.samples = int(samples)
        self.seed = int(seed)
        self.replicate = replicate
        self.max_rows = int(max_rows)

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "samples": self.samples,
            "seed": self.seed,
            "replicate": self.replicate,
            "max_rows": self.max_rows,
        }

    def summary(self, x: torch.Tensor) -> SampleSummary:
        key = (
            "mc-dropout",
            model_key(self.model),
            self.samples,
            self.seed,
            self.replicate,
            tensor_fingerprint(x),
        )

        def compute() -> SampleSummary:
            images = as_model_input(x)
            if len(images) == 0:
                raise InvalidInputError("cannot score an empty batch")
            device = model_device(self.model)
            return _concat_summaries(
                [
                    summarize_samples(self.sampler.sample_probs(chunk.to(device)))
                    for chunk in images.split(self.batch_size)
                ]
            )

        return shared_cache.get_or_compute(key, compute)


def infer_architecture(model: nn.Module, dataset: Dataset) -> str:
    """The registered architecture whose parameter names and shapes match ``model``'s.

    Raises:
        InvalidInputError: none matches (a user model: pass ``arch=`` or member modules).
    """
    from supervisor_testing.models import architectures, build_model

    wanted = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    channels, height, width = dataset.image_shape
    for name in architectures.names():
        with torch.random.fork_rng(devices=[]):
            try:
                candidate = build_model(
                    name,
                    in_channels=channels,
                    image_size=(height, width),
                    num_classes=dataset.num_classes,
                )
            except Exception:
                continue
        if {k: tuple(v.shape) for k, v in candidate.state_dict().items()} == wanted:
            return name
    raise InvalidInputError(
        f"model {type(model).__name__} matches no registered architecture for "
        f"{channels} x {height} x {width} images and {dataset.num_classes} classes; pass "
        "arch= (a name from `suptest list models`) or members=[trained modules]"
    )


class DeepEnsemble(SamplingSupervisor):
    """Deep ensembles (Lakshminarayanan et al., NeurIPS 2017): members from other seeds.

    The wrapped model is member 0. With ``members=M`` (an int), :meth:`fit` trains members
    1..M-1 on the nominal Dataset with :func:`~supervisor_testing.models.train_model` and
    seeds ``first_seed, first_seed + 1, ...`` (cached on disk like every reference model);
    with ``members=[module, ...]`` those modules join the wrapped model and no fit is needed.

    Args:
        members: ensemble size M including the wrapped model, or the other members.
        arch: architecture of the members (default: the registered one matching ``model``).
        first_seed: training seed of member 1.
        epochs: training epochs of each member (default: the architecture's).
    """

    fit_needs = "ensemble members trained with other seeds"
    requires_fit = True
    # The members are reference models already cached on disk, so a fit only loads them;
    # a second copy in the fitted-supervisor cache would also give each quantifier its own
    # member objects and lose the member outputs the four share (see fit_cache).
    cache_fitted_state = False

    def __init__(
        self,
        model: nn.Module,
        *,
        members: int | Sequence[nn.Module] = 5,
        arch: str | None = None,
        first_seed: int = 1,
        epochs: int | None = None,
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        self.arch = arch
        self.first_seed = int(first_seed)
        self.epochs = epochs
        self.members_: list[nn.Module] | None = None
        self._members_given = not isinstance(members, int)
        if isinstance(members, int) and not isinstance(members, bool):
            if members < 2:
                raise InvalidInputError(f"an ensemble needs at least 2 members, got {members}")
            self.members = members
        else:
            modules = list(members)
            if not modules or not all(isinstance(m, nn.Module) for m in modules):
                raise InvalidInputError(
                    "members must be an int (ensemble size) or a non-empty list of nn.Modules"
                )
            self.members = len(modules) + 1
            self.members_ = [model, *modules]
            self.fitted_ = True

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "members": self.members,
            "arch": self.arch,
            "first_seed": self.first_seed,
            "epochs": self.epochs,
        }

    def fit(self, nominal: Dataset | Corpus | torch.Tensor) -> Self:
        if self._members_given:  # the members came trained; nothing to learn
            return self
        from supervisor_testing.models import train_model

        dataset = require_dataset(nominal, what=self.name)
        arch = self.arch or infer_architecture(self.model, dataset)
        device = model_device(self.model)
        seeds = tuple(range(self.first_seed, self.first_seed + self.members - 1))

        def load() -> list[nn.Module]:
            return [
                train_model(dataset, arch, seed=seed, epochs=self.epochs).module.to(device).eval()
                for seed in seeds
            ]

        # The same module objects for every ensemble supervisor of a run, so that the four
        # quantifiers find one another's member outputs in the cache.
        key = ("ensemble-members", dataset.sha256(), arch, seeds, self.epochs, str(device))
        self.members_ = [self.model, *shared_cache.get_or_compute(key, load)]
        self.fitted_ = True
        return self

    def fitted_state(self) -> dict[str, torch.Tensor]:
        self._check_fitted()
        state: dict[str, torch.Tensor] = {}
        for k, member in enumerate(self.members_[1:], start=1):
            state.update(module_state(f"member{k}", member))
        return state

    def load_fitted_state(self, tensors: Mapping[str, torch.Tensor]) -> None:
        members = [self.model]
        for k in range(1, self.members):
            if not any(name.startswith(f"member{k}.") for name in tensors):
                raise FittedStateError(f"saved ensemble lacks member {k}")
            member = copy.deepcopy(self.model)
            load_module_state(f"member{k}", member, tensors)
            members.append(member.eval())
        self.members_ = members

    def summary(self, x: torch.Tensor) -> SampleSummary:
        assert self.members_ is not None
        key = (
            "ensemble",
            tuple(model_key(m) for m in self.members_),
            tensor_fingerprint(x),
        )

        def compute() -> SampleSummary:
            from supervisor_testing.supervisors.feature.extraction import shared_logits

            images = as_model_input(x)
            if len(images) == 0:
                raise InvalidInputError("cannot score an empty batch")
            # Member 0 is the wrapped model: its logits come from the pass the softmax and
            # feature families share.
            first = shared_logits(self.model, x, batch_size=self.batch_size, plain=self.logits)
            parts = []
            for start in range(0, len(images), self.batch_size):
                chunk = images[start : start + self.batch_size]
                probs = [first[start : start + self.batch_size].softmax(dim=1)]
                for member in self.members_[1:]:
                    was_training = member.training
                    member.eval()
                    try:
                        with torch.no_grad():
                            out = member(chunk.to(model_device(member)))
                    finally:
                        member.train(was_training)
                    probs.append(out.float().cpu().softmax(dim=1))
                parts.append(summarize_samples(torch.stack(probs)))
            return _concat_summaries(parts)

        return shared_cache.get_or_compute(key, compute)


# One registered class per family and quantifier, so each has its own name, aliases and
# catalogue line; they differ only in the quantifier they apply.


@register_supervisor("mc-dropout-variation-ratio", aliases=("mcd-vr",))
class MCDropoutVariationRatio(MCDropout):
    """MC-dropout scored by the variation ratio of the S sampled predictions."""

    name = "mc-dropout-variation-ratio"
    quantifier = "variation-ratio"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("mc-dropout-mean-softmax", aliases=("mcd-msp", "mc-dropout"))
class MCDropoutMeanSoftmax(MCDropout):
    """MC-dropout scored by the negated top class of the mean softmax."""

    name = "mc-dropout-mean-softmax"
    quantifier = "mean-softmax"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("mc-dropout-entropy", aliases=("mcd-pe", "mc-dropout-predictive-entropy"))
class MCDropoutEntropy(MCDropout):
    """MC-dropout scored by the predictive entropy of the mean softmax."""

    name = "mc-dropout-entropy"
    quantifier = "entropy"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("mc-dropout-mutual-information", aliases=("mcd-mi",))
class MCDropoutMutualInformation(MCDropout):
    """MC-dropout scored by the mutual information between prediction and mask."""

    name = "mc-dropout-mutual-information"
    quantifier = "mutual-information"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("deep-ensemble-variation-ratio", aliases=("de-vr", "ensemble-vr"))
class DeepEnsembleVariationRatio(DeepEnsemble):
    """Deep ensemble scored by the variation ratio of the members' predictions."""

    name = "deep-ensemble-variation-ratio"
    quantifier = "variation-ratio"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("deep-ensemble-mean-softmax", aliases=("de-msp", "deep-ensemble"))
class DeepEnsembleMeanSoftmax(DeepEnsemble):
    """Deep ensemble scored by the negated top class of the members' mean softmax."""

    name = "deep-ensemble-mean-softmax"
    quantifier = "mean-softmax"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("deep-ensemble-entropy", aliases=("de-pe", "deep-ensemble-predictive-entropy"))
class DeepEnsembleEntropy(DeepEnsemble):
    """Deep ensemble scored by the predictive entropy of the members' mean softmax."""

    name = "deep-ensemble-entropy"
    quantifier = "entropy"
    score_meaning = QUANTIFIERS[quantifier][1]


@register_supervisor("deep-ensemble-mutual-information", aliases=("de-mi",))
class DeepEnsembleMutualInformation(DeepEnsemble):
    """Deep ensemble scored by the mutual information between prediction and member."""

    name = "deep-ensemble-mutual-information"
    quantifier = "mutual-information"
    score_meaning = QUANTIFIERS[quantifier][1]
