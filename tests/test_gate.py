"""Gate files: parsing with file:line errors, verdicts, baselines and `suptest gate` exit codes.

The gates run built-in supervisors on a seeded toy model and tiny synthetic corpora, and
every verdict is checked against the same metrics computed directly.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from supervision_project import isolated_supervisor_registry, write_corpora  # noqa: F401

from supervisor_testing.cli import main
from supervisor_testing.errors import BaselineMismatchError, InvalidInputError
from supervisor_testing.evaluate import evaluate_scores, score_corpus
from supervisor_testing.gate import load_gate, run_gate
from supervisor_testing.supervisors import create_supervisor

TOY_MODEL = """
import torch
from torch import nn


def build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 2))


def build_other():
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
"""


@pytest.fixture(scope="module")
def corpora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("gate-corpora")
    write_corpora(directory)
    return directory


@pytest.fixture
def project(tmp_path: Path, corpora_dir: Path) -> Path:
    # A module name of its own per test: the gate imports the factory beside the gate file.
    module = f"gate_model_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(TOY_MODEL))
    (tmp_path / "corpora").symlink_to(corpora_dir)
    (tmp_path / "module_name").write_text(module)
    return tmp_path


def write_gate(project: Path, body: str, name: str = "gate.toml") -> Path:
    module = (project / "module_name").read_text()
    path = project / name
    path.write_text(textwrap.dedent(body).lstrip().replace("MODEL", module))
    return path


GATE = """
model = "MODEL:build"
supervisors = ["msp", "energy"]
stress = ["bright"]
nominal = "corpora/dark-test"
calibration = "corpora/dark-cal"
resamples = 200

[[requirement]]
min_auroc = {auroc}

[[requirement]]
supervisors = ["energy"]
min_tpr = {tpr}
bound = "value"
"""


def direct_result(project: Path, corpora_dir: Path, supervisor: str):
    """The metrics the gate should find, computed without the gate machinery."""
    import importlib

    sys.path.insert(0, str(project))
    try:
        model = importlib.import_module((project / "module_name").read_text()).build()
    finally:
        sys.path.remove(str(project))
    from supervisor_testing.corpus import Corpus

    instance = create_supervisor(supervisor, model)
    return evaluate_scores(
        score_corpus(instance, Corpus.open(corpora_dir / "bright")),
        score_corpus(instance, Corpus.open(corpora_dir / "dark-test")),
        score_corpus(instance, Corpus.open(corpora_dir / "dark-cal")),
        supervisor=supervisor,
        resamples=200,
    )


def test_verdicts_match_a_direct_evaluation(project: Path, corpora_dir: Path) -> None:
    msp = direct_result(project, corpora_dir, "max-softmax")
    energy = direct_result(project, corpora_dir, "energy")
    # Thresholds between the two supervisors' lower bounds: one passes, one fails.
    cut = float(np.mean([msp.auroc.low, energy.auroc.low]))
    assert abs(msp.auroc.low - energy.auroc.low) > 1e-3
    gate = write_gate(project, GATE.format(auroc=cut, tpr=energy.tpr.value))
    outcome = run_gate(gate)
    verdicts = {(v.requirement.check, v.requirement.supervisor): v for v in outcome.verdicts}
    assert list(verdicts) == [
        ("min_auroc", "max-softmax"),
        ("min_auroc", "energy"),
        ("min_tpr", "energy"),
    ]
    assert verdicts["min_auroc", "max-softmax"].passed == (msp.auroc.low >= cut)
    assert verdicts["min_auroc", "energy"].passed == (energy.auroc.low >= cut)
    assert verdicts["min_auroc", "energy"].observed == f"{energy.auroc.low:.4f} (lower bound)"
    assert verdicts["min_tpr", "energy"].passed  # the point estimate, exactly at the bar
    assert not outcome.passed
    failed = next(v for v in outcome.verdicts if not v.passed)
    assert failed.message.startswith(f"{gate}:9: ")
    by_supervisor = {r.result.supervisor: r.result for r in outcome.records}
    assert by_supervisor["energy"].auroc == energy.auroc
    assert by_supervisor["max-softmax"].tpr == msp.tpr


def test_cli_exit_codes_and_report_files(project: Path, corpora_dir: Path) -> None:
    runner = CliRunner()
    passing = write_gate(project, GATE.format(auroc=0.0, tpr=0.0), "gate_pass.toml")
    outputs = ["--json", str(project / "r.json"), "--markdown", str(project / "r.md")]
    result = runner.invoke(main, ["--quiet", "gate", str(passing), *outputs])
    assert result.exit_code == 0, result.output
    assert "3 of 3 requirements hold" in result.output
    assert "**PASS**: all 3 gate requirements hold." in (project / "r.md").read_text()
    saved = json.loads((project / "r.json").read_text())
    assert [v["passed"] for v in saved["verdicts"]] == [True, True, True]
    assert Path(saved["corpora"]["bright"]).resolve() == (corpora_dir / "bright").resolve()

    failing = write_gate(project, GATE.format(auroc=1.0, tpr=1.0), "gate_fail.toml")
    result = runner.invoke(main, ["--quiet", "gate", str(failing)])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "misses 'bright'" in result.output

    bad = write_gate(project, GATE.format(auroc=1.5, tpr=1.0), "gate_bad.toml")
    result = runner.invoke(main, ["--quiet", "gate", str(bad)])
    assert result.exit_code == 2, result.output
    assert f"error: {bad}:9: min_auroc must be a number in [0, 1], got 1.5" in result.output
    result = runner.invoke(main, ["--quiet", "gate", str(project / "missing.toml")])
    assert result.exit_code == 2 and "does not exist" in result.output


DROP_GATE = """
model = "MODEL:{factory}"
supervisors = ["energy"]
stress = ["bright"]
nominal = "corpora/dark-test"
resamples = 200

[[requirement]]
max_auroc_drop = 0.01
"""


def test_drop_requirements_compare_with_the_recorded_baseline(project: Path) -> None:
    gate = write_gate(project, DROP_GATE.format(factory="build"))
    missing = run_gate(gate)
    assert not missing.passed
    assert "a drop requirement needs a recorded baseline" in missing.verdicts[0].message

    written = run_gate(gate, baseline_update=True)
    assert written.passed and written.verdicts[0].observed == "baseline written"
    [baseline] = (project / ".supervisor-baselines").glob("*/*.json")
    assert run_gate(gate).verdicts[0].observed == "+0.0000"

    # A baseline that was better than today by more than the tolerance fails the gate.
    record = json.loads(baseline.read_text())
    record["result"]["auroc"]["value"] += 0.05
    baseline.write_text(json.dumps(record))
    verdict = run_gate(gate).verdicts[0]
    assert not verdict.passed and verdict.observed == "-0.0500"
    assert "auroc dropped by 0.0500" in verdict.message

    # Other weights: the baseline is refused, and the CLI calls it bad input.
    other = write_gate(project, DROP_GATE.format(factory="build_other"), "gate_other.toml")
    with pytest.raises(BaselineMismatchError, match=f"recorded for model {baseline.parent.name}"):
        run_gate(other)
    result = CliRunner().invoke(main, ["--quiet", "gate", str(other)])
    assert result.exit_code == 2 and "not comparable" in result.output


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('model = "cnn"\nsupervisors = ["msp"\nstress = ["x"]\n', 3, "invalid TOML"),
        ('model = "cnn"\nsuprevisors = ["msp"]\n', 2, "unknown key 'suprevisors' in the gate"),
        ('supervisors = ["msp"]\nstress = ["bright"]\nnominal = "corpora/dark-test"\n'
         "[[requirement]]\nmin_auroc = 0.9\n", None, 'the gate needs model = "..."'),
        ('model = "MODEL:build"\nsupervisors = ["msp", "no-such"]\nstress = ["bright"]\n'
         'nominal = "corpora/dark-test"\n[[requirement]]\nmin_auroc = 0.9\n', 2,
         "unknown supervisor 'no-such'"),
        ('model = "MODEL:build"\nsupervisors = ["msp"]\nstress = [\n  "bright",\n  "glare",\n]\n'
         'nominal = "corpora/dark-test"\n[[requirement]]\nmin_auroc = 0.9\n', 5,
         "no corpus 'glare' in"),
        ('model = "MODEL:build"\nsupervisors = ["msp"]\nstress = ["bright"]\n'
         'nominal = "corpora/dark-test"\n', None, "the gate has no requirements"),
        ('model = "MODEL:build"\nsupervisors = ["msp"]\nstress = ["bright"]\n'
         'nominal = "corpora/dark-test"\n\n[[requirement]]\nmin_auroc = 0.9\n\n'
         '[[requirement]]\nsupervisors = ["energy"]\nmin_tpr = 0.5\n', 10,
         "supervisors entry 'energy' is not in the gate's supervisors (max-softmax)"),
        ('model = "MODEL:build"\nsupervisors = ["msp"]\nstress = ["bright"]\n'
         'nominal = "corpora/dark-test"\n\n[[requirement]]\nmin_auroc = 0.9\n\n'
         "[[requirement]]\nmin_auroc = 0.8\n", 10, "is already required at line 7"),
        ('model = "MODEL:build"\nsupervisors = ["msp"]\nstress = ["bright"]\n'
         'nominal = "corpora/dark-test"\n\n[[requirement]]\nmin_auroc = 0.9\nbound = "mean"\n',
         8, "bound must be one of 'low', 'value', 'high'"),
        ('model = "MODEL:build"\nimports = ["no_such_module_here"]\nsupervisors = ["msp"]\n'
         'stress = ["bright"]\nnominal = "corpora/dark-test"\n[[requirement]]\nmin_auroc = 0.9\n',
         2, "cannot import 'no_such_module_here'"),
    ],
)  # fmt: skip
def test_bad_gate_files_name_file_and_line(
    project: Path, body: str, line: int | None, message: str
) -> None:
    gate = write_gate(project, body)
    with pytest.raises(InvalidInputError) as error:
        load_gate(gate)
    text = str(error.value)
    assert text.startswith(f"{gate}:{line}: " if line else f"{gate}: "), text
    assert message in text


def test_a_corpus_of_another_label_space_names_its_line(project: Path) -> None:
    gate = write_gate(
        project,
        'model = "MODEL:build"\nsupervisors = ["msp"]\nstress = ["three-classes"]\n'
        'nominal = "corpora/dark-test"\n[[requirement]]\nmin_auroc = 0.9\n',
    )
    with pytest.raises(InvalidInputError, match=rf"^{gate}:3: corpus 'three-classes' has 3 cla"):
        run_gate(gate)


def test_pyproject_table_and_imported_supervisors(project: Path) -> None:
    name = f"gate_monitor_{uuid.uuid4().hex[:8]}"
    (project / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            from supervisor_testing import Supervisor, register_supervisor
            from supervisor_testing.supervisors import as_model_input

            @register_supervisor("{name}")
            class Bright(Supervisor):
                name = "{name}"

                def score(self, x):
                    return as_model_input(x).mean(dim=(1, 2, 3))
            """
        )
    )
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "user-project"

            [tool.supervisor_testing.gate]
            model = "{(project / "module_name").read_text()}:build"
            imports = ["{name}"]
            supervisors = ["{name}"]
            stress = ["bright"]
            nominal = "corpora/dark-test"
            resamples = 200

            [[tool.supervisor_testing.gate.requirement]]
            min_auroc = 0.99
            min_aupr = 1.5
            """
        )
    )
    with pytest.raises(InvalidInputError, match=r"pyproject.toml:15: min_aupr must be a number"):
        load_gate(project / "pyproject.toml")
    text = (project / "pyproject.toml").read_text().replace("min_aupr = 1.5", "min_aupr = 0.99")
    (project / "pyproject.toml").write_text(text)
    outcome = run_gate(project / "pyproject.toml")
    assert outcome.passed
    canonical = name.replace("_", "-")  # registry names are case- and _/- insensitive
    assert [v.requirement.name for v in outcome.verdicts] == [
        f"min_auroc[{canonical}-bright]",
        f"min_aupr[{canonical}-bright]",
    ]
