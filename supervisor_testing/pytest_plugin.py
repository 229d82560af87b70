"""pytest plugin entry point (``pytest11``).

Loaded in every pytest session of an environment where the package is installed, so it
imports nothing beyond the standard library and pytest at load time; torch arrives with
the first fixture, marker or gate file that needs it. The work itself lives in modules
that never import pytest (:mod:`supervisor_testing.testing`, :mod:`supervisor_testing.gate`,
:mod:`supervisor_testing.report`); this module only wires them to pytest:

* fixtures ``supervision``, ``load_corpus``, ``nominal_split``, ``supervisor_model``,
  ``supervisor_fit_data``, ``supervisor_name`` and ``stress_corpus``;
* the ``supervisor`` marker and parametrisation over supervisors x stress corpora;
* gate files collected as one test item per requirement;
* options in one group (and ini options), baselines, the end-of-session summary, JUnit
  XML suite properties and report files; under pytest-xdist each worker ships its results
  to the controller, which alone prints and writes.
"""

from __future__ import annotations

import argparse
import fnmatch
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator

    from supervisor_testing.gate import Gate, GateRunner, Requirement
    from supervisor_testing.testing import ResultLog, SupervisionSession, SupervisionSettings

_GROUP = "supervisor-testing"
_WORKER_OUTPUT_KEY = "supervisor_testing_results"
_DEFAULT_GATE_PATTERNS = ["gate*.toml", "*.gate.toml"]
_MARKER_KWARGS = ("stress",)


# ---------------------------------------------------------------------------------------
# Options


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number strictly between 0 and 1")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _bound(text: str) -> str:
    if text not in ("low", "value", "high"):
        raise argparse.ArgumentTypeError(f"{text!r} is not one of low, value, high")
    return text


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(_GROUP, "supervisor-testing: DNN supervisors against stress corpora")
    add = group.addoption
    add(
        "--supervisor-nominal-fpr",
        type=_unit_interval,
        metavar="RATE",
        help="nominal FPR the alarm thresholds target (ini: supervisor_nominal_fpr; 0.05)",
    )
    add(
        "--supervisor-ci-level",
        type=_unit_interval,
        metavar="LEVEL",
        help="confidence level of the intervals (ini: supervisor_ci_level; 0.95)",
    )
    add(
        "--supervisor-bound",
        type=_bound,
        metavar="low|value|high",
        help="what requirements compare: the lower confidence bound (low, default) or the "
        "point estimate (value) (ini: supervisor_bound)",
    )
    add(
        "--supervisor-resamples",
        type=_positive_int,
        metavar="N",
        help="bootstrap resamples per interval (ini: supervisor_resamples; 1000)",
    )
    add(
        "--supervisor-nominal",
        metavar="CORPUS",
        help="nominal test corpus (ini: supervisor_nominal)",
    )
    add(
        "--supervisor-calibration",
        metavar="CORPUS",
        help="nominal corpus that sets thresholds (ini: supervisor_calibration)",
    )
    add(
        "--supervisor-stress",
        action="append",
        metavar="CORPUS",
        help="stress corpus to parametrise over; repeatable (ini: supervisor_stress)",
    )
    add(
        "--supervisor-corpus-dir",
        metavar="DIR",
        help="directory searched first for corpus names (ini: supervisor_corpus_dir)",
    )
    add(
        "--supervisor-cache-dir",
        metavar="DIR",
        help="cache for data sets, models and built corpora (ini: supervisor_cache_dir; "
        "default $SUPERVISOR_TESTING_CACHE)",
    )
    add(
        "--supervisor-device",
        metavar="DEVICE",
        help="device of the default supervisor_model (ini: supervisor_device; cpu)",
    )
    add(
        "--supervisor-model",
        metavar="SPEC",
        help="default model: architecture, saved model directory or module:factory "
        "(ini: supervisor_model)",
    )
    add(
        "--supervisor-train-data",
        metavar="DATASET",
        help="data set that trains the default model and fits supervisors "
        "(ini: supervisor_train_data)",
    )
    add(
        "--supervisor-baseline-dir",
        metavar="DIR",
        help="where baselines live (ini: supervisor_baseline_dir; .supervisor-baselines)",
    )
    add(
        "--supervisor-baseline-update",
        action="store_true",
        default=False,
        help="record every result as the new baseline instead of comparing",
    )
    add(
        "--supervisor-compare-fail",
        action="append",
        metavar="METRIC:DROP",
        help="fail a test whose metric dropped by more than DROP against its baseline "
        "(or that has no baseline), e.g. auroc:0.02; repeatable",
    )
    add(
        "--supervisor-refit",
        action="store_true",
        default=False,
        help="fit supervisors afresh instead of loading the fitted state cached by an earlier "
        "run on the same model, parameters and training data",
    )
    add("--supervisor-report", metavar="DIR",
        help="write results.json, report.md and report.html into DIR at the end")  # fmt: skip

    ini = parser.addini
    ini("supervisor_nominal_fpr", "nominal FPR the alarm thresholds target", default="0.05")
    ini("supervisor_ci_level", "confidence level of the intervals", default="0.95")
    ini("supervisor_bound", "low (lower confidence bound), value or high", default="low")
    ini("supervisor_resamples", "bootstrap resamples per interval", default="1000")
    ini("supervisor_seed", "seed of the bootstrap and of the calibration split", default="0")
    ini("supervisor_auroc_ci", "bootstrap or delong", default="bootstrap")
    ini("supervisor_nominal", "nominal test corpus (name or path)", default="")
    ini("supervisor_calibration", "nominal calibration corpus (name or path)", default="")
    ini("supervisor_stress", "stress corpora to parametrise over", type="linelist", default=[])
    ini("supervisor_corpus_dir", "directory searched first for corpus names", default="")
    ini("supervisor_cache_dir", "cache for data sets, models and corpora", default="")
    ini("supervisor_device", "device of the default supervisor_model", default="cpu")
    ini("supervisor_model", "default model spec", default="")
    ini("supervisor_train_data", "data set that trains the model / fits supervisors", default="")
    ini("supervisor_baseline_dir", "where baselines live", default="")
    ini("supervisor_compare_fail", "metric:max_drop tolerances, e.g. auroc:0.02", type="args",
        default=[])  # fmt: skip
    ini("supervisor_gate_files", "glob patterns of gate files to collect", type="args",
        default=list(_DEFAULT_GATE_PATTERNS))  # fmt: skip


# ---------------------------------------------------------------------------------------
# Session state


@dataclass
class _State:
    settings: SupervisionSettings
    log: ResultLog
    is_worker: bool
    previous_bound: str
    previous_cache: str | None
    cache_changed: bool
    session: SupervisionSession | None = None
    runners: dict[Path, GateRunner] = field(default_factory=dict)
    xdist_plugin: Any = None

    def supervision_session(self) -> SupervisionSession:
        if self.session is None:
            from supervisor_testing.testing import CorpusCache, SupervisionSession

            corpora = CorpusCache(corpus_dir=self.settings.corpus_dir, root=self.settings.root)
            self.session = SupervisionSession(self.settings, corpora=corpora, log=self.log)
        return self.session

    def runner(self, gate: Gate) -> GateRunner:
        if gate.path not in self.runners:
            from supervisor_testing.gate import GateRunner

            self.runners[gate.path] = GateRunner(
                gate,
                baseline_update=self.settings.baseline_update,
                log=self.log,
                refit=self.settings.refit,
            )
        return self.runners[gate.path]


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


def _setting(config: pytest.Config, option: str | None, ini: str | None) -> tuple[Any, str, Path]:
    """A setting's value, where it came from, and the directory its paths are read from.

    The command line wins over the ini file; paths on the command line are relative to
    the invocation directory, paths in the ini file to the ini file's directory.
    """
    if option is not None:
        value = config.getoption(option.replace("-", "_"))
        if value not in (None, []):
            return value, f"--{option}", config.invocation_params.dir
    if ini is None:
        return None, "", config.invocation_params.dir
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return config.getini(ini), f"ini option {ini}", base


def _read_settings(config: pytest.Config) -> tuple[SupervisionSettings, str | None]:
    from supervisor_testing.baselines import DEFAULT_BASELINE_DIR, parse_tolerances
    from supervisor_testing.errors import SupervisorTestingError
    from supervisor_testing.testing.settings import SupervisionSettings

    values: dict[str, Any] = {}
    root = config.rootpath

    def read(option: str | None, ini: str | None, convert: Any) -> Any:
        value, source, base = _setting(config, option, ini)
        try:
            return convert(value, base)
        except (ValueError, SupervisorTestingError) as exc:
            raise pytest.UsageError(f"{source}: {exc}") from None

    def text(value: Any, base: Path) -> str | None:
        return str(value).strip() if value is not None and str(value).strip() else None

    def number(kind: type, low: float, high: float | None = None) -> Any:
        def convert(value: Any, base: Path) -> Any:
            number = kind(str(value).strip())
            inside = low < number < high if high is not None else number >= low
            if not inside:
                interval = f"strictly between {low} and {high}" if high else f"at least {low}"
                raise ValueError(f"{value!r} is not {interval}")
            return number

        return convert

    def choice(*allowed: str) -> Any:
        def convert(value: Any, base: Path) -> str:
            if str(value).strip() not in allowed:
                raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
            return str(value).strip()

        return convert

    def path(value: Any, base: Path) -> Path | None:
        value = str(value).strip() if value is not None else ""
        return (base / Path(value).expanduser()) if value else None

    unit = number(float, 0, 1)
    values["fpr"] = read("supervisor-nominal-fpr", "supervisor_nominal_fpr", unit)
    values["ci_level"] = read("supervisor-ci-level", "supervisor_ci_level", unit)
    values["bound"] = read("supervisor-bound", "supervisor_bound", choice("low", "value", "high"))
    values["resamples"] = read("supervisor-resamples", "supervisor_resamples", number(int, 1))
    values["seed"] = read(None, "supervisor_seed", number(int, 0))
    values["auroc_ci"] = read(None, "supervisor_auroc_ci", choice("bootstrap", "delong"))
    values["nominal"] = read("supervisor-nominal", "supervisor_nominal", text)
    values["calibration"] = read("supervisor-calibration", "supervisor_calibration", text)
    stress = read("supervisor-stress", "supervisor_stress", lambda v, b: v)
    values["stress"] = tuple(s.strip() for s in stress if s.strip())
    values["corpus_dir"] = read("supervisor-corpus-dir", "supervisor_corpus_dir", path)
    values["model"] = read("supervisor-model", "supervisor_model", text)
    values["train_data"] = read("supervisor-train-data", "supervisor_train_data", text)
    values["device"] = read("supervisor-device", "supervisor_device", text) or "cpu"
    baseline_dir = read("supervisor-baseline-dir", "supervisor_baseline_dir", path)
    values["baseline_dir"] = baseline_dir or root / DEFAULT_BASELINE_DIR
    values["baseline_update"] = bool(config.getoption("supervisor_baseline_update"))
    values["refit"] = bool(config.getoption("supervisor_refit"))
    values["compare_fail"] = read(
        "supervisor-compare-fail",
        "supervisor_compare_fail",
        lambda value, base: parse_tolerances(value) if value else {},
    )
    values["report_dir"] = read("supervisor-report", None, path)
    cache = read("supervisor-cache-dir", "supervisor_cache_dir", path)
    try:
        settings = SupervisionSettings(root=root, **values)
    except SupervisorTestingError as exc:
        raise pytest.UsageError(f"supervisor-testing settings: {exc}") from None
    return settings, str(cache) if cache is not None else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "supervisor(*names, stress=None): run the test once per named supervisor (every "
        "registered one when none is named) x stress corpus (supervisor_stress when none); "
        "the test's `supervision.evaluate()` then uses them",
    )
    from supervisor_testing.assertions import set_default_bound
    from supervisor_testing.testing.result_log import ResultLog

    settings, cache = _read_settings(config)
    previous_cache = os.environ.get("SUPERVISOR_TESTING_CACHE")
    if cache is not None:
        os.environ["SUPERVISOR_TESTING_CACHE"] = cache
    state = _State(
        settings=settings,
        log=ResultLog(),
        is_worker=hasattr(config, "workerinput"),
        previous_bound=set_default_bound(settings.bound),  # type: ignore[arg-type]
        previous_cache=previous_cache,
        cache_changed=cache is not None,
    )
    config.stash[_STATE] = state
    if not state.is_worker and config.pluginmanager.hasplugin("xdist"):
        state.xdist_plugin = _XdistController(state)
        config.pluginmanager.register(state.xdist_plugin, "supervisor-testing-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    from supervisor_testing.assertions import set_default_bound

    set_default_bound(state.previous_bound)  # type: ignore[arg-type]
    if state.cache_changed:
        if state.previous_cache is None:
            os.environ.pop("SUPERVISOR_TESTING_CACHE", None)
        else:
            os.environ["SUPERVISOR_TESTING_CACHE"] = state.previous_cache
    if state.xdist_plugin is not None:
        config.pluginmanager.unregister(state.xdist_plugin)
    del config.stash[_STATE]


class _XdistController:
    """Collects the results each xdist worker ships at its end (controller only)."""

    def __init__(self, state: _State) -> None:
        self.state = state

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        text = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
        if text:
            self.state.log.extend_json(text)


# ---------------------------------------------------------------------------------------
# Marker and parametrisation


def _fail_at(metafunc: pytest.Metafunc, problem: str) -> None:
    path, line, _ = metafunc.definition.location
    pytest.fail(f"{path}:{line + 1}: {metafunc.function.__name__}: {problem}", pytrace=False)


def _stress_id(spec: str) -> str:
    return Path(spec).stem if ("/" in spec or os.sep in spec or spec.endswith(".toml")) else spec


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("supervisor")
    try:
        direct = set(inspect.signature(metafunc.function).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins have no signature
        direct = set()
    uses_supervision = "supervision" in metafunc.fixturenames
    wants_supervisors = "supervisor_name" in direct or (marker is not None and uses_supervision)
    wants_stress = "stress_corpus" in direct or (marker is not None and uses_supervision)
    if not wants_supervisors and not wants_stress:
        return
    from supervisor_testing.errors import SupervisorTestingError

    state = _state(metafunc.config)
    kwargs = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(kwargs) - set(_MARKER_KWARGS))
    if unknown:
        _fail_at(
            metafunc,
            f"@pytest.mark.supervisor got unknown argument {unknown[0]!r}; it takes supervisor "
            "names and stress=[corpora]",
        )
    if wants_supervisors:
        from supervisor_testing.supervisors import supervisors

        names = list(marker.args) if marker is not None and marker.args else supervisors.names()
        canonical: list[str] = []
        for name in names:
            if not isinstance(name, str):
                _fail_at(metafunc, f"supervisor names must be strings, got {name!r}")
            problem = None
            try:
                key = supervisors.resolve(name)
            except SupervisorTestingError as exc:
                problem = str(exc)  # failed outside the handler: no chained traceback
            if problem is not None:
                _fail_at(metafunc, f"@pytest.mark.supervisor: {problem}")
            if key not in canonical:
                canonical.append(key)
        metafunc.parametrize("supervisor_name", canonical, ids=canonical, indirect=True)
    if wants_stress:
        stress = kwargs.get("stress", state.settings.stress)
        stress = [stress] if isinstance(stress, (str, os.PathLike)) else list(stress)
        if not stress:
            if "stress_corpus" in direct:
                _fail_at(
                    metafunc,
                    "no stress corpora to parametrise stress_corpus over: pass "
                    "@pytest.mark.supervisor(stress=[...]) or set supervisor_stress in the ini "
                    "file",
                )
            return
        cache = state.supervision_session().corpora
        for spec in stress:
            problem = None
            try:
                cache.locate(spec)
            except SupervisorTestingError as exc:
                problem = str(exc)
            if problem is not None:
                _fail_at(metafunc, f"@pytest.mark.supervisor: {problem}")
        specs = [os.fspath(spec) for spec in stress]
        ids = [_stress_id(spec) for spec in specs]
        metafunc.parametrize("stress_corpus", specs, ids=ids, indirect=True)


# ---------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def load_corpus(request: pytest.FixtureRequest) -> Any:
    """Open a corpus by recipe name or path, once per session: ``load_corpus("mnist-test")``."""
    return _state(request.config).supervision_session().corpora


@pytest.fixture(scope="session")
def nominal_split(request: pytest.FixtureRequest) -> Any:
    """The nominal ``test`` and ``calibration`` corpora (supervisor_nominal / _calibration)."""
    return _state(request.config).supervision_session().nominal_split()


@pytest.fixture(scope="session")
def supervisor_model(request: pytest.FixtureRequest) -> Any:
    """The classifier supervisors wrap (an ``nn.Module``).

    Override it in ``conftest.py`` to test your own model; by default it is
    ``supervisor_model`` from the ini file (an architecture trained on
    ``supervisor_train_data``, a saved model directory or ``module:factory``), moved to
    ``supervisor_device``.
    """
    settings = _state(request.config).settings
    if settings.model is None:
        pytest.fail(
            "no model to supervise: define a `supervisor_model` fixture in conftest.py that "
            "returns your nn.Module, or set supervisor_model in the ini file",
            pytrace=False,
        )
    import torch

    from supervisor_testing.data import load_dataset
    from supervisor_testing.errors import InvalidInputError
    from supervisor_testing.models import resolve_model

    train = load_dataset(settings.train_data, "train") if settings.train_data else None
    module = resolve_model(settings.model, dataset=train, seed=settings.seed).module
    try:
        device = torch.device(settings.device)
    except RuntimeError as exc:
        raise InvalidInputError(f"supervisor_device {settings.device!r}: {exc}") from None
    return module.to(device)


@pytest.fixture(scope="session")
def supervisor_fit_data(request: pytest.FixtureRequest) -> Any:
    """Data that fits supervisors which learn statistics (the train split of
    ``supervisor_train_data``), or ``None``; override it to fit on your own data."""
    settings = _state(request.config).settings
    if settings.train_data is None:
        return None
    from supervisor_testing.data import load_dataset

    return load_dataset(settings.train_data, "train")


@pytest.fixture
def supervisor_name(request: pytest.FixtureRequest) -> str | None:
    """The supervisor this test is parametrised with (``None`` when it is not)."""
    return getattr(request, "param", None)


@pytest.fixture
def stress_corpus(request: pytest.FixtureRequest) -> Any:
    """The stress corpus this test is parametrised with (``None`` when it is not)."""
    spec = getattr(request, "param", None)
    if spec is None:
        return None
    return _state(request.config).supervision_session().corpora(spec)


@pytest.fixture
def supervision(request: pytest.FixtureRequest, supervisor_name: Any, stress_corpus: Any) -> Any:
    """Evaluate supervisors on stress corpora: ``supervision.evaluate(...)`` returns a
    :class:`~supervisor_testing.DetectionResult` and records it for the session summary."""
    from supervisor_testing.testing import Supervision

    return Supervision(
        _state(request.config).supervision_session(),
        nodeid=request.node.nodeid,
        supervisor_name=supervisor_name,
        stress=stress_corpus,
        get_model=lambda: request.getfixturevalue("supervisor_model"),
        get_fit_data=lambda: request.getfixturevalue("supervisor_fit_data"),
    )


# ---------------------------------------------------------------------------------------
# Gate files


class GateRequirementFailed(AssertionError):
    """A gate requirement does not hold."""


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".toml":
        return None
    if file_path.name == "pyproject.toml":
        from supervisor_testing.gate import has_gate_table

        return GateFile.from_parent(parent, path=file_path) if has_gate_table(file_path) else None
    patterns = parent.config.getini("supervisor_gate_files")
    if any(fnmatch.fnmatch(file_path.name, p) for p in patterns) or parent.session.isinitpath(
        file_path
    ):
        return GateFile.from_parent(parent, path=file_path)
    return None


class GateFile(pytest.File):
    """A gate file: one test item per requirement on each supervisor x stress pair."""

    def collect(self) -> Generator[GateItem, None, None]:
        from supervisor_testing.errors import SupervisorTestingError
        from supervisor_testing.gate import load_gate

        try:
            gate = load_gate(self.path)
        except SupervisorTestingError as exc:
            raise self.CollectError(str(exc)) from None
        for requirement in gate.requirements:
            yield GateItem.from_parent(self, name=requirement.name, gate=gate,
                                       requirement=requirement)  # fmt: skip


class GateItem(pytest.Item):
    """One requirement of a gate file."""

    def __init__(self, *, gate: Gate, requirement: Requirement, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        self.requirement = requirement

    def runtest(self) -> None:
        state = _state(self.config)
        verdict = state.runner(self.gate).check(self.requirement)
        state.log.add_verdict(verdict.to_dict())
        if not verdict.passed:
            raise GateRequirementFailed(verdict.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from supervisor_testing.errors import SupervisorTestingError

        if isinstance(excinfo.value, (GateRequirementFailed, SupervisorTestingError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.requirement.line
        return self.path, (line - 1 if line else None), f"gate requirement {self.name}"


# ---------------------------------------------------------------------------------------
# End of session: worker hand-off, summary, JUnit properties, reports


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, Any, None]:
    state = session.config.stash.get(_STATE, None)
    if state is not None and state.is_worker:
        include_scores = state.settings.report_dir is not None
        session.config.workeroutput[_WORKER_OUTPUT_KEY] = state.log.to_json(  # type: ignore[attr-defined]
            include_scores=include_scores
        )
    yield
    if state is None or state.is_worker or not (len(state.log) or state.log.verdicts):
        return
    xml_path = session.config.getoption("xmlpath", None)
    if xml_path and Path(xml_path).is_file():
        from supervisor_testing.testing.junit import add_suite_properties

        add_suite_properties(xml_path, state.log.junit_properties())
    if state.settings.report_dir is not None:
        from supervisor_testing.report import ReportData, write_reports

        directory = state.settings.report_dir
        data = ReportData.from_records(
            state.log.latest(), title="Supervisor test report", verdicts=tuple(state.log.verdicts)
        )
        write_reports(
            data,
            json_path=directory / "results.json",
            markdown_path=directory / "report.md",
            html_path=directory / "report.html",
        )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.is_worker or not len(state.log):
        return
    from supervisor_testing.report.tables import format_table

    header, rows = state.log.summary_rows()
    terminalreporter.write_sep("=", "supervisor-testing summary")
    for line in format_table(header, rows).splitlines():
        terminalreporter.write_line(line.rstrip())
    latest = state.log.latest()
    missing = [r for r in latest if r.baseline == "missing"]
    refused = [r for r in latest if r.baseline == "refused"]
    written = [r for r in latest if r.baseline == "written"]
    baseline_dir = state.settings.baseline_dir
    if missing:
        terminalreporter.write_line(
            f"{len(missing)} result(s) have no baseline in {baseline_dir}; record them with "
            "--supervisor-baseline-update"
        )
    for record in refused:
        terminalreporter.write_line(f"baseline refused: {record.baseline_note}")
    if written:
        terminalreporter.write_line(f"{len(written)} baseline(s) written to {baseline_dir}")
    if state.settings.report_dir is not None:
        terminalreporter.write_line(f"reports: {state.settings.report_dir}")
