"""`suptest generate`: build stress corpora with a generator family.

Each family adds its own sub-command here; `suptest corpus build` covers every generator
through recipes.
"""

from __future__ import annotations

import click

from supervisor_testing.cli.generate_corruptions import generate_corruptions


@click.group()
def generate() -> None:
    """Generate stress corpora from nominal data."""


generate.add_command(generate_corruptions)
