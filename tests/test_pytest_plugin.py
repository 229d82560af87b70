"""The pytest plugin as a user meets it: pytester runs of a small project of their own.

Most runs are in-process for speed; the xdist run, the entry-point plugin, the import
check and the README example need a fresh interpreter. torch and the package's modules are
imported here first, so pytester's per-run module snapshot never unloads them (unloading
torch breaks it, and anything re-imported is assertion-rewritten again).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch  # noqa: F401  (loaded before any in-process run; see the module docstring)
from sklearn.metrics import roc_auc_score
from supervision_project import (  # noqa: F401  (an autouse fixture)
    CORPUS_SIZES,
    coin_flip_scores,
    isolated_supervisor_registry,
    write_corpora,
    write_project,
)

import supervisor_testing.gate
import supervisor_testing.label_space
import supervisor_testing.pytest_plugin
import supervisor_testing.recipes
import supervisor_testing.report
import supervisor_testing.supervisors
import supervisor_testing.testing.supervision
from supervisor_testing.corpus import Corpus
from supervisor_testing.models import model_sha256

pytest_plugins = ["pytester"]

# In-process runs leave out plugins that play no part here and cost most of a run: the
# unraisable-exception plugin's two full garbage collections per session, and hypothesis,
# which the snapshot of sys.modules unloads after every run so that the next one imports
# (and, without cached bytecode, assertion-rewrites) it again.
INPROCESS = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("corpora")
    write_corpora(directory)
    return directory


@pytest.fixture
def project(pytester: pytest.Pytester, corpora_dir: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("BRIGHTNESS_NOISE", "TOY_MODEL_SEED"):
        monkeypatch.delenv(name, raising=False)
    write_project(pytester.path, corpora_dir)
    pytester.syspathinsert()  # the user's modules, as pytest's rootdir insertion does
    return pytester


TESTS = """
import pytest


@pytest.mark.supervisor("brightness")
def test_brightness(supervision):
    result = supervision.evaluate()
    result.assert_auroc(min=0.9).assert_detects(at_fpr=0.05, min_tpr=0.5)


@pytest.mark.supervisor("coin-flip")
def test_coin_flip(supervision):
    supervision.evaluate().assert_detects(min_tpr=0.5)
"""


def _text(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def test_pass_and_a_weak_supervisor_fails_with_the_evidence(project: pytest.Pytester) -> None:
    project.makepyfile(test_user_supervisors=TESTS)
    result = project.runpytest_inprocess(*INPROCESS, "--junitxml=junit.xml",
                                         "--supervisor-report=report")  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    text = _text(result)
    assert "coin-flip misses 'bright': TPR@5%FPR(nominal) lower 95% bound" in text
    # The message carries the point estimate, the interval, threshold, realised FPR and
    # the corpora, and its AUROC agrees with an independent computation.
    stress = coin_flip_scores(CORPUS_SIZES["bright"]).numpy()
    nominal = coin_flip_scores(CORPUS_SIZES["dark-test"]).numpy()
    labels = np.r_[np.zeros(len(nominal)), np.ones(len(stress))]
    expected_auroc = roc_auc_score(labels, np.r_[nominal, stress])
    assert f"AUROC: point estimate {expected_auroc:.4f}, 95% bootstrap interval [" in text
    assert re.search(r"threshold: alarm when score > [0-9.]+, set on 200 calibration", text)
    assert re.search(r"realised FPR: [0-9.]+ on 200 nominal test inputs \(target 0.05\)", text)
    assert "corpus: stress 'bright' (150 inputs) against nominal 'dark-test'" in text
    # One summary table at the end, one row per supervisor.
    assert text.count("supervisor-testing summary") == 1
    assert re.search(r"^brightness\s+bright\s+1\.000 \[1\.000, 1\.000\]", text, re.M)
    assert re.search(rf"^coin-flip\s+bright\s+{expected_auroc:.3f} \[", text, re.M)

    # The same numbers as JUnit suite properties and in the report files.
    suite = ET.parse(project.path / "junit.xml").getroot().find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert float(properties["supervisor_testing.coin-flip.bright.auroc"]) == pytest.approx(
        expected_auroc, abs=1e-12
    )
    assert properties["supervisor_testing.brightness.bright.tpr_low"] == "1.0"
    report = json.loads((project.path / "report" / "results.json").read_text())
    by_name = {r["supervisor"]: r for r in report["results"]}
    assert by_name["coin-flip"]["auroc"]["value"] == pytest.approx(expected_auroc, abs=1e-12)
    assert len(by_name["coin-flip"]["stress_scores"]) == CORPUS_SIZES["bright"]
    assert "## Results" in (project.path / "report" / "report.md").read_text()
    assert "data:image/png;base64," in (project.path / "report" / "report.html").read_text()


def test_lower_bound_is_the_default_and_the_bound_is_configurable(
    project: pytest.Pytester,
) -> None:
    # coin-flip's TPR point estimate beats 0.04, its lower bound does not.
    project.makepyfile(
        test_user_bound="""
        import pytest

        @pytest.mark.supervisor("coin-flip")
        def test_tpr(supervision):
            supervision.evaluate().assert_detects(min_tpr=0.04)
        """
    )
    project.runpytest_inprocess(*INPROCESS).assert_outcomes(failed=1)
    result = project.runpytest_inprocess(*INPROCESS, "--supervisor-bound=value")
    result.assert_outcomes(passed=1)


def _baseline_files(root: Path) -> list[Path]:
    return sorted((root / ".supervisor-baselines").glob("*/*.json"))


def test_baselines_regressions_missing_and_refused(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, corpora_dir: Path
) -> None:
    project.makepyfile(
        test_user_brightness="""
        import pytest

        @pytest.mark.supervisor("brightness")
        def test_brightness(supervision):
            supervision.evaluate()
        """
    )
    run = lambda *args: project.runpytest_inprocess(*INPROCESS, *args)  # noqa: E731

    # Comparing without any baseline is a failure, never a silent pass.
    result = run("--supervisor-compare-fail=auroc:0.02")
    result.assert_outcomes(failed=1)
    assert "a regression check needs a recorded baseline" in _text(result)
    assert not _baseline_files(project.path)

    run("--supervisor-baseline-update").assert_outcomes(passed=1)
    [baseline] = _baseline_files(project.path)
    record = json.loads(baseline.read_text())
    import toy_model

    assert record["provenance"]["model_sha256"] == model_sha256(toy_model.build())
    stress = Corpus.open(corpora_dir / "bright")
    assert record["provenance"]["stress_sha256"] == stress.sha256()
    assert record["result"]["auroc"]["value"] == 1.0
    assert record["created_by"].startswith("supervisor-testing ")

    result = run("--supervisor-compare-fail=auroc:0.02")
    result.assert_outcomes(passed=1)
    assert "AUROC +0.000, TPR +0.000" in _text(result)

    # A degraded supervisor on the same model and corpora regresses beyond the tolerance.
    monkeypatch.setenv("BRIGHTNESS_NOISE", "0.3")
    result = run("--supervisor-compare-fail=auroc:0.02,tpr:0.05")
    result.assert_outcomes(failed=1)
    text = _text(result)
    assert "brightness regressed on 'bright'" in text
    assert re.search(r"auroc dropped by 0\.\d+ \(baseline 1\.0000, now 0\.\d+\)", text)
    monkeypatch.delenv("BRIGHTNESS_NOISE")

    # Retrained weights: the old baseline describes another model and is refused.
    monkeypatch.setenv("TOY_MODEL_SEED", "1")
    result = run("--supervisor-compare-fail=auroc:0.02")
    result.assert_outcomes(failed=1)
    assert f"was recorded for model {baseline.parent.name}" in _text(result)
    assert re.search(r"^brightness\s+bright\s.*baseline refused$", _text(result), re.M)


def test_gate_files_are_collected_one_item_per_requirement(project: pytest.Pytester) -> None:
    project.makefile(
        ".toml",
        gate=textwrap.dedent(
            """
            model = "toy_model:build"
            supervisors = ["brightness", "coin-flip"]
            stress = ["bright"]
            nominal = "corpora/dark-test"
            calibration = "corpora/dark-cal"
            resamples = 200

            [[requirement]]
            min_auroc = 0.9

            [[requirement]]
            supervisors = ["brightness"]
            min_tpr = 0.8
            """
        ),
    )
    (project.path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.supervisor_testing.gate]
            model = "toy_model:build"
            supervisors = ["brightness"]
            stress = ["bright"]
            nominal = "corpora/dark-test"

            [[tool.supervisor_testing.gate.requirement]]
            min_aupr = 0.95
            """
        )
    )
    result = project.runpytest_inprocess(*INPROCESS, "-v", ".")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "gate.toml::min_auroc[[]brightness-bright[]] PASSED*",
            "gate.toml::min_auroc[[]coin-flip-bright[]] FAILED*",
            "gate.toml::min_tpr[[]brightness-bright[]] PASSED*",
            "pyproject.toml::min_aupr[[]brightness-bright[]] PASSED*",
        ]
    )
    gate = project.path / "gate.toml"
    line = gate.read_text().splitlines().index("min_auroc = 0.9") + 1
    assert f"{gate}:{line}: coin-flip misses 'bright': AUROC lower 95% bound" in _text(result)
    # Selecting one requirement evaluates only what it needs.
    result = project.runpytest_inprocess(
        "-p", "no:cacheprovider", "gate.toml::min_tpr[brightness-bright]"
    )
    result.assert_outcomes(passed=1)


BAD_TESTS = """
import pytest


@pytest.mark.supervisor("brightnes")
def test_typo(supervision):
    supervision.evaluate()
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (BAD_TESTS, "test_user_bad.py:4: test_typo: @pytest.mark.supervisor: unknown supervisor "
                    "'brightnes'; known: brightness, coin-flip"),
        (BAD_TESTS.replace('("brightnes")', '("coin-flip", stress=["glare"])'),
         "unknown recipe 'glare'"),
        (BAD_TESTS.replace('("brightnes")', '("coin-flip", stresss="bright")'),
         "@pytest.mark.supervisor got unknown argument 'stresss'"),
    ],
)  # fmt: skip
def test_a_marker_naming_unknown_things_is_a_collection_error(
    project: pytest.Pytester, source: str, expected: str
) -> None:
    project.makepyfile(test_user_bad=source)
    # The marker sits on line 4 (pytester strips the leading newline); the error names it.
    lines = (project.path / "test_user_bad.py").read_text().splitlines()
    assert lines[3].startswith("@pytest.mark.supervisor")
    result = project.runpytest_inprocess(*INPROCESS)
    result.assert_outcomes(errors=1)
    assert expected in _text(result)
    assert "Traceback" not in _text(result)


def test_bad_gate_files_name_file_and_line(project: pytest.Pytester) -> None:
    project.makefile(".toml", gate_syntax='model = "toy_model:build"\nsupervisors = = ["x"]\n')
    project.makefile(
        ".toml",
        gate_unknown=textwrap.dedent(
            """
            model = "toy_model:build"
            supervisors = [
                "brightness",
                "nope",
            ]
            stress = ["bright"]
            nominal = "corpora/dark-test"

            [[requirement]]
            min_auroc = 0.9
            """
        ).lstrip(),
    )
    result = project.runpytest_inprocess(*INPROCESS, ".")
    result.assert_outcomes(errors=2)
    text = _text(result)
    assert f"{project.path / 'gate_syntax.toml'}:2: invalid TOML" in text
    assert f"{project.path / 'gate_unknown.toml'}:4: unknown supervisor 'nope'" in text


def test_a_corpus_of_another_label_space_is_refused(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_user_classes="""
        def test_three_classes(supervision):
            supervision.evaluate("brightness", stress="three-classes")
        """
    )
    result = project.runpytest_inprocess(*INPROCESS)
    result.assert_outcomes(failed=1)
    assert (
        "corpus 'three-classes' has 3 classes (c0, c1, c2) but corpus 'dark-test' has "
        "2 classes (c0, c1)"
    ) in _text(result)


def test_asking_for_supervisor_name_parametrises_over_every_registered_one(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_user_all="""
        def test_each(supervisor_name, stress_corpus):
            assert stress_corpus.name == "bright"
        """
    )
    result = project.runpytest_inprocess(*INPROCESS, "--collect-only", "-q")
    ids = {line.split("::")[1] for line in result.outlines if "::" in line}
    assert {"test_each[brightness-bright]", "test_each[max-softmax-bright]"} <= ids
    assert "test_each[coin-flip-bright]" in ids


def test_usage_errors_name_the_option(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess(*INPROCESS, "--supervisor-ci-level=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "is not a number strictly between 0 and 1" in _text(result)
    for line, message in (
        ("supervisor_compare_fail = auroc", "supervisor_compare_fail: bad tolerance 'auroc'"),
        ("supervisor_nominal_fpr = 5%", "supervisor_nominal_fpr: could not convert"),
        ("supervisor_ci_level = 1.5", "supervisor_ci_level: '1.5' is not strictly between 0"),
        ("supervisor_auroc_ci = exact", "supervisor_auroc_ci: 'exact' is not one of bootstrap"),
    ):
        (project.path / "pytest.ini").write_text(f"[pytest]\n{line}\n")
        result = project.runpytest_inprocess(*INPROCESS)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert f"ini option {message}" in _text(result)


# ---------------------------------------------------------------------------------------
# Fresh interpreters


def _environment(extra_path: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # Hypothesis's plugin plays no part here, and importing it costs each fresh process
    # seconds where bytecode is not cached (PYTHONDONTWRITEBYTECODE).
    env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest"
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return env


ENTRY_POINT_PLUGIN = '''
from supervisor_testing import Supervisor
from supervisor_testing.supervisors import as_model_input


class Glare(Supervisor):
    """Installed from another distribution through the entry-point group."""

    name = "glare"

    def score(self, x):
        return as_model_input(x).amax(dim=(1, 2, 3))
'''


@pytest.mark.slow  # fresh interpreters importing torch: several seconds each
def test_xdist_run_with_an_entry_point_supervisor(project: pytest.Pytester) -> None:
    site = project.path / "site"
    (site / "glare_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "glare_plugin.py").write_text(textwrap.dedent(ENTRY_POINT_PLUGIN))
    (site / "glare_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: glare-plugin\nVersion: 1.0\n"
    )
    (site / "glare_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[supervisor_testing.supervisors]\nglare = glare_plugin:Glare\n"
    )
    project.makepyfile(
        test_user_many="""
        import pytest

        @pytest.mark.supervisor("glare", "brightness", "coin-flip")
        def test_auroc(supervision):
            supervision.evaluate().assert_auroc(min=0.9)
        """
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
               "--junitxml=junit.xml", "--supervisor-report=out"]  # fmt: skip
    completed = subprocess.run(
        command, cwd=project.path, env=_environment(site), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "2 passed, 1 failed" in output or "1 failed, 2 passed" in output
    assert output.count("supervisor-testing summary") == 1  # the controller's, not workers'
    rows = re.findall(r"^(glare|brightness|coin-flip)\s+bright\s", output, re.M)
    assert sorted(rows) == ["brightness", "coin-flip", "glare"]
    suite = ET.parse(project.path / "junit.xml").getroot().find("testsuite")
    names = {p.get("name") for p in suite.find("properties")}
    assert {f"supervisor_testing.{s}.bright.auroc" for s in rows} <= names
    data = supervisor_testing.report.load_results(project.path / "out" / "results.json")
    assert sorted(r.supervisor for r in data.results) == sorted(rows)
    assert all(r.stress_scores is not None for r in data.results)


def test_plugin_leaves_torch_unimported_for_other_projects(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            with open("modules.txt", "w") as f:
                f.write(" ".join(m for m in ("torch", "numpy", "scipy") if m in sys.modules))
        """
    )
    pytester.makepyfile(test_user_plain="def test_plain():\n    assert True\n")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path, env=_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "supervisor-testing" in subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True,
        cwd=pytester.path, env=_environment(), timeout=120,
    ).stdout  # fmt: skip
    assert (pytester.path / "modules.txt").read_text() == ""


def _readme_example() -> tuple[dict[str, str], list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Testing your supervisor", 1)[1].split("\n## ", 1)[0]
    files, commands = {}, []
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        first = body.splitlines()[0]
        named = re.fullmatch(r"#\s*(\S+\.(?:py|toml|ini))", first)
        if named:
            files[named.group(1)] = body
        elif language == "sh":
            commands = [line.split("#")[0].strip() for line in body.splitlines() if line.strip()]
    return files, commands


@pytest.mark.slow  # fresh interpreters importing torch: several seconds each
def test_readme_example_runs_verbatim(pytester: pytest.Pytester) -> None:
    from supervisor_testing.data import dataset_info

    if not dataset_info("fashion-mnist").available:
        pytest.skip("the README's stress corpus needs Fashion-MNIST (dataset-fashion-mnist)")
    files, commands = _readme_example()
    assert set(files) >= {"conftest.py", "my_monitors.py", "test_supervisors.py", "gate.toml",
                          "pytest.ini", "corpora/digits-far-ood-fashion.toml"}  # fmt: skip
    assert [c.split()[0] for c in commands] == ["suptest", "pytest", "suptest"]
    for name, body in files.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(body)
    scripts = Path(sys.executable).parent
    outputs = []
    for command in commands:
        argv = command.split()
        if argv[0] == "pytest":
            argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]]
        else:
            argv = [shutil.which(argv[0], path=str(scripts)) or argv[0], *argv[1:]]
        completed = subprocess.run(
            argv, cwd=pytester.path, env=_environment(), capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        outputs.append(completed.stdout + completed.stderr)
        assert completed.returncode == 0, f"{command}\n{outputs[-1]}"
    assert "5 of 5 requirements hold" in outputs[0]
    assert re.search(r"\b8 passed\b", outputs[1]), outputs[1]
    assert re.search(r"^logit-norm\s+digits-far-ood-fashion\s", outputs[1], re.M)
    summary = (pytester.path / "summary.md").read_text()
    assert "**PASS**: all 5 gate requirements hold." in summary


FITTED_SUPERVISOR = '''
import pytest
import torch

from supervisor_testing import Supervisor, register_supervisor
from supervisor_testing.supervisors import as_model_input


@register_supervisor("distance-to-mean", clobber=True)
class DistanceToMean(Supervisor):
    """Learns the mean nominal image; inputs far from it are suspicious."""

    name = "distance-to-mean"
    requires_fit = True

    def fit(self, nominal):
        self.mean_ = as_model_input(nominal).mean(dim=0)
        return super().fit(nominal)

    def score(self, x):
        self._check_fitted()
        return (as_model_input(x) - self.mean_).flatten(1).norm(dim=1)
'''


def test_default_model_from_ini_device_and_fit_data(project: pytest.Pytester) -> None:
    # No supervisor_model fixture: the ini file names the user's factory instead.
    (project.path / "conftest.py").write_text(
        "import my_supervisors  # noqa: F401\n" + textwrap.dedent(FITTED_SUPERVISOR)
    )
    with (project.path / "pytest.ini").open("a") as ini:
        ini.write("supervisor_model = toy_model:build\nsupervisor_device = cpu\n")
    project.makepyfile(
        test_user_fitted="""
        import pytest

        def test_model_is_on_the_device(supervisor_model):
            assert next(supervisor_model.parameters()).device.type == "cpu"

        @pytest.mark.supervisor("distance-to-mean")
        def test_fitted(supervision):
            supervision.evaluate().assert_auroc(min=0.9)
        """
    )
    result = project.runpytest_inprocess(*INPROCESS)
    result.assert_outcomes(passed=1, failed=1)
    assert "'distance-to-mean' must be fitted on nominal training data" in _text(result)

    # Fit data from the user's own fixture: the supervisor is fitted and separates.
    with (project.path / "conftest.py").open("a") as conftest:
        conftest.write(
            "\n\n@pytest.fixture(scope='session')\n"
            "def supervisor_fit_data(load_corpus):\n"
            "    return load_corpus('dark-cal').load(['images'])['images']\n"
        )
    project.runpytest_inprocess(*INPROCESS).assert_outcomes(passed=2)

    result = project.runpytest_inprocess(*INPROCESS, "--supervisor-device=warp9")
    result.assert_outcomes(failed=1, errors=1)  # the fixture's setup, and the test using it
    assert "supervisor_device 'warp9'" in _text(result)
