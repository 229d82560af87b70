"""Gradient-weighted density sampling of ambiguous latent points (AmbiGuess, Sec. 3).

The band between the two prior clusters is cut into a ``G x G`` grid. Each cell is weighted
by how fast the decoded image changes at its centre, ``||d/dz sum(dec(z)^2)||``: where the
decoder moves quickly the images differ most, so sampling there gives diverse images
rather than many near-copies from flat regions. Cells whose centre is clearly one class
(``|p1 - p2| > max_label_diff``) weigh nothing. Cells are drawn by weight, a point uniformly
inside each, and a point is kept only if its own soft label is ambiguous
(``|p1 - p2| < max_label_diff``); a pair gives up after ``100 n`` candidates.

Grid bounds follow the reference implementation: on an axis where the two class means
differ the grid spans ``[mu1 + 2 s, mu2 - 2 s]`` (``[-1, 1]`` for the default prior), on
an axis where they coincide ``mu ± 5 s``. Unlike the reference, which mapped a drawn cell's
flat index to its centre with the axes swapped, a cell is drawn with its own weight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from generators.ambiguous.config import PairTrainingConfig
from generators.ambiguous.pair_model import PairAAE
from generators.ambiguous.soft_labels import soft_labels
from supervisor_testing.errors import InvalidInputError

__all__ = [
    "GIVE_UP_FACTOR",
    "DensitySampler",
    "cell_gradient_norms",
    "grid_axes",
    "grid_centres",
]

#: Half-width, in prior standard deviations, of an axis on which the means coincide.
SPAN_IN_STD = 5.0
#: Margin, in standard deviations, kept from each class mean on the axis joining them.
MARGIN_IN_STD = 2.0
#: A pair stops after this many candidates per requested sample.
GIVE_UP_FACTOR = 100
# Cells per chunk when computing gradients: bounds memory at P x chunk x D floats.
_GRADIENT_CHUNK = 512


def grid_axes(config: PairTrainingConfig, grid_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell centres along each latent axis (``G`` each) and the cell size ``(w0, w1)``."""
    (m1x, m1y), (m2x, m2y) = config.prior_means
    s = config.prior_std
    centres, sizes = [], []
    for a, b in ((m1x, m2x), (m1y, m2y)):
        if a == b:
            low, high = a - SPAN_IN_STD * s, a + SPAN_IN_STD * s
        else:
            low, high = min(a, b) + MARGIN_IN_STD * s, max(a, b) - MARGIN_IN_STD * s
        size = (high - low) / grid_size
        centres.append(torch.linspace(low + size / 2, high - size / 2, grid_size))
        sizes.append(size)
    return torch.stack(centres), torch.tensor(sizes, dtype=torch.float32)


def grid_centres(config: PairTrainingConfig, grid_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres of the ``G²`` cells (``G² x 2``; cell ``i * G + j`` is axis-0 centre ``i``
    and axis-1 centre ``j``) and the cell size."""
    axes, size = grid_axes(config, grid_size)
    return torch.cartesian_prod(axes[0], axes[1]), size


def cell_gradient_norms(
    model: PairAAE, centres: torch.Tensor, *, progress: bool = False
) -> torch.Tensor:
    """float64 ``P x G²``: ``||d/dz sum(dec(z)^2)||`` of every pair at every centre.

    The costliest part of preparing to sample (a decoder forward and backward pass per
    cell and pair), so :class:`~generators.ambiguous.pair_store.TrainedPairs` keeps the
    result beside the weights. ``progress`` shows a bar over the cells, since with many
    pairs this takes long enough to look like a hang.
    """
    from tqdm.auto import tqdm

    pairs = model.num_pairs
    norms = []
    with tqdm(
        total=len(centres), desc="density grid", unit="cell", disable=not progress, leave=False
    ) as bar:
        for chunk in centres.split(_GRADIENT_CHUNK):
            z = chunk.expand(pairs, -1, -1).clone().requires_grad_(True)
            with torch.enable_grad():
                energy = model.decode(z).square().sum()
                (grad,) = torch.autograd.grad(energy, z)
            norms.append(torch.linalg.vector_norm(grad.double(), dim=-1))
            bar.update(len(chunk))
    return torch.cat(norms, dim=1)


class DensitySampler:
    """Per-pair cell weights over the ambiguous band, and seeded draws of latent points.

    Args:
        model: the pair models to sample from (used in inference mode).
        config: their hyper-parameters (the prior fixes the grid bounds).
        grid_size: cells per axis (the reference uses 50).
        gradient_norms: :func:`cell_gradient_norms` of ``model``, if already known.
    """

    def __init__(
        self,
        model: PairAAE,
        config: PairTrainingConfig,
        *,
        grid_size: int = 50,
        gradient_norms: torch.Tensor | None = None,
    ) -> None:
        if not isinstance(grid_size, int) or isinstance(grid_size, bool) or grid_size < 1:
            raise InvalidInputError(f"grid_size must be a positive int, got {grid_size!r}")
        self.model = model.eval()
        self.grid_size = grid_size
        self.centres, self.cell_size = grid_centres(config, grid_size)
        if gradient_norms is None:
            gradient_norms = cell_gradient_norms(model, self.centres)
        if gradient_norms.shape != (model.num_pairs, grid_size**2):
            raise InvalidInputError(
                f"gradient_norms must be {model.num_pairs} x {grid_size**2}, got "
                f"{tuple(gradient_norms.shape)}"
            )
        self.gradient_norms = gradient_norms.to(torch.float64)  # P x G²
        z = self.centres.expand(model.num_pairs, -1, -1)
        self.centre_labels = soft_labels(model, z)  # P x G² x 2

    def cell_weights(self, max_label_diff: float) -> torch.Tensor:
        """float64 ``P x G²``: gradient norms, zero where the centre is not ambiguous."""
        gap = (self.centre_labels[..., 0] - self.centre_labels[..., 1]).abs()
        return torch.where(gap > max_label_diff, 0.0, self.gradient_norms)

    def draw(
        self,
        counts: Sequence[int],
        *,
        max_label_diff: float,
        rngs: Sequence[np.random.Generator],
        accept: Callable[[torch.Tensor, np.ndarray], np.ndarray] | None = None,
        on_accept: Callable[[int], object] | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[bool]]:
        """Draw up to ``counts[p]`` ambiguous latent points for each pair ``p``.

        Args:
            counts: samples wanted per pair.
            max_label_diff: keep points with ``|p1 - p2| < max_label_diff``.
            rngs: one generator per pair; each pair's draws depend on its own only.
            accept: a further test of the candidates inside the band: called with the
                ``P x W x 2`` latent points and a bool ``P x W`` array marking those to
                judge, it returns a bool ``P x W`` array. Candidates it rejects count
                against the pair's budget like those outside the band.
            on_accept: called with the number of points kept after each round of
                candidates (for a progress bar); it does not touch the random streams.

        Returns:
            Per pair: latent points ``n_p x 2`` (float32), their soft labels ``n_p x 2``
            and whether the pair gave up short of its count.
        """
        pairs = self.model.num_pairs
        if len(counts) != pairs or len(rngs) != pairs:
            raise InvalidInputError(f"need one count and one rng per pair ({pairs})")
        weights = self.cell_weights(max_label_diff).numpy()
        kept_z: list[list[np.ndarray]] = [[] for _ in range(pairs)]
        kept_p: list[list[np.ndarray]] = [[] for _ in range(pairs)]
        have = [0] * pairs
        attempts = [0] * pairs
        budget = [GIVE_UP_FACTOR * int(n) for n in counts]
        usable = [float(w.sum()) > 0 for w in weights]
        centres = self.centres.numpy().astype(np.float64)
        size = self.cell_size.numpy().astype(np.float64)
        while True:
            batches: list[np.ndarray] = []
            for p in range(pairs):
                missing = counts[p] - have[p]
                if missing <= 0 or not usable[p] or attempts[p] >= budget[p]:
                    batches.append(np.empty((0, 2)))
                    continue
                # Oversample: most points in an ambiguous cell are ambiguous themselves. A
                # further test may reject most of them: then oversample by its pass rate.
                want = 2 * missing
                if accept is not None and attempts[p]:
                    want = int(np.ceil(want * attempts[p] / max(have[p], 1)))
                k = min(max(want, 16), budget[p] - attempts[p])
                cells = rngs[p].choice(len(centres), size=k, p=weights[p] / weights[p].sum())
                offsets = rngs[p].random((k, 2)) - 0.5
                batches.append(centres[cells] + offsets * size)
                attempts[p] += k
            width = max(len(b) for b in batches)
            if width == 0:
                break
            z = torch.zeros(pairs, width, 2)
            for p, b in enumerate(batches):
                z[p, : len(b)] = torch.from_numpy(b)
            probs = soft_labels(self.model, z).numpy()
            in_band = np.abs(probs[..., 0] - probs[..., 1]) < max_label_diff
            for p, b in enumerate(batches):
                in_band[p, len(b) :] = False  # padding
            if accept is not None:
                in_band &= accept(z, in_band)
            for p, b in enumerate(batches):
                if not len(b):
                    continue
                pr = probs[p, : len(b)]
                ok = in_band[p, : len(b)]
                take = min(int(ok.sum()), counts[p] - have[p])
                kept_z[p].append(z[p, : len(b)].numpy()[ok][:take])
                kept_p[p].append(pr[ok][:take])
                have[p] += take
                if on_accept is not None and take:
                    on_accept(take)
        out_z, out_p = [], []
        for p in range(pairs):
            zs = np.concatenate(kept_z[p]) if kept_z[p] else np.empty((0, 2), np.float32)
            ps = np.concatenate(kept_p[p]) if kept_p[p] else np.empty((0, 2), np.float32)
            out_z.append(torch.from_numpy(zs.astype(np.float32)))
            out_p.append(torch.from_numpy(ps.astype(np.float32)))
        return out_z, out_p, [have[p] < counts[p] for p in range(pairs)]
