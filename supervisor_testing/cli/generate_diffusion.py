"""`suptest generate diffusion`: SDEdit / CODE edits of a nominal corpus."""

from __future__ import annotations

from pathlib import Path

import click

from supervisor_testing.cli.options import build_from_corpus


@click.command("diffusion")
@click.option("--corpus", "corpus_spec", required=True,
              help="Nominal CORPUS to edit: a corpus directory or a recipe name.")  # fmt: skip
@click.option("--method", default="sdedit", show_default=True,
              help="sdedit, code, or both as sdedit,code.")  # fmt: skip
@click.option("--strength", "strengths", default="0.3,0.5,0.7", show_default=True,
              help="Comma-separated strengths in [0, 1] (SDEdit t0/T, CODE depth).")  # fmt: skip
@click.option("--pipeline", type=click.Path(path_type=Path), default=None,
              help="Local diffusers directory (pipeline or UNet); default: the model "
                   "shipped or trained for the source data set.")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=1), default=50, show_default=True,
              help="DDIM grid over T; an edit runs about strength x steps.")  # fmt: skip
@click.option("--eta", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="SDEdit: 1 stochastic, 0 deterministic ODE decode.")  # fmt: skip
@click.option("--conditional/--unconditional", default=True, show_default=True,
              help="Condition a class-conditional model on the source label.")  # fmt: skip
@click.option("--prompt", default="a photo of a {class}", show_default=True,
              help="Stable-Diffusion pipelines: prompt template ({class} = class name; "
                   "'' for none).")  # fmt: skip
@click.option("--guidance-scale", type=click.FloatRange(min=0), default=7.5, show_default=True,
              help="Stable-Diffusion pipelines: classifier-free guidance scale.")  # fmt: skip
@click.option("--oracle", default="resnet", show_default=True,
              help="Independent classifier for oracle_probs: architecture, saved model "
                   "directory or package.module:factory.")  # fmt: skip
@click.option("--label-from", type=click.Choice(["source", "oracle"]), default="source",
              show_default=True, help="Where labels and label_probs come from.")  # fmt: skip
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Seeded subsample of source images; each appears in every cell.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing corpus at --out.")
@click.pass_context
def generate_diffusion(
    ctx: click.Context,
    corpus_spec: str,
    method: str,
    strengths: str,
    pipeline: Path | None,
    steps: int,
    eta: float,
    conditional: bool,
    prompt: str,
    guidance_scale: float,
    oracle: str,
    label_from: str,
    samples: int | None,
    seed: int,
    out: Path,
    overwrite: bool,
) -> None:
    """Edit every image of CORPUS with each method at each strength."""
    # Maps the flags onto the `diffusion` generator's parameters and Generator.build.
    from supervisor_testing.generation import create_generator

    generator = create_generator(
        "diffusion",
        method=method,
        strengths=strengths,
        pipeline=None if pipeline is None else str(pipeline),
        steps=steps,
        eta=eta,
        conditional=conditional,
        prompt=prompt,
        guidance_scale=guidance_scale,
        oracle=oracle,
        label_from=label_from,
    )
    built, _ = build_from_corpus(
        ctx, generator, corpus_spec, out=out, seed=seed, samples=samples, overwrite=overwrite
    )
    model = generator.model  # type: ignore[attr-defined]
    click.echo(f"{built.name}: {len(built)} samples ({len(generator.cells())} method x "  # type: ignore[attr-defined]
               f"strength cells) in {built.path}; model: {model.describe()}")  # fmt: skip
