"""The ``suptest`` command line.

Each command maps its flags onto one public library function and holds no logic the
library lacks. Heavy modules (torch, the generators) are imported inside the commands so
that ``suptest --help`` stays instant. One module per command group; this file only wires
them to the root group.
"""

from __future__ import annotations

from supervisor_testing.cli.app import main
from supervisor_testing.cli.corpus import corpus
from supervisor_testing.cli.data import data
from supervisor_testing.cli.demo import demo_command
from supervisor_testing.cli.evaluate import evaluate_command
from supervisor_testing.cli.gate import gate_command
from supervisor_testing.cli.generate import generate
from supervisor_testing.cli.generate_adversarial import generate_adversarial
from supervisor_testing.cli.generate_ambiguous import generate_ambiguous
from supervisor_testing.cli.generate_diffusion import generate_diffusion
from supervisor_testing.cli.generate_domains import generate_domains
from supervisor_testing.cli.model import model
from supervisor_testing.cli.model_diffusion import train_diffusion
from supervisor_testing.cli.report import report_command
from supervisor_testing.cli.study import study_command

for _command in (data, model, corpus, generate, evaluate_command, demo_command):
    main.add_command(_command)
main.add_command(gate_command)
main.add_command(report_command)
main.add_command(study_command)
generate.add_command(generate_ambiguous)
generate.add_command(generate_domains)
generate.add_command(generate_adversarial)
model.add_command(train_diffusion)
generate.add_command(generate_diffusion)

__all__ = ["main"]
