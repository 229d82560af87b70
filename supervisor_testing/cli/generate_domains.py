"""`suptest generate domains`: an extrapolated-domain corpus from a nominal corpus."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.executor_options import (
    ExecutorSpec,
    executor_options,
    shard_size_option,
)
from supervisor_testing.cli.options import build_from_corpus


@click.command("domains")
@click.option("--corpus", "corpus_spec", required=True,
              help="Nominal CORPUS to re-depict: a corpus directory or a recipe name.")  # fmt: skip
@click.option("--domains", default="all", show_default=True,
              help="'all' or comma-separated domain names (`suptest list domains`).")  # fmt: skip
@click.option("--strength", type=click.FloatRange(0, 1), default=None,
              help="Rendering strength in [0, 1]; with --pipeline, how far into the noise "
                   "schedule the img2img edit starts (0 keeps the source). Text-to-image is "
                   "strength 1 by definition and refuses others [default: each domain's "
                   "catalogue strength].")  # fmt: skip
@click.option("--pipeline", type=click.Path(path_type=Path), default=None,
              help="Directory of a saved diffusers pipeline: realise the domains' text "
                   "prompts with it instead of the offline renderers.")  # fmt: skip
@click.option("--prompt-mode", type=click.Choice(["img2img", "text-to-image"]),
              default="img2img", show_default=True,
              help="With --pipeline: edit each source image (a text-to-image pipeline is "
                   "rebuilt for it), or draw from the prompt alone.")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=1), default=30, show_default=True,
              help="With --pipeline: denoising steps (img2img runs about steps x strength "
                   "of them, at least one).")  # fmt: skip
@click.option("--guidance-scale", type=click.FloatRange(min=0), default=7.5, show_default=True,
              help="With --pipeline: classifier-free guidance weight of the prompt.")  # fmt: skip
@click.option("--device", default=None,
              help="With --pipeline: torch device it runs on, e.g. cpu or cuda "
                   "[default: cuda when available, else cpu].")  # fmt: skip
@click.option("--catalogue", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A domain catalogue TOML file [default: the shipped one].")  # fmt: skip
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Seeded subsample of source images; each appears in every domain.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at --out.")
@executor_options
@shard_size_option
@click.pass_context
def generate_domains(
    ctx: click.Context,
    corpus_spec: str,
    domains: str,
    strength: float | None,
    pipeline: Path | None,
    prompt_mode: str,
    steps: int,
    guidance_scale: float,
    device: str | None,
    catalogue: Path | None,
    samples: int | None,
    seed: int,
    out: Path,
    overwrite: bool,
    executor_spec: ExecutorSpec,
    shard_size: int,
) -> None:
    """Draw every image of CORPUS in each domain, keeping its label."""
    # Maps the flags onto the `domains` generator's parameters and Generator.build.
    from supervisor_testing.generation import create_generator

    generator = create_generator(
        "domains",
        domains=domains,
        strength=strength,
        pipeline=None if pipeline is None else str(pipeline),
        prompt_mode=prompt_mode,
        steps=steps,
        guidance_scale=guidance_scale,
        catalogue=None if catalogue is None else str(catalogue),
    )
    if device is not None:
        from generators.domains.text_guided import resolve_device

        resolve_device(device)  # an unknown or absent device fails before any work starts
        generator.device = device  # type: ignore[attr-defined]
    built, _ = build_from_corpus(
        ctx,
        generator,
        corpus_spec,
        out=out,
        seed=seed,
        samples=samples,
        overwrite=overwrite,
        executor_spec=executor_spec,
        shard_size=shard_size,
    )
    count = len(generator.domain_names)  # type: ignore[attr-defined]
    realisation = generator.params["realisation"]
    click.echo(f"{built.name}: {len(built)} samples ({count} domains, {realisation}) in "
               f"{built.path}")  # fmt: skip
