"""Training every class pair's regularized AAE at once, with the acceptance rule and retries.

Each step does what the reference implementation does, in its order, for every pair:

1. reconstruction: encoder and decoder minimise the pixel MSE;
2. discriminator: prior samples ``[z ~ N(mu_c, I), onehot(c)]`` are real, encoded images
   ``[enc(x), onehot(y)]`` fake (binary cross-entropy on logits);
3. generator: the encoder learns to make its codes pass as real.

Losses carry the reference's scaling (the discriminator loss over ``2b``, the generator loss
over ``b``); Adam makes that nearly irrelevant but it keeps the Adam epsilon comparable.
Every random draw (initialisation, shuffles, dropout masks, prior samples) comes from one
:class:`torch.Generator` per try, seeded from the training seed and the try number, so the
weights are a function of data, config and seed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from generators.ambiguous.acceptance import PairReport, passes_acceptance
from generators.ambiguous.class_pairs import class_pairs
from generators.ambiguous.config import PairTrainingConfig
from generators.ambiguous.masked_adam import MaskedAdam
from generators.ambiguous.pair_model import PairAAE
from generators.ambiguous.pair_store import TrainedPairs, load_trained_pairs, pair_models_key
from generators.ambiguous.prior import sample_prior
from generators.ambiguous.reconstruction_loss import sigmoid_mse
from generators.ambiguous.soft_labels import soft_labels
from supervisor_testing.atomic import atomic_directory
from supervisor_testing.data.dataset import Dataset
from supervisor_testing.errors import InvalidInputError, SupervisorTestingError
from supervisor_testing.paths import cache_dir

__all__ = ["class_accuracy", "train_pair_models", "try_seed"]

# Rows per pair when scoring the training images: bounds memory at P x rows x D floats.
_EVAL_ROWS = 2048


def try_seed(seed: int, attempt: int) -> int:
    """The generator seed of try ``attempt`` (0-based) under training seed ``seed``."""
    return int(np.random.SeedSequence([seed, attempt]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _padded(members: Sequence[torch.Tensor], start: int, stop: int) -> tuple[torch.Tensor, ...]:
    """Rows ``start:stop`` of each pair's index list, padded to one width, with sizes."""
    chunks = [m[start:stop] for m in members]
    sizes = torch.tensor([len(c) for c in chunks], dtype=torch.int64)
    width = max(int(sizes.max()), 1)
    index = torch.zeros(len(chunks), width, dtype=torch.int64)
    for p, chunk in enumerate(chunks):
        index[p, : len(chunk)] = chunk
    valid = torch.arange(width)[None, :] < sizes[:, None]
    return index, sizes, valid


@torch.no_grad()
def class_accuracy(
    model: PairAAE, images: torch.Tensor, labels: torch.Tensor, members: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Per pair, the fraction of its training images whose soft label's larger class is
    their true class (the discriminator used as a two-class classifier). float64 ``P``.

    Images are scaled to ``[0, 1]`` as in training (the reference encoded raw 0..255
    pixels here, an oversight this does not copy).
    """
    correct = torch.zeros(model.num_pairs, dtype=torch.float64)
    longest = max(len(m) for m in members)
    for start in range(0, longest, _EVAL_ROWS):
        index, _, valid = _padded(members, start, start + _EVAL_ROWS)
        probs = soft_labels(model, model.encode(images[index]))
        predicted = torch.where(
            probs[..., 1] > probs[..., 0], model.classes[:, 1:2], model.classes[:, 0:1]
        )
        correct += ((predicted == labels[index]) & valid).sum(dim=1)
    return correct / torch.tensor([len(m) for m in members], dtype=torch.float64)


def _train_try(
    images: torch.Tensor,
    labels: torch.Tensor,
    members: Sequence[torch.Tensor],
    classes: torch.Tensor,
    *,
    num_classes: int,
    config: PairTrainingConfig,
    seed: int,
    bar: object | None,
) -> tuple[PairAAE, dict[str, torch.Tensor]]:
    """Train the pairs in ``classes`` once; return the model and each pair's discriminator
    real/fake accuracy under every measure of ``DISC_ACCURACY_MEASURES``."""
    generator = torch.Generator().manual_seed(seed)
    model = PairAAE(classes, input_dim=images.shape[1], num_classes=num_classes, config=config)
    model.reset_parameters(generator)
    encoder = list(model.encoder.parameters())
    decoder = list(model.decoder_mlp.parameters())
    discriminator = list(model.discriminator_mlp.parameters())
    adam = {"lr": config.learning_rate, "eps": config.adam_eps}
    ae_opt = MaskedAdam(encoder + decoder, **adam)
    dc_opt = MaskedAdam(discriminator, **adam)
    gen_opt = MaskedAdam(encoder, **adam)
    batch = config.batch_size
    steps = math.ceil(max(len(m) for m in members) / batch)
    pixels = images.shape[1]
    correct, seen = torch.zeros(model.num_pairs), torch.zeros(model.num_pairs)
    # The reference's figure: a Keras BinaryAccuracy that is never reset (so a running
    # accuracy over all of training), thresholding the logits at 0.5, averaged over the
    # last epoch's batches. Kept beside the last-epoch accuracy so both can be reported.
    run_correct, run_seen = torch.zeros(model.num_pairs), torch.zeros(model.num_pairs)
    ref_sum, ref_batches = torch.zeros(model.num_pairs), torch.zeros(model.num_pairs)
    for epoch in range(config.epochs):
        order = [m[torch.randperm(len(m), generator=generator)] for m in members]
        last_epoch = epoch == config.epochs - 1
        if last_epoch:
            correct, seen = torch.zeros(model.num_pairs), torch.zeros(model.num_pairs)
        for step in range(steps):
            index, sizes, valid = _padded(order, step * batch, (step + 1) * batch)
            active = sizes > 0
            inv_b = 1.0 / sizes.clamp(min=1).to(torch.float32)
            x, y = images[index], labels[index]
            mask = valid.to(torch.float32)

            # 1. reconstruction (mean squared error over the pair's real rows and pixels)
            logits = model.decoder_mlp(model.encode(x, generator), generator)
            per_pair = sigmoid_mse(logits, x, mask * (inv_b / pixels)[:, None])
            ae_opt.step(torch.autograd.grad(per_pair.sum(), encoder + decoder), active)

            # The encoder's first layer is the same for steps 2 and 3 (only the
            # discriminator changes in between); compute it once, draw fresh masks for each.
            hidden = model.encoder.first_layer(x)

            # 2. discriminator: prior samples are real, codes of images fake
            with torch.no_grad():
                fake_z = model.encoder.rest(hidden.detach(), generator)
            real_z, real_y = sample_prior(
                sizes, model.classes, config, width=x.shape[1], generator=generator
            )
            real = model.discriminate(real_z, real_y, generator)
            fake = model.discriminate(fake_z, y, generator)
            loss_real = (F.softplus(-real) * mask).sum(dim=1) * inv_b
            loss_fake = (F.softplus(fake) * mask).sum(dim=1) * inv_b
            dc_loss = ((loss_real + loss_fake) * inv_b / 2).sum()
            dc_opt.step(torch.autograd.grad(dc_loss, discriminator), active)
            # "last-epoch": a logit of 0 (p = 0.5) decides, over the last epoch only.
            # "reference": a logit of 0.5 decides (the reference's metric compared logits
            # with 0.5), running since the first step.
            with torch.no_grad():
                run_correct += (
                    ((real > 0.5) & valid).sum(1) + ((fake <= 0.5) & valid).sum(1)
                ).float()
                run_seen += 2 * sizes.float()
                if last_epoch:
                    correct += (((real > 0) & valid).sum(1) + ((fake <= 0) & valid).sum(1)).float()
                    seen += 2 * sizes.float()
                    ref_sum += torch.where(active, run_correct / run_seen.clamp(min=1), 0.0)
                    ref_batches += active.float()

            # 3. generator: the encoder tries to pass its codes off as prior samples
            fooled = model.discriminate(model.encoder.rest(hidden, generator), y, generator)
            gen_loss = ((F.softplus(-fooled) * mask).sum(dim=1) * inv_b * inv_b).sum()
            gen_opt.step(torch.autograd.grad(gen_loss, encoder), active)
        if bar is not None:
            bar.update(1)  # type: ignore[attr-defined]
    last = (correct / seen.clamp(min=1)).to(torch.float64)
    reference = (ref_sum / ref_batches.clamp(min=1)).to(torch.float64)
    return model.eval(), {"last-epoch": last, "reference": reference}


def _save_progress(directory: Path, final: PairAAE, state: dict[str, Any]) -> None:
    """Keep the models and bookkeeping after a try, so that an interrupted training
    resumes with the next try (written beside, then swapped in)."""
    from safetensors.torch import save_file

    with atomic_directory(directory) as tmp:
        tensors = {k: v.contiguous() for k, v in final.state_dict().items()}
        save_file(tensors, str(tmp / "pairs.safetensors"))
        (tmp / "progress.json").write_text(json.dumps(state, sort_keys=True), encoding="utf-8")


def _load_progress(directory: Path, final: PairAAE) -> dict[str, Any] | None:
    """The bookkeeping of an interrupted training (loading its models into ``final``)."""
    from safetensors.torch import load_file

    try:
        state = json.loads((directory / "progress.json").read_text(encoding="utf-8"))
        final.load_state_dict(load_file(str(directory / "pairs.safetensors")))
    except Exception:  # absent or unreadable: start from the first try
        return None
    return state


def _fewer_tries_run(
    root: Path,
    dataset_sha256: str,
    pairs: Sequence[tuple[int, int]],
    config: PairTrainingConfig,
    *,
    seed: int,
) -> TrainedPairs | None:
    """The cached run of the same training with the most tries below ``config.max_tries``.

    Tries are seeded by their number and a try trains only the pairs still rejected, so
    the first ``k`` tries of a longer run are exactly a ``k``-try run: raising
    ``max_tries`` can go on from such a run instead of repeating its tries.
    """
    best: TrainedPairs | None = None
    for tries in range(config.max_tries - 1, 0, -1):
        shorter = dataclasses.replace(config, max_tries=tries)
        directory = root / pair_models_key(dataset_sha256, pairs, shorter, seed=seed)
        if directory.is_dir():
            try:
                best = load_trained_pairs(directory)
            except SupervisorTestingError:
                continue
            break
    return best


def _seed_progress(partial: Path, earlier: TrainedPairs) -> None:
    """Write ``earlier``'s models, reports and training time as the progress of an
    interrupted longer training that has finished ``earlier.config.max_tries`` tries."""
    reports = earlier.reports
    state = {
        "next_try": earlier.config.max_tries,
        "tries": [r.tries for r in reports],
        "disc_acc": [r.disc_accuracy for r in reports],
        "disc_accs": [dict(r.disc_accuracies) for r in reports],
        "class_acc": [r.class_accuracy for r in reports],
        "accepted": [r.accepted for r in reports],
        "pending": [i for i, r in enumerate(reports) if not r.accepted],
        "seconds": float(earlier.train_seconds or 0.0),
    }
    _save_progress(partial, earlier.model, state)


def _fit_pairs(
    dataset: Dataset,
    pairs: Sequence[tuple[int, int]],
    config: PairTrainingConfig,
    *,
    seed: int,
    progress: bool,
    resume: Path | None = None,
) -> tuple[PairAAE, tuple[PairReport, ...], float]:
    """Train ``pairs`` with retries; the models, their reports and the training seconds
    (those of the finished tries an interrupted run saved included)."""
    start = time.perf_counter()
    images = dataset.images.reshape(len(dataset), -1).float().div_(255.0)
    labels = dataset.labels
    all_members = [torch.nonzero((labels == a) | (labels == b)).squeeze(1) for a, b in pairs]
    classes = torch.tensor(pairs, dtype=torch.int64)
    final = PairAAE(
        classes, input_dim=images.shape[1], num_classes=dataset.num_classes, config=config
    )
    state: dict[str, Any] = {
        "next_try": 0,
        "tries": [0] * len(pairs),
        "disc_acc": [0.0] * len(pairs),
        "disc_accs": [{} for _ in pairs],
        "class_acc": [0.0] * len(pairs),
        "accepted": [False] * len(pairs),
        "pending": list(range(len(pairs))),
        "seconds": 0.0,
    }
    if resume is not None:
        state = _load_progress(resume, final) or state
    tries, disc_acc, class_acc = state["tries"], state["disc_acc"], state["class_acc"]
    # progress saved before every measure was recorded: the judged one is known
    disc_accs = state.setdefault("disc_accs", [{config.disc_accuracy_measure: a} for a in disc_acc])
    accepted, pending = state["accepted"], state["pending"]
    earlier_seconds = float(state.get("seconds", 0.0))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, unit="epoch")
    try:
        for attempt in range(state["next_try"], config.max_tries):
            if not pending:
                break
            if bar is not None:
                bar.reset(total=config.epochs)
                bar.set_description(
                    f"training {len(pending)} pair models (try {attempt + 1}/{config.max_tries})"
                )
            members = [all_members[i] for i in pending]
            model, dc = _train_try(
                images,
                labels,
                members,
                classes[pending],
                num_classes=dataset.num_classes,
                config=config,
                seed=try_seed(seed, attempt),
                bar=bar,
            )
            ca = class_accuracy(model, images, labels, members)
            final.assign(pending, model)
            still = []
            for j, i in enumerate(pending):
                tries[i] = attempt + 1
                disc_accs[i] = {name: float(values[j]) for name, values in dc.items()}
                disc_acc[i] = disc_accs[i][config.disc_accuracy_measure]
                class_acc[i] = float(ca[j])
                accepted[i] = passes_acceptance(disc_acc[i], class_acc[i], config)
                if not accepted[i]:
                    still.append(i)
            pending = still
            if resume is not None and pending and attempt + 1 < config.max_tries:
                seconds = earlier_seconds + time.perf_counter() - start
                state.update(next_try=attempt + 1, pending=pending, seconds=seconds)
                _save_progress(resume, final, state)
    finally:
        if bar is not None:
            bar.close()
    reports = tuple(
        PairReport(
            pair,
            tries[i],
            disc_acc[i],
            class_acc[i],
            accepted[i],
            tuple(sorted(disc_accs[i].items())),
        )
        for i, pair in enumerate(pairs)
    )
    return final.eval(), reports, earlier_seconds + time.perf_counter() - start


def train_pair_models(
    dataset: Dataset,
    *,
    config: PairTrainingConfig | None = None,
    seed: int = 0,
    pairs: Sequence[Sequence[int]] | None = None,
    progress: bool = False,
    cache: bool = True,
) -> TrainedPairs:
    """Train (or load from the cache) one regularized AAE per class pair of ``dataset``.

    Each pair's model sees only the training images of its two classes, pixels scaled to
    ``[0, 1]`` and flattened. A model that fails the acceptance rule is retrained with the
    next try's seed, up to ``config.max_tries`` times; pairs that never pass are kept but
    marked (``TrainedPairs.rejected_pairs``) and a warning names them.

    Args:
        dataset: the training split (any ``C x H x W``; flattened for the dense networks).
        config: hyper-parameters (the reference implementation's by default).
        seed: the training seed.
        pairs: the class pairs to train; every pair by default.
        progress: show a progress bar per try.
        cache: look up and store the models under ``cache_dir("ambiguous", key)``; an
            interrupted training resumes from its last finished try.

    Raises:
        InvalidInputError: fewer than two classes, or a pair with too few images.
    """
    config = config or PairTrainingConfig()
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, got {seed!r}")
    chosen = class_pairs(dataset.labels, dataset.class_names, pairs)
    key = pair_models_key(dataset.sha256(), chosen, config, seed=seed)
    target = cache_dir("ambiguous", create=True) / key if cache else None
    if target is not None and target.is_dir():
        try:
            return load_trained_pairs(target)
        except SupervisorTestingError as exc:
            warnings.warn(f"retraining cached pair models at {target}: {exc}", stacklevel=2)
    # Progress after each try is kept beside the cache entry: an interrupted training
    # resumes with its next try and ends with the same weights as an uninterrupted one.
    partial = target.with_name(f"{target.name}.partial") if target is not None else None
    if partial is not None and not partial.is_dir():
        earlier = _fewer_tries_run(target.parent, dataset.sha256(), chosen, config, seed=seed)
        if earlier is not None:
            _seed_progress(partial, earlier)
    with torch.random.fork_rng(devices=[]):  # nothing here may draw from the global RNG
        model, reports, seconds = _fit_pairs(
            dataset, chosen, config, seed=seed, progress=progress, resume=partial
        )
    trained = TrainedPairs(
        model=model,
        reports=reports,
        config=config,
        seed=seed,
        input_shape=dataset.image_shape,
        class_names=tuple(dataset.class_names),
        dataset_sha256=dataset.sha256(),
        train_seconds=round(seconds, 3),
        path=target,
    )
    rejected = trained.rejected_pairs
    if rejected:
        names = ", ".join(f"{a}-{b}" for a, b in rejected)
        warnings.warn(
            f"{len(rejected)} pair model(s) failed the acceptance rule in all "
            f"{config.max_tries} tries and yield no samples: {names}",
            stacklevel=2,
        )
    if target is not None:
        trained.save(target)
    if partial is not None:
        shutil.rmtree(partial, ignore_errors=True)
    return trained
