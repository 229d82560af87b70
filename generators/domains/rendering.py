"""``render_domain``: one domain at one strength on a batch; the functional core the
generator and the tests share.

Contract of every offline renderer:

* works on uint8 ``N x C x H x W`` with C = 1 or 3 and sides of 8 px or more, and returns
  the same shape and dtype (grey inputs get the rendering's luminance);
* draws every random choice for a sample from ``(seed, source index, domain)``, so a
  sample's rendering does not depend on its batch, and the strength changes the amount
  of the domain, not the draws;
* ``strength`` lies in ``[0, 1]``; 0 returns the input unchanged (exactly), small
  strengths stay near it (structural parameters start at their identity values, and the
  rendering is blended with the input up to strength :data:`FADE_IN`, so the change at
  strength s < 0.2 is at most s / 0.2 of full scale), 1 is the strongest rendering.

Example:
    >>> import torch
    >>> digits = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    >>> digits[:, :, 6:22, 12:16] = 255
    >>> render_domain(digits, "chalkboard", strength=0.0).equal(digits)
    True
    >>> render_domain(digits, "neon-sign", seed=1).shape
    torch.Size([2, 1, 28, 28])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from generators.domains.canvas import finish_canvas, make_canvas
from generators.domains.catalogue import Domain, DomainCatalogue, load_catalogue
from generators.domains.randomness import DomainRandomness
from generators.domains.renderers import get_renderer
from supervisor_testing.errors import InvalidInputError

__all__ = ["FADE_IN", "MIN_IMAGE_SIZE", "check_images", "check_strength", "render_domain"]

#: Smallest side (px) the renderers accept.
MIN_IMAGE_SIZE = 8

#: Strength at which the rendering has fully replaced the input; below it the rendering
#: is blended with the input in proportion.
FADE_IN = 0.2


def check_images(images: torch.Tensor) -> None:
    """Raise unless ``images`` is uint8 ``N x C x H x W`` with C in (1, 3), sides >= 8."""
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        dtype = images.dtype if isinstance(images, torch.Tensor) else ""
        raise InvalidInputError(
            f"domain rendering needs uint8 images N x C x H x W, got {dtype} {shape}"
        )
    channels, height, width = images.shape[1:]
    if channels not in (1, 3):
        raise InvalidInputError(
            f"domain rendering works on grey (C = 1) or RGB (C = 3) images, got C = {channels}"
        )
    if min(height, width) < MIN_IMAGE_SIZE:
        raise InvalidInputError(
            f"domain rendering needs images of at least {MIN_IMAGE_SIZE} x {MIN_IMAGE_SIZE} "
            f"px, got {height} x {width}"
        )


def check_strength(strength: object) -> float:
    """``strength`` as a float in ``[0, 1]``; anything else raises."""
    if (
        isinstance(strength, bool)
        or not isinstance(strength, (int, float))
        or not math.isfinite(strength)
        or not 0 <= strength <= 1
    ):
        raise InvalidInputError(f"strength must be a number in [0, 1], got {strength!r}")
    return float(strength)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread for the duration.

    A rendering is a few hundred small elementwise ops on canvases of a few thousand
    pixels; splitting each across threads costs more than it saves. Measured on 2 shared
    cores with 64 MNIST digits x 29 domains: 0.85 ms CPU (2.6 ms wall) per image and
    domain on one thread, 10 ms CPU (31 ms wall) on two. Results do not depend on it.
    """
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def render_domain(
    images: torch.Tensor,
    domain: str | Domain,
    *,
    strength: float | None = None,
    seed: int = 0,
    indices: Sequence[int] | torch.Tensor | None = None,
    catalogue: DomainCatalogue | None = None,
) -> torch.Tensor:
    """Render ``images`` in ``domain`` with its offline renderer.

    Args:
        images: uint8 ``N x C x H x W``, C = 1 or 3, sides of 8 px or more.
        domain: a catalogue name or a :class:`Domain`.
        strength: in ``[0, 1]``; ``None`` takes the domain's default.
        seed: the corpus seed.
        indices: each image's index in its source data set (``0..N-1`` by default); with
            ``seed`` and the domain, it keys the image's random choices.
        catalogue: where names are looked up (the shipped catalogue by default).

    Returns:
        uint8 images of the input's shape.

    Raises:
        UnknownNameError: ``domain`` is not in the catalogue.
        InvalidInputError: bad images, strength or indices, or a proposed domain without
            an offline renderer.
    """
    check_images(images)
    if not isinstance(domain, Domain):
        domain = (catalogue or load_catalogue()).get(domain)
    value = domain.strength if strength is None else check_strength(strength)
    if domain.renderer is None:
        raise InvalidInputError(
            f"domain {domain.name!r} has no offline renderer (no catalogue keyword matches "
            f"it); give it one with like=<catalogue domain> or realise it text-guided"
        )
    n = int(images.shape[0])
    if indices is None:
        keys = list(range(n))
    else:
        keys = [
            int(i) for i in (indices.tolist() if isinstance(indices, torch.Tensor) else indices)
        ]
        if len(keys) != n:
            raise InvalidInputError(f"got {len(keys)} indices for {n} images")
    if value == 0.0 or n == 0:
        return images.clone()
    function = get_renderer(domain.renderer).load()
    with torch.no_grad(), _one_thread():
        canvas = make_canvas(images)
        rng = DomainRandomness(seed, keys, domain.name)
        drawn = function(canvas, value, rng, **dict(domain.options))
        drawn = finish_canvas(drawn, factor=canvas.factor, channels=int(images.shape[1]))
        # the new surface and palette fade in over the first part of the strength range,
        # blended at image resolution so that a small strength stays near the input
        amount = min(1.0, value / FADE_IN)
        source = images.to(torch.float32) / 255.0
        out = source + amount * (drawn - source)
    return (out * 255.0).round_().clamp_(0, 255).to(torch.uint8)
