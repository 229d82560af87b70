"""The ``domains`` generator: a nominal source -> a domain-shift corpus.

Every selected source image is realised in every selected domain (the same images in each,
so domains compare paired), keeping its label: the inputs are on topic but drawn in a way
the training data never showed. The corpus records the ``domain`` (categorical), the
``realisation`` (``procedural`` or ``text-guided``) and the ``strength`` of each sample.
Work goes domain by domain in chunks sized to the canvas; each sample's randomness is keyed
by its own identity, so chunking never changes a byte.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from generators.domains.canvas import supersampling
from generators.domains.catalogue import Domain, DomainCatalogue, load_catalogue
from generators.domains.proposals import (
    Proposer,
    check_proposals,
    propose_domains,
    proposed_domains,
)
from generators.domains.rendering import MIN_IMAGE_SIZE, check_strength, render_domain
from supervisor_testing.corpus import ColumnSpec
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.generation import (
    Generator,
    generators,
    row_segments,
    subsample_indices,
)

if TYPE_CHECKING:
    from supervisor_testing.data.dataset import Dataset

__all__ = ["PROMPT_MODES", "REALISATIONS", "DomainGenerator"]

REALISATIONS = ("procedural", "text-guided")
PROMPT_MODES = ("img2img", "text-to-image")

# Canvas values (pixels x supersampling^2) per chunk: the renderers hold a few dozen
# canvas-sized float maps at once, so this keeps a chunk to tens of MB.
_CHUNK_PIXELS = 1 << 19


@generators.register("domains", aliases=("domain-shift", "extrapolated-domains"))
class DomainGenerator(Generator):
    """The same classes drawn in domains the training data never showed.

    Styles, media, environments and sensor renderings from the domain catalogue (plus any
    run-time proposals), realised offline or through a local diffusers pipeline.

    Parameters:
        domains: ``"all"`` (default: the catalogue's and the proposals'), a list or a
            comma-separated string of names.
        strength: in ``[0, 1]``; ``None`` (default) takes each domain's catalogue strength.
            Text-to-image draws from the prompt alone, which is img2img at strength 1: it
            records strength 1 and refuses any other.
        realisation: ``procedural`` (offline renderers) or ``text-guided`` (a diffusers
            pipeline); default: text-guided when ``pipeline`` is set, else procedural.
        pipeline: directory of a saved diffusers pipeline (text-guided only).
        prompt_mode: ``img2img`` (edit the source image, default; a saved text-to-image
            pipeline is rebuilt for it) or ``text-to-image``.
        steps, guidance_scale, resolution: the pipeline's sampling settings
            (``resolution`` ``None``: the pipeline's own).
        class_phrases: how prompts name each class (default: the class names).
        proposed: run-time proposals (see :func:`propose_domains`), stored so the corpus
            rebuilds without the proposer.
        catalogue: path of a catalogue file (default: the shipped one).
        catalogue_sha256: recorded for a custom catalogue; a mismatch is refused.

    ``num_samples`` is the number of source images; the corpus holds that many per domain.
    ``device`` (an attribute, not a parameter: where the pipeline runs, default CUDA when
    available, else the CPU) and ``batch_size`` change no recipe; a pipeline's bytes are
    reproducible on the same device.

    Example:
        >>> DomainGenerator(domains="chalkboard,neon-sign", strength=0.5).domain_names
        ('chalkboard', 'neon-sign')
    """

    name = "domains"
    version = "1"
    kind = "domain-shift"
    defaults = MappingProxyType(
        {
            "domains": "all",
            "strength": None,
            "realisation": None,
            "pipeline": None,
            "prompt_mode": "img2img",
            "steps": 30,
            "guidance_scale": 7.5,
            "resolution": None,
            "class_phrases": None,
            "proposed": [],
            "catalogue": None,
            "catalogue_sha256": None,
        }
    )

    #: Where a text-guided pipeline runs ("cpu", "cuda", ...); ``None``: CUDA when
    #: available, else the CPU. The procedural renderers always run on the CPU.
    device: str | None = None

    @classmethod
    def from_proposer(
        cls, proposer: Proposer, class_names: Sequence[str], **params: Any
    ) -> DomainGenerator:
        """A generator whose parameters hold ``proposer``'s checked proposals for
        ``class_names`` (the proposer is called once, here)."""
        earlier = list(params.pop("proposed", None) or [])
        catalogue = load_catalogue(params.get("catalogue"))
        records = propose_domains(proposer, class_names, catalogue=catalogue)
        return cls(**params, proposed=[*earlier, *records])

    @staticmethod
    def list_domain_entries() -> list[tuple[str, str]]:
        """``(name, "[group] description (renderer, strength)")`` per shipped domain,
        for ``suptest list domains``."""
        catalogue = load_catalogue()
        return [
            (
                d.name,
                f"[{d.group}] {d.description} (renderer {d.renderer}, strength {d.strength:g})",
            )
            for d in catalogue.domains.values()
        ]

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        path = params["catalogue"]
        if path is not None and not isinstance(path, str):
            raise InvalidInputError(f"domains: catalogue must be a file path, got {path!r}")
        base = load_catalogue(path)
        recorded = params["catalogue_sha256"]
        if path is not None and recorded is not None and recorded != base.sha256:
            raise InvalidInputError(
                f"domains: catalogue {path} has changed since this recipe was written "
                f"(sha256 {base.sha256[:12]}, recorded {str(recorded)[:12]}); restore it or "
                f"drop catalogue_sha256 to accept the new file"
            )
        proposed = check_proposals(params["proposed"], base)
        catalogue = base.with_domains(proposed_domains(proposed, base))
        chosen = params["domains"]
        selected = catalogue.select(chosen)
        strength = None if params["strength"] is None else check_strength(params["strength"])
        pipeline = params["pipeline"]
        if pipeline is not None and (not isinstance(pipeline, str) or not pipeline):
            raise InvalidInputError(f"domains: pipeline must be a directory path, got {pipeline!r}")
        realisation = params["realisation"]
        if realisation is None:
            realisation = "text-guided" if pipeline else "procedural"
        if realisation not in REALISATIONS:
            raise InvalidInputError(
                f"domains: realisation must be one of {', '.join(REALISATIONS)}, got "
                f"{realisation!r}"
            )
        if realisation == "procedural":
            if pipeline is not None:
                raise InvalidInputError(
                    "domains: a pipeline is used only by the text-guided realisation; drop "
                    "pipeline or set realisation='text-guided'"
                )
            bare = [d.name for d in selected if d.renderer is None]
            if bare:
                raise InvalidInputError(
                    f"domains: proposed domain {bare[0]!r} has no offline renderer (no "
                    f"catalogue keyword matches it); give it one with like=<catalogue "
                    f"domain>, leave it out of domains, or realise it text-guided"
                )
        else:
            # a missing directory or package is reported before any writing starts
            from generators.domains.text_guided import check_pipeline

            check_pipeline(pipeline)
        if params["prompt_mode"] not in PROMPT_MODES:
            raise InvalidInputError(
                f"domains: prompt_mode must be one of {', '.join(PROMPT_MODES)}, got "
                f"{params['prompt_mode']!r}"
            )
        if realisation == "text-guided" and params["prompt_mode"] == "text-to-image":
            # nothing of the source survives a draw from the prompt alone: it is img2img at
            # strength 1, so that is what the corpus records and the only strength accepted
            if strength not in (None, 1.0):
                raise InvalidInputError(
                    f"domains: text-to-image draws each image from the prompt alone (strength "
                    f"1 by definition), so strength {strength:g} has no effect there; drop "
                    f"strength or use prompt_mode='img2img' to edit the sources"
                )
            strength = 1.0
        for key, low in (("steps", 1), ("resolution", 8)):
            value = params[key]
            if value is None and key == "resolution":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInputError(
                    f"domains: {key} must be an integer >= {low}, got {value!r}"
                )
        guidance = params["guidance_scale"]
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or guidance < 0:
            raise InvalidInputError(
                f"domains: guidance_scale must be a number >= 0, got {guidance!r}"
            )
        phrases = params["class_phrases"]
        if phrases is not None and (
            not isinstance(phrases, (list, tuple))
            or not all(isinstance(p, str) and p.strip() for p in phrases)
        ):
            raise InvalidInputError(
                f"domains: class_phrases must be a list of non-empty strings, one per class, "
                f"got {phrases!r}"
            )
        return {
            **params,
            "domains": "all" if chosen in (None, "all") else [d.name for d in selected],
            "strength": strength,
            "realisation": realisation,
            "guidance_scale": float(guidance),
            "class_phrases": None if phrases is None else list(phrases),
            "proposed": proposed,
            "catalogue_sha256": None if path is None else base.sha256,
        }

    # -- what this generator makes -----------------------------------------------------

    def catalogue(self) -> DomainCatalogue:
        """The catalogue with this generator's proposals added."""
        base = load_catalogue(self._params["catalogue"])
        return base.with_domains(proposed_domains(self._params["proposed"], base))

    @property
    def domains(self) -> tuple[Domain, ...]:
        return self.catalogue().select(self._params["domains"])

    @property
    def domain_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.domains)

    def strength_of(self, domain: Domain) -> float:
        """The strength ``domain`` is realised at."""
        strength = self._params["strength"]
        return domain.strength if strength is None else strength

    def extra_columns(self) -> dict[str, ColumnSpec]:
        return {
            "domain": ColumnSpec("int64", (), categories=self.domain_names),
            "realisation": ColumnSpec("int64", (), categories=REALISATIONS),
            "strength": ColumnSpec("float32"),
        }

    def expected_samples(self, source: Dataset, num_samples: int | None) -> int | None:
        count = len(source) if num_samples is None else num_samples
        return count * len(self.domain_names)

    def _class_phrases(self, source: Dataset) -> list[str]:
        phrases = self._params["class_phrases"]
        if phrases is None:
            return list(source.class_names)
        if len(phrases) != source.num_classes:
            raise InvalidInputError(
                f"domains: class_phrases has {len(phrases)} entries but the source has "
                f"{source.num_classes} classes; give one phrase per class"
            )
        return phrases

    def generate(
        self, source: Dataset, *, seed: int, num_samples: int | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        yield from self._rows(source, seed=seed, num_samples=num_samples, start=0, stop=None)

    def generate_range(
        self, source: Dataset, *, seed: int, num_samples: int | None = None, start: int, stop: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        yield from self._rows(source, seed=seed, num_samples=num_samples, start=start, stop=stop)

    def _rows(
        self, source: Dataset, *, seed: int, num_samples: int | None, start: int, stop: int | None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Rows ``start..stop-1`` (all when ``stop`` is None): domain by domain, each over
        every index; renderers seed per sample, so any slice equals a whole-corpus run."""
        channels, height, width = source.image_shape
        if channels not in (1, 3) or min(height, width) < MIN_IMAGE_SIZE:
            raise InvalidInputError(
                f"domains: the source's images are {channels} x {height} x {width}; the "
                f"renderers need 1 or 3 channels and sides of at least {MIN_IMAGE_SIZE} px"
            )
        domains = self.domains
        phrases = self._class_phrases(source)
        indices = subsample_indices(len(source), num_samples, seed=seed)
        text_guided = self._params["realisation"] == "text-guided"
        realiser = None
        if text_guided:
            from generators.domains.text_guided import TextGuidedRealiser

            realiser = TextGuidedRealiser.load(
                self._params["pipeline"],
                mode=self._params["prompt_mode"],
                steps=self._params["steps"],
                guidance_scale=self._params["guidance_scale"],
                resolution=self._params["resolution"],
                device=self.device,
            )
            chunk = realiser.batch_size
        else:
            factor = supersampling(height, width)
            chunk = max(1, min(self.batch_size, _CHUNK_PIXELS // (height * width * factor**2)))
        realisation_code = REALISATIONS.index(self._params["realisation"])
        sizes = [len(indices)] * len(domains)
        for code, lo, hi in row_segments(sizes, start, sum(sizes) if stop is None else stop):
            domain = domains[code]
            strength = self.strength_of(domain)
            for part in indices[lo:hi].split(chunk):
                labels = source.labels[part]
                images = source.images[part]
                if realiser is not None:
                    prompts = [domain.prompt_for(phrases[int(c)]) for c in labels]
                    out = realiser.realise(
                        images,
                        prompts,
                        strength=strength,
                        seed=seed,
                        indices=part,
                        domain=domain.name,
                    )
                else:
                    out = render_domain(images, domain, strength=strength, seed=seed, indices=part)
                n = len(part)
                yield {
                    "images": out,
                    "labels": labels,
                    "label_probs": F.one_hot(labels, source.num_classes).to(torch.float32),
                    "source_index": part,
                    "domain": torch.full((n,), code, dtype=torch.int64),
                    "realisation": torch.full((n,), realisation_code, dtype=torch.int64),
                    "strength": torch.full((n,), strength, dtype=torch.float32),
                }


DomainGenerator.__module__ = "generators.domains"
