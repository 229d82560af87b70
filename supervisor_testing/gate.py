"""Release gates as data: which supervisors must catch which corpora, and how well.

A gate is a TOML file (or the ``[tool.supervisor_testing.gate]`` table of a
``pyproject.toml``)::

    model = "cnn"                       # architecture, saved model directory or module:factory
    train_data = "mnist"                # trains an architecture; fits supervisors that need it
    supervisors = ["max-softmax", "energy"]
    stress = ["mnist-far-ood-fashion"]  # recipe names (also in ./corpora/) or paths
    nominal = "mnist-test"
    calibration = "mnist-calibration"   # optional: without it the nominal corpus is split
    fpr = 0.05                          # optional settings: fpr, ci_level, auroc_ci,
    bound = "low"                       #   resamples, seed, bound, baseline_dir
    imports = ["my_monitors"]           # optional: modules that register your supervisors

    [[requirement]]                     # applies to every supervisor x stress pair ...
    min_auroc = 0.9
    min_tpr = 0.5
    max_auroc_drop = 0.02               # against the baseline

    [[requirement]]                     # ... unless it names some
    supervisors = ["energy"]
    min_tpr = 0.8

Each requirement key on each pair is one :class:`Requirement`; the pytest plugin collects
each as a test item and ``suptest gate`` checks them all (exit 0 when all hold, 1 when one
fails, 2 on bad input). Relative paths are read from the gate file's directory. Mistakes
are reported with the file and, where it can be found, the line.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_testing.assertions import (
    BOUNDS,
    SupervisionAssertionError,
    check_aupr,
    check_auroc,
    check_detects,
    describe_result,
)
from supervisor_testing.baselines import DEFAULT_BASELINE_DIR, find_regressions
from supervisor_testing.errors import (
    BaselineMismatchError,
    InvalidInputError,
    SupervisorTestingError,
)
from supervisor_testing.testing.corpus_cache import CorpusCache
from supervisor_testing.testing.result_log import ResultLog, ResultRecord
from supervisor_testing.testing.settings import SupervisionSettings
from supervisor_testing.toml_positions import TomlPositions, toml_error_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.evaluate import DetectionResult
    from supervisor_testing.models.storage import TrainedModel
    from supervisor_testing.testing.supervision import SupervisionSession

__all__ = [
    "CHECKS",
    "PYPROJECT_TABLE",
    "Gate",
    "GateOutcome",
    "GateRunner",
    "Requirement",
    "Verdict",
    "has_gate_table",
    "load_gate",
    "run_gate",
]

#: Where a gate lives inside ``pyproject.toml``.
PYPROJECT_TABLE = ("tool", "supervisor_testing", "gate")

#: Requirement keys: what each compares and with which sign.
CHECKS = {
    "min_auroc": "AUROC at least",
    "min_tpr": "TPR at the nominal FPR at least",
    "min_aupr": "AUPR at least",
    "max_auroc_drop": "AUROC drop against the baseline at most",
    "max_tpr_drop": "TPR drop against the baseline at most",
    "max_aupr_drop": "AUPR drop against the baseline at most",
}
_GATE_KEYS = (
    "description",
    "imports",
    "model",
    "train_data",
    "seed",
    "supervisors",
    "stress",
    "nominal",
    "calibration",
    "fpr",
    "ci_level",
    "auroc_ci",
    "resamples",
    "bound",
    "baseline_dir",
    "requirement",
)
_REQUIREMENT_KEYS = ("supervisors", "stress", "bound", *CHECKS)


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


@dataclass(frozen=True)
class Requirement:
    """One requirement on one supervisor x stress pair: a single pass/fail check.

    Attributes:
        check: a key of :data:`CHECKS`, e.g. ``"min_auroc"``.
        supervisor: the canonical supervisor name.
        stress: the stress corpus spec as the gate file writes it.
        value: the threshold (a minimum, or the largest tolerated drop).
        bound: for ``min_*`` checks, which number of the estimate is compared.
        line: the line of the key in the gate file (``None`` if unknown).
    """

    check: str
    supervisor: str
    stress: str
    value: float
    bound: str = "low"
    line: int | None = None

    @property
    def name(self) -> str:
        """A test id such as ``min_auroc[max-softmax-mnist-far-ood-fashion]``."""
        label = (
            Path(self.stress).stem if ("/" in self.stress or "\\" in self.stress) else self.stress
        )
        return f"{self.check}[{self.supervisor}-{label}]"

    @property
    def metric(self) -> str:
        return self.check.removeprefix("min_").removeprefix("max_").removesuffix("_drop")

    def describe(self) -> str:
        """``AUROC at least 0.9 (lower bound)``, for reports."""
        if self.check.startswith("min_"):
            bound = {"low": "lower bound", "value": "point estimate", "high": "upper bound"}
            return f">= {self.value:g} ({bound[self.bound]})"
        return f"drop <= {self.value:g}"


@dataclass(frozen=True)
class Gate:
    """A parsed, validated gate (see the module docstring for the file format)."""

    path: Path
    model: str
    supervisors: tuple[str, ...]
    stress: tuple[str, ...]
    nominal: str
    requirements: tuple[Requirement, ...]
    train_data: str | None = None
    calibration: str | None = None
    seed: int = 0
    fpr: float = 0.05
    ci_level: float = 0.95
    auroc_ci: str = "bootstrap"
    resamples: int = 1000
    bound: str = "low"
    baseline_dir: Path = Path(DEFAULT_BASELINE_DIR)
    description: str = ""
    imports: tuple[str, ...] = ()
    lines: Mapping[str, int | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def directory(self) -> Path:
        """Relative paths in the gate are read from here."""
        return self.path.parent

    def where(self, key: str) -> str:
        """``file:line`` of a top-level key, for messages."""
        return _where(self.path, self.lines.get(key))

    def settings(self, *, baseline_update: bool = False) -> SupervisionSettings:
        """The gate's settings in the form the evaluation session takes."""
        return SupervisionSettings(
            fpr=self.fpr,
            ci_level=self.ci_level,
            bound=self.bound,
            auroc_ci=self.auroc_ci,
            resamples=self.resamples,
            seed=self.seed,
            nominal=self.nominal,
            calibration=self.calibration,
            stress=self.stress,
            root=self.directory,
            model=self.model,
            train_data=self.train_data,
            baseline_dir=self.baseline_dir,
            baseline_update=baseline_update,
        )

    def corpus_cache(self) -> CorpusCache:
        """Looks names up in ``corpora/`` beside the gate file first, then the recipe path."""
        local = self.directory / "corpora"
        return CorpusCache(corpus_dir=local if local.is_dir() else None, root=self.directory)


class _Parser:
    """Validates the parsed TOML of one gate; every error names the file and line."""

    def __init__(self, path: Path, lines: TomlPositions) -> None:
        self.path = path
        self.lines = lines

    def fail(self, problem: str, key: str, *, section: str = "", index: int = 0, value=None):
        line = self.lines.find(key.split("[")[0], section=section, index=index, value=value)
        if line is None and section:
            line = self.lines.table(section, index)
        raise InvalidInputError(f"{_where(self.path, line)}: {problem}")

    def keys(self, table: Mapping[str, Any], allowed: Sequence[str], *, section: str = "", index=0):
        for key in table:
            if key not in allowed:
                what = f"[[{section}]] table" if section else "gate"
                self.fail(
                    f"unknown key {key!r} in the {what}; allowed: {', '.join(allowed)}",
                    key,
                    section=section,
                    index=index,
                )

    def text(self, table, key, *, required=False, section="", index=0) -> str | None:
        if key not in table:
            if required:
                raise InvalidInputError(
                    f"{_where(self.path, self.lines.table(section, index))}: the gate needs "
                    f'{key} = "..." ({_REQUIRED_HELP[key]})'
                )
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(
                f"{key} must be a non-empty string, got {value!r}",
                key,
                section=section,
                index=index,
            )
        return value

    def names(self, table, key, *, section="", index=0) -> tuple[str, ...] | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.fail(
                f"{key} must be a non-empty list of strings, got {value!r}",
                key,
                section=section,
                index=index,
            )
        if len(set(value)) != len(value):
            self.fail(f"{key} lists a name twice: {value!r}", key, section=section, index=index)
        return tuple(value)

    def number(self, table, key, *, low, high, integer=False, section="", index=0, open_=False):
        value = table[key]
        kinds = (int,) if integer else (int, float)
        ok = isinstance(value, kinds) and not isinstance(value, bool)
        if ok and not integer:
            ok = not math.isnan(value) and (low < value < high if open_ else low <= value <= high)
        elif ok:
            ok = low <= value <= high
        if not ok:
            interval = f"({low}, {high})" if open_ else f"[{low}, {high}]"
            kind = "an integer" if integer else "a number"
            self.fail(
                f"{key} must be {kind} in {interval}, got {value!r}",
                key,
                section=section,
                index=index,
            )
        return value

    def bound(self, table, *, default: str, section="", index=0) -> str:
        value = table.get("bound", default)
        if value not in BOUNDS:
            self.fail(
                f"bound must be one of {', '.join(map(repr, BOUNDS))}, got {value!r}",
                "bound",
                section=section,
                index=index,
            )
        return value


_REQUIRED_HELP = {
    "model": "an architecture such as cnn, a saved model directory or package.module:factory",
    "nominal": "the nominal test corpus: a recipe name or a corpus path",
}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"gate file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"gate file {path} cannot be read ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = toml_error_line(exc)
        raise InvalidInputError(
            f"{_where(path, line)}: invalid TOML ({exc}); fix the syntax"
        ) from None


def has_gate_table(path: str | Path) -> bool:
    """Whether a ``pyproject.toml`` holds a ``[tool.supervisor_testing.gate]`` table."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    table: Any = data
    for part in PYPROJECT_TABLE:
        if not isinstance(table, dict) or part not in table:
            return False
        table = table[part]
    return isinstance(table, dict)


def load_gate(path: str | Path, *, check_names: bool = True) -> Gate:
    """Read and validate a gate file, or the gate table of a ``pyproject.toml``.

    Args:
        path: the TOML file.
        check_names: also check that every supervisor is registered and every corpus can
            be found (imports the supervisor registry, and with it torch).

    Raises:
        InvalidInputError: malformed TOML, an unknown key, a value of the wrong type or
            range, an unknown supervisor or corpus; the message starts with ``file:line``.
    """
    path = Path(path).resolve() if Path(path).exists() else Path(path)
    data = _read_toml(path)
    base = ""
    if path.name == "pyproject.toml":
        table: Any = data
        for part in PYPROJECT_TABLE:
            table = table.get(part) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            raise InvalidInputError(
                f"{path} has no [{'.'.join(PYPROJECT_TABLE)}] table; add one or pass a gate file"
            )
        data, base = table, ".".join(PYPROJECT_TABLE)
    lines = TomlPositions(path.read_text(encoding="utf-8"), base)
    parse = _Parser(path, lines)
    parse.keys(data, _GATE_KEYS)
    model = parse.text(data, "model", required=True)
    nominal = parse.text(data, "nominal", required=True)
    supervisors = parse.names(data, "supervisors")
    stress = parse.names(data, "stress")
    if supervisors is None or stress is None:
        missing = "supervisors" if supervisors is None else "stress"
        raise InvalidInputError(
            f"{path}: the gate needs {missing} = [...] "
            + ("(registered supervisor names)" if missing == "supervisors" else "(corpora)")
        )
    options: dict[str, Any] = {}
    for key, low, high, integer, open_ in (
        ("fpr", 0, 1, False, True),
        ("ci_level", 0, 1, False, True),
        ("resamples", 1, 10**7, True, False),
        ("seed", 0, 2**63 - 1, True, False),
    ):
        if key in data:
            options[key] = parse.number(data, key, low=low, high=high, integer=integer, open_=open_)
    for key in ("train_data", "calibration", "description"):
        if key in data:
            options[key] = parse.text(data, key)
    if "auroc_ci" in data and data["auroc_ci"] not in ("bootstrap", "delong"):
        parse.fail(
            f"auroc_ci must be 'bootstrap' or 'delong', got {data['auroc_ci']!r}", "auroc_ci"
        )
    if "auroc_ci" in data:
        options["auroc_ci"] = data["auroc_ci"]
    bound = parse.bound(data, default="low")
    baseline_dir = path.parent / (parse.text(data, "baseline_dir") or DEFAULT_BASELINE_DIR)

    gate_lines = {key: lines.find(key) for key in data if key != "requirement"}
    imports = parse.names(data, "imports") or ()
    if check_names:
        _import_modules(imports, path.parent, parse)
        supervisors = _canonical_supervisors(supervisors, parse)
    requirements = _requirements(data, parse, supervisors, stress, bound)
    gate = Gate(
        path=path,
        model=model,  # type: ignore[arg-type]
        supervisors=supervisors,
        stress=stress,
        nominal=nominal,  # type: ignore[arg-type]
        requirements=requirements,
        bound=bound,
        baseline_dir=baseline_dir,
        lines=gate_lines,
        imports=imports,
        **options,
    )
    if check_names:
        _check_corpora(gate, parse)
    return gate


def _import_modules(modules: Sequence[str], directory: Path, parse: _Parser) -> None:
    """Import the modules that register the gate's own supervisors (beside the gate file)."""
    import importlib

    for module in modules:
        with _on_sys_path(directory):
            try:
                importlib.import_module(module)
            except ImportError as exc:
                parse.fail(
                    f"cannot import {module!r} ({exc}); name a module importable from "
                    f"{directory} or an installed package",
                    "imports",
                    value=module,
                )


def _canonical_supervisors(names: Sequence[str], parse: _Parser) -> tuple[str, ...]:
    from supervisor_testing.errors import UnknownNameError
    from supervisor_testing.supervisors import supervisors as registry

    canonical = []
    for name in names:
        try:
            canonical.append(registry.resolve(name))
        except UnknownNameError as exc:
            parse.fail(str(exc), "supervisors", value=name)
    return tuple(canonical)


def _check_corpora(gate: Gate, parse: _Parser) -> None:
    cache = gate.corpus_cache()
    specs = [("nominal", gate.nominal)] + [("stress", s) for s in gate.stress]
    if gate.calibration is not None:
        specs.append(("calibration", gate.calibration))
    for key, spec in specs:
        try:
            cache.locate(spec)
        except SupervisorTestingError as exc:
            parse.fail(str(exc), key, value=spec)


def _requirements(
    data: Mapping[str, Any],
    parse: _Parser,
    supervisors: tuple[str, ...],
    stress: tuple[str, ...],
    bound: str,
) -> tuple[Requirement, ...]:
    tables = data.get("requirement")
    if tables is None:
        raise InvalidInputError(
            f"{parse.path}: the gate has no requirements; add a [[requirement]] table with "
            "e.g. min_auroc = 0.9"
        )
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        parse.fail("requirement must be [[requirement]] tables", "requirement")
    out: list[Requirement] = []
    seen: dict[tuple[str, str, str], int | None] = {}
    for index, table in enumerate(tables):
        section = "requirement"
        parse.keys(table, _REQUIREMENT_KEYS, section=section, index=index)
        chosen_supervisors = parse.names(table, "supervisors", section=section, index=index)
        chosen_stress = parse.names(table, "stress", section=section, index=index)
        selected = _select(chosen_supervisors, supervisors, "supervisors", parse, index)
        selected_stress = _select(chosen_stress, stress, "stress", parse, index)
        table_bound = parse.bound(table, default=bound, section=section, index=index)
        checks = [key for key in table if key in CHECKS]
        if not checks:
            parse.fail(
                f"a [[requirement]] table needs at least one of {', '.join(CHECKS)}",
                "requirement",
                section=section,
                index=index,
            )
        for check in checks:
            value = parse.number(table, check, low=0, high=1, section=section, index=index)
            line = parse.lines.find(check, section=section, index=index)
            for supervisor in selected:
                for corpus in selected_stress:
                    key = (check, supervisor, corpus)
                    if key in seen:
                        raise InvalidInputError(
                            f"{_where(parse.path, line)}: {check} for {supervisor} on {corpus!r} "
                            f"is already required at line {seen[key]}; state it once"
                        )
                    seen[key] = line
                    out.append(
                        Requirement(check, supervisor, corpus, float(value), table_bound, line)
                    )
    return tuple(out)


def _select(
    chosen: tuple[str, ...] | None,
    available: tuple[str, ...],
    key: str,
    parse: _Parser,
    index: int,
) -> tuple[str, ...]:
    if chosen is None:
        return available
    selected = []
    for name in chosen:
        match = name
        if key == "supervisors" and name not in available:
            with contextlib.suppress(SupervisorTestingError):
                from supervisor_testing.supervisors import supervisors as registry

                match = registry.resolve(name)
        if match not in available:
            parse.fail(
                f"{key} entry {name!r} is not in the gate's {key} ({', '.join(available)}); "
                "add it there first",
                key,
                section="requirement",
                index=index,
                value=name,
            )
        selected.append(match)
    return tuple(selected)


# ---------------------------------------------------------------------------------------
# Running a gate


@dataclass(frozen=True)
class Verdict:
    """Whether one requirement holds, with the numbers and a message for people.

    Attributes:
        requirement: what was checked.
        passed: whether it holds.
        observed: the number compared, as text (e.g. ``"0.912 (lower 95% bound)"``).
        message: the explanation (a failure shows the full evidence).
        stress_name: the name of the stress corpus as evaluated.
    """

    requirement: Requirement
    passed: bool
    observed: str
    message: str
    stress_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        r = self.requirement
        return {
            "requirement": r.check,
            "supervisor": r.supervisor,
            "stress": self.stress_name or r.stress,
            "required": r.describe(),
            "observed": self.observed,
            "passed": self.passed,
            "message": self.message,
            "line": r.line,
        }


@contextlib.contextmanager
def _on_sys_path(directory: Path) -> Iterator[None]:
    # A 'package.module:factory' model in a gate names the user's own code, which lives
    # beside the gate file; pytest puts the rootdir on sys.path the same way.
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


class GateRunner:
    """Evaluates a gate's supervisor x stress pairs lazily and checks its requirements.

    The model, the corpora and each pair's result are computed once, on first need, so a
    pytest run that selects one requirement evaluates only its pair.

    Args:
        gate: the parsed gate.
        baseline_update: record baselines instead of comparing with them.
        log: receives one record per evaluated pair (the pytest session's log).
        progress: show progress bars (training, building corpora).
        refit: fit supervisors afresh instead of loading state cached by an earlier fit
            on the same model, parameters and training data.
    """

    def __init__(
        self,
        gate: Gate,
        *,
        baseline_update: bool = False,
        log: ResultLog | None = None,
        progress: bool = False,
        refit: bool = False,
    ) -> None:
        self.gate = gate
        self.baseline_update = baseline_update
        self.progress = progress
        self.refit = refit
        self.log = log if log is not None else ResultLog()
        self._session: SupervisionSession | None = None
        self._model: TrainedModel | None = None
        self._train: Any = None
        self._records: dict[tuple[str, str], ResultRecord] = {}
        self._checked_corpora: set[str] = set()

    def _session_state(self) -> SupervisionSession:
        if self._session is None:
            from supervisor_testing.testing.supervision import SupervisionSession

            self._session = SupervisionSession(
                self.gate.settings(baseline_update=self.baseline_update),
                corpora=self.gate.corpus_cache(),
                log=self.log,
            )
        return self._session

    def _train_data(self) -> Any:
        if self._train is None and self.gate.train_data is not None:
            from supervisor_testing.data import load_dataset

            with _errors_at(self.gate.where("train_data")):
                self._train = load_dataset(self.gate.train_data, "train")
        return self._train

    def model(self) -> TrainedModel:
        """The gate's model, trained or loaded on first use."""
        if self._model is None:
            from supervisor_testing.models import resolve_model

            spec = self.gate.model
            local = self.gate.directory / spec
            if not Path(spec).is_absolute() and ("/" in spec or spec.startswith(".")):
                spec = str(local)
            with _errors_at(self.gate.where("model")), _on_sys_path(self.gate.directory):
                self._model = resolve_model(
                    spec, dataset=self._train_data(), seed=self.gate.seed, progress=self.progress
                )
        return self._model

    def _corpus(self, spec: str, key: str) -> Corpus:
        with _errors_at(self.gate.where(key)):
            return self._session_state().corpora(spec)

    def _check_corpus(self, corpus: Corpus, nominal: Corpus, key: str, model: TrainedModel):
        if corpus.name in self._checked_corpora:
            return
        from supervisor_testing.label_space import check_label_space

        with _errors_at(self.gate.where(key)):
            corpora = [nominal] if corpus is nominal else [nominal, corpus]
            check_label_space(
                model.module,
                corpora,
                class_names=model.class_names,
                model_name=f"model {self.gate.model!r}",
            )
        self._checked_corpora.add(corpus.name)

    def record(self, supervisor: str, stress: str) -> ResultRecord:
        """The evaluated result of one pair (computed on first call)."""
        key = (supervisor, stress)
        if key in self._records:
            return self._records[key]
        from supervisor_testing.supervisors import create_supervisor
        from supervisor_testing.supervisors.fit_cache import fit_supervisor

        gate = self.gate
        model = self.model()
        nominal = self._corpus(gate.nominal, "nominal")
        self._check_corpus(nominal, nominal, "nominal", model)
        calibration = None
        if gate.calibration is not None:
            calibration = self._corpus(gate.calibration, "calibration")
            self._check_corpus(calibration, nominal, "calibration", model)
        stress_corpus = self._corpus(stress, "stress")
        self._check_corpus(stress_corpus, nominal, "stress", model)
        instance = create_supervisor(supervisor, model.module)
        cache_key: str | None = supervisor
        if instance.requires_fit:
            train = self._train_data()
            if train is None:
                raise InvalidInputError(
                    f"{gate.where('supervisors')}: supervisor {supervisor!r} must be fitted on "
                    'training data; add train_data = "..." to the gate'
                )
            fit_supervisor(instance, train, cache=not self.refit)
        session = self._session_state()
        record = session.run(
            instance,
            stress_corpus,
            nominal=nominal,
            calibration=calibration,
            nodeid=f"{gate.path.name}::{supervisor}-{stress}",
            cache_key=cache_key,
        )
        self._records[key] = record
        return record

    def check(self, requirement: Requirement) -> Verdict:
        """Evaluate ``requirement``'s pair (if not yet) and judge it.

        Raises:
            BaselineMismatchError: a drop requirement whose baseline describes another
                model or corpus.
        """
        record = self.record(requirement.supervisor, requirement.stress)
        result = record.result
        if requirement.check.startswith("min_"):
            return self._check_minimum(requirement, result)
        return self._check_drop(requirement, record)

    def _check_minimum(self, requirement: Requirement, result: DetectionResult) -> Verdict:
        metric = requirement.metric
        estimate = getattr(result, metric)
        observed_value = getattr(estimate, requirement.bound)
        label = {"low": "lower bound", "value": "point estimate", "high": "upper bound"}
        observed = f"{observed_value:.4f} ({label[requirement.bound]})"
        check = {"auroc": check_auroc, "aupr": check_aupr}.get(metric)
        try:
            if check is not None:
                check(result, min=requirement.value, bound=requirement.bound)  # type: ignore[arg-type]
            else:
                check_detects(result, min_tpr=requirement.value, bound=requirement.bound)  # type: ignore[arg-type]
        except SupervisionAssertionError as exc:
            return Verdict(
                requirement, False, observed, f"{self._where(requirement)}: {exc}", result.stress
            )
        name = result.tpr_name if metric == "tpr" else metric.upper()
        message = f"{name} {observed} >= {requirement.value:g}"
        return Verdict(requirement, True, observed, message, result.stress)

    def _check_drop(self, requirement: Requirement, record: ResultRecord) -> Verdict:
        result = record.result
        where = self._where(requirement)
        if record.baseline == "written":
            return Verdict(
                requirement,
                True,
                "baseline written",
                f"baseline written to {record.baseline_note}",
                result.stress,
            )
        if record.baseline == "refused":
            raise BaselineMismatchError(f"{where}: {record.baseline_note}")
        if record.baseline != "compared" or record.changes is None:
            return Verdict(
                requirement,
                False,
                "no baseline",
                f"{where}: {record.baseline_note or 'no baseline'}; a drop requirement needs "
                "a recorded baseline: run `suptest gate --update-baseline` (or pytest "
                "--supervisor-baseline-update) on the accepted model and commit it",
                result.stress,
            )
        change = record.changes[requirement.metric]
        observed = f"{change:+.4f}"
        drops = find_regressions(result, record.changes, {requirement.metric: requirement.value})
        if drops:
            message = f"{where}: {result.supervisor} on {result.stress!r}: {drops[0]}\n"
            return Verdict(
                requirement, False, observed, message + describe_result(result), result.stress
            )
        return Verdict(
            requirement,
            True,
            observed,
            f"{requirement.metric} changed by {observed}",
            result.stress,
        )

    def _where(self, requirement: Requirement) -> str:
        return _where(self.gate.path, requirement.line)

    def run(self) -> list[Verdict]:
        """Check every requirement, in file order."""
        return [self.check(requirement) for requirement in self.gate.requirements]

    def records(self) -> list[ResultRecord]:
        """The evaluated pairs so far, in evaluation order."""
        return list(self._records.values())


@contextlib.contextmanager
def _errors_at(where: str) -> Iterator[None]:
    """Prefix a user error raised inside the block with the gate file and line."""
    try:
        yield
    except SupervisorTestingError as exc:
        if str(exc).startswith(where):
            raise
        raise type(exc)(f"{where}: {exc}") from None


@dataclass(frozen=True)
class GateOutcome:
    """What :func:`run_gate` found: the verdicts and the results behind them."""

    gate: Gate
    verdicts: list[Verdict]
    records: list[ResultRecord]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)


def run_gate(
    path: str | Path,
    *,
    baseline_update: bool = False,
    baseline_dir: str | Path | None = None,
    progress: bool = False,
    refit: bool = False,
) -> GateOutcome:
    """Load a gate file and check every requirement (what ``suptest gate`` runs).

    Args:
        baseline_update: record the results as the new baselines instead of comparing.
        baseline_dir: overrides the gate's ``baseline_dir``.
        refit: fit supervisors afresh instead of loading cached fitted state.

    Raises:
        InvalidInputError: the gate file is invalid (see :func:`load_gate`).
        BaselineMismatchError: a baseline describes another model or corpus.
    """
    gate = load_gate(path)
    if baseline_dir is not None:
        gate = replace(gate, baseline_dir=Path(baseline_dir).resolve())
    runner = GateRunner(gate, baseline_update=baseline_update, progress=progress, refit=refit)
    verdicts = runner.run()
    return GateOutcome(gate=gate, verdicts=verdicts, records=runner.records())
