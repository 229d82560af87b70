"""Option types and helpers shared by the command modules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from supervisor_testing.cli.executor_options import ExecutorSpec
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data import Dataset
    from supervisor_testing.generation import Generator

__all__ = ["OPEN_UNIT", "OutputPath", "build_from_corpus", "show_progress"]

#: a rate or level strictly between 0 and 1.
OPEN_UNIT = click.FloatRange(0, 1, min_open=True, max_open=True)


class OutputPath(click.Path):
    """A path a command writes, checked before any work starts.

    Besides click's check that an existing path is the right kind (file or folder), the
    nearest existing ancestor must be a folder: ``--out notes.txt/grid.png`` is refused
    at once rather than after minutes of training.
    """

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = True) -> None:
        super().__init__(path_type=Path, file_okay=file_okay, dir_okay=dir_okay)

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path:
        path = Path(super().convert(value, param, ctx))
        for ancestor in path.absolute().parents:
            if ancestor.exists():
                if not ancestor.is_dir():
                    self.fail(
                        f"{ancestor} is a file, so {path} cannot be written inside it; "
                        f"choose another path",
                        param,
                        ctx,
                    )
                break
        return path


def show_progress(ctx: click.Context) -> bool:
    """Progress bars unless ``suptest --quiet``."""
    return not ctx.find_root().params.get("quiet", False)


def build_from_corpus(
    ctx: click.Context,
    generator: Generator,
    corpus_spec: str,
    *,
    out: Path,
    seed: int,
    samples: int | None,
    overwrite: bool,
    executor_spec: ExecutorSpec | None = None,
    shard_size: int | None = None,
) -> tuple[Corpus, Dataset]:
    """Run ``generator`` over the corpus CORPUS names and write the result to ``out``.

    Returns the built corpus and the source it was made from. A recipe name is recorded
    as the source recipe, so the manifest says where the inputs came from. With
    ``executor_spec`` the build goes shard by shard on that executor and resumes.
    """
    from supervisor_testing.recipes import list_recipes, resolve_corpus

    source = resolve_corpus(corpus_spec, progress=show_progress(ctx)).to_dataset()
    options = {
        "seed": seed,
        "num_samples": samples,
        "name": out.name,
        "recipe": corpus_spec if corpus_spec in list_recipes() else None,
        "overwrite": overwrite,
        "progress": show_progress(ctx),
    }
    if executor_spec is None and shard_size is None:
        return generator.build(source, out, **options), source
    from supervisor_testing.cli.executor_options import ExecutorSpec
    from supervisor_testing.sharded_build import DEFAULT_SHARD_SIZE, build_sharded

    size = DEFAULT_SHARD_SIZE if shard_size is None else shard_size
    with (executor_spec or ExecutorSpec()).open() as executor:
        built = build_sharded(generator, source, out, executor=executor, shard_size=size, **options)
    return built, source
