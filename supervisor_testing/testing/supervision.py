"""The objects behind the pytest fixtures: evaluate, compare with baselines, record.

Nothing here imports pytest. The plugin builds one :class:`SupervisionSession` per test
session and one :class:`Supervision` per test, handing them the test's node id, its
parametrised supervisor and stress corpus, and callbacks that produce the model and fit
data only when a test needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_testing.assertions import SupervisionAssertionError, describe_result
from supervisor_testing.baselines import BaselineStore, Provenance, find_regressions
from supervisor_testing.errors import BaselineMismatchError, InvalidInputError
from supervisor_testing.testing.corpus_cache import CorpusCache
from supervisor_testing.testing.result_log import ResultLog, ResultRecord
from supervisor_testing.testing.settings import SupervisionSettings

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.evaluate import DetectionResult
    from supervisor_testing.supervisors import Supervisor

__all__ = ["NominalSplit", "Supervision", "SupervisionSession"]


class NominalSplit:
    """The nominal corpora of a session: ``test`` measures, ``calibration`` sets thresholds.

    ``calibration`` is ``None`` when the session splits ``test`` in half instead.
    """

    def __init__(self, test: Corpus, calibration: Corpus | None) -> None:
        self.test = test
        self.calibration = calibration

    def __repr__(self) -> str:
        calibration = self.calibration.name if self.calibration is not None else None
        return f"NominalSplit(test={self.test.name!r}, calibration={calibration!r})"


class SupervisionSession:
    """Session-wide state: settings, cached corpora and nominal scores, the result log.

    Args:
        settings: the session's defaults.
        corpora: resolves corpus specs; one per session so each corpus is verified once.
        log: receives one record per evaluation.
        baseline_dir: overrides ``settings.baseline_dir`` (gate files keep their own).
    """

    def __init__(
        self,
        settings: SupervisionSettings,
        *,
        corpora: CorpusCache | None = None,
        log: ResultLog | None = None,
    ) -> None:
        self.settings = settings
        self.corpora = corpora or CorpusCache(corpus_dir=settings.corpus_dir, root=settings.root)
        self.log = log if log is not None else ResultLog()
        self._scores: dict[tuple[str, ...], np.ndarray] = {}

    # -- corpora --------------------------------------------------------------------------

    def nominal_split(self) -> NominalSplit:
        """The configured nominal test and calibration corpora.

        Raises:
            InvalidInputError: no nominal corpus is configured.
        """
        if self.settings.nominal is None:
            raise InvalidInputError(
                "no nominal corpus configured: set supervisor_nominal (and optionally "
                "supervisor_calibration) in the pytest ini file, or pass nominal=... to "
                "supervision.evaluate"
            )
        calibration = self.settings.calibration
        return NominalSplit(
            self.corpora(self.settings.nominal),
            self.corpora(calibration) if calibration is not None else None,
        )

    # -- evaluation -----------------------------------------------------------------------

    def _scores_of(self, supervisor: Supervisor, corpus: Corpus, key: tuple[str, ...] | None):
        from supervisor_testing.evaluate import score_corpus

        if key is None:
            return score_corpus(supervisor, corpus)
        full_key = (*key, corpus.sha256())
        if full_key not in self._scores:
            self._scores[full_key] = score_corpus(supervisor, corpus)
        return self._scores[full_key]

    def run(
        self,
        supervisor: Supervisor,
        stress: Corpus,
        *,
        nominal: Corpus,
        calibration: Corpus | None = None,
        nodeid: str = "",
        cache_key: str | None = None,
        class_names: tuple[str, ...] = (),
        settings: SupervisionSettings | None = None,
    ) -> ResultRecord:
        """Evaluate ``supervisor`` on ``stress``, compare with the baseline and log it.

        Args:
            cache_key: a name that identifies the supervisor's scoring completely (a
                registered name with default parameters); nominal scores are then reused
                across tests. ``None`` scores nominal data every time.
            class_names: the model's class names where known, checked against the corpora.
            settings: overrides for this evaluation (FPR, level, seed, baselines).
        """
        from supervisor_testing.evaluate import evaluate_scores, score_corpus
        from supervisor_testing.label_space import check_label_space
        from supervisor_testing.models.fingerprint import model_sha256

        settings = settings or self.settings
        model = supervisor.model
        name = supervisor.name or type(supervisor).__name__
        corpora = [nominal, *([calibration] if calibration is not None else []), stress]
        check_label_space(
            model, corpora, class_names=class_names, model_name=f"the model of supervisor {name!r}"
        )
        model_hash = model_sha256(model)
        key = (cache_key, model_hash) if cache_key is not None else None
        result = evaluate_scores(
            score_corpus(supervisor, stress),
            self._scores_of(supervisor, nominal, key),
            None if calibration is None else self._scores_of(supervisor, calibration, key),
            supervisor=name,
            stress=stress.name,
            nominal=nominal.name,
            fpr=settings.fpr,
            ci_level=settings.ci_level,
            auroc_ci=settings.auroc_ci,  # type: ignore[arg-type]
            resamples=settings.resamples,
            seed=settings.seed,
        )
        provenance = Provenance(
            model_sha256=model_hash,
            stress_sha256=stress.sha256(),
            nominal_sha256=nominal.sha256(),
            calibration_sha256=calibration.sha256() if calibration is not None else None,
            seed=settings.seed,
        )
        state, note, changes = self._baseline(result, provenance, settings)
        paths = {"stress": str(stress.path), "nominal": str(nominal.path)}
        record = ResultRecord(nodeid, result, provenance, state, note, changes, paths)
        self.log.add(record)
        return record

    def _baseline(
        self, result: DetectionResult, provenance: Provenance, settings: SupervisionSettings
    ) -> tuple[str, str, dict[str, float] | None]:
        store = BaselineStore(settings.resolve_path(settings.baseline_dir))
        if settings.baseline_update:
            return "written", str(store.save(result, provenance)), None
        if not settings.compare_fail and not store.directory.is_dir():
            return "off", "", None
        try:
            comparison = store.compare(result, provenance)
        except BaselineMismatchError as exc:
            return "refused", str(exc), None
        if comparison is None:
            return "missing", f"no baseline at {store.path(result, provenance)}", None
        return "compared", "", dict(comparison.changes)


def check_against_baseline(record: ResultRecord, settings: SupervisionSettings) -> None:
    """Fail when ``settings.compare_fail`` is set and the baseline is missing, refused or
    beaten by more than a tolerance."""
    __tracebackhide__ = True
    tolerances = settings.compare_fail
    if not tolerances:
        return
    if record.baseline == "refused":
        raise BaselineMismatchError(record.baseline_note)
    if record.baseline == "missing":
        raise SupervisionAssertionError(
            f"{record.baseline_note}: a regression check needs a recorded baseline. Record "
            "one with --supervisor-baseline-update and commit it\n" + describe_result(record.result)
        )
    if record.baseline != "compared" or record.changes is None:
        return
    drops = find_regressions(record.result, record.changes, tolerances)
    if drops:
        raise SupervisionAssertionError(
            f"{record.result.supervisor} regressed on {record.result.stress!r} against the "
            f"baseline in {settings.resolve_path(settings.baseline_dir)}:\n  "
            + "\n  ".join(drops)
            + "\n"
            + describe_result(record.result)
        )


class Supervision:
    """What the ``supervision`` fixture returns: one test's door to evaluations.

    Args:
        session: the session's state.
        nodeid: the test's node id, recorded with every result.
        supervisor_name: the supervisor the test is parametrised with, if any.
        stress: the stress corpus the test is parametrised with, if any.
        get_model: returns the default model (the ``supervisor_model`` fixture).
        get_fit_data: returns data to fit supervisors that need it, or ``None``.
    """

    def __init__(
        self,
        session: SupervisionSession,
        *,
        nodeid: str = "",
        supervisor_name: str | None = None,
        stress: Corpus | None = None,
        get_model: Callable[[], Any] | None = None,
        get_fit_data: Callable[[], Any] | None = None,
    ) -> None:
        self.session = session
        self.nodeid = nodeid
        self.supervisor_name = supervisor_name
        self.stress = stress
        self._get_model = get_model
        self._get_fit_data = get_fit_data
        self.records: list[ResultRecord] = []

    @property
    def settings(self) -> SupervisionSettings:
        return self.session.settings

    def __repr__(self) -> str:
        return (
            f"Supervision(nodeid={self.nodeid!r}, supervisor={self.supervisor_name!r}, "
            f"stress={self.stress.name if self.stress is not None else None!r})"
        )

    def _model(self, model: Any) -> tuple[nn.Module, tuple[str, ...]]:
        if model is None:
            if self._get_model is None:
                raise InvalidInputError(
                    "no model: pass model=... or define a supervisor_model fixture"
                )
            model = self._get_model()
        module = getattr(model, "module", model)  # a TrainedModel carries its classes
        return module, tuple(getattr(model, "class_names", ()) or ())

    def _supervisor(self, supervisor: Any, model: Any) -> tuple[Supervisor, str | None, tuple]:
        from supervisor_testing.supervisors import Supervisor, create_supervisor, supervisors
        from supervisor_testing.supervisors.fit_cache import fit_supervisor

        if isinstance(supervisor, Supervisor):
            if model is not None:
                raise InvalidInputError(
                    "pass either a Supervisor instance or a supervisor name with model=..., "
                    "not both: the instance already wraps its model"
                )
            return supervisor, None, ()
        if supervisor is None:
            supervisor = self.supervisor_name
        if supervisor is None:
            raise InvalidInputError(
                "no supervisor: pass a Supervisor or a registered name to evaluate(), or "
                "mark the test with @pytest.mark.supervisor('name', ...)"
            )
        if not isinstance(supervisor, str):
            raise InvalidInputError(
                f"supervisor must be a Supervisor instance or a registered name, got "
                f"{type(supervisor).__name__}"
            )
        canonical = supervisors.resolve(supervisor)
        module, class_names = self._model(model)
        instance = create_supervisor(canonical, module)
        if instance.requires_fit:
            fit_data = self._get_fit_data() if self._get_fit_data is not None else None
            if fit_data is None:
                raise InvalidInputError(
                    f"supervisor {canonical!r} must be fitted on nominal training data: set "
                    "supervisor_train_data in the ini file or define a supervisor_fit_data "
                    "fixture (or pass a fitted Supervisor instance)"
                )
            fit_supervisor(instance, fit_data, cache=not self.settings.refit)
            canonical = None  # fitted state is not named by the key; do not share scores
        return instance, canonical, class_names

    def evaluate(
        self,
        supervisor: Supervisor | str | None = None,
        stress: str | Path | Corpus | None = None,
        *,
        model: Any = None,
        nominal: str | Path | Corpus | None = None,
        calibration: str | Path | Corpus | None = None,
        fpr: float | None = None,
        ci_level: float | None = None,
        resamples: int | None = None,
        seed: int | None = None,
    ) -> DetectionResult:
        """Evaluate a supervisor on a stress corpus against the session's nominal data.

        Args:
            supervisor: a fitted :class:`Supervisor`, a registered name (wrapped around
                ``model`` or the ``supervisor_model`` fixture), or ``None`` for the one
                the test is parametrised with.
            stress: a corpus, a corpus path or recipe name, or ``None`` for the one the
                test is parametrised with.
            nominal, calibration: override the session's nominal corpora.
            fpr, ci_level, resamples, seed: override the session's settings.

        Returns:
            The :class:`DetectionResult`; it is also recorded for the session summary,
            the JUnit properties and the reports.

        Raises:
            SupervisionAssertionError: ``--supervisor-compare-fail`` is set and the result
                regressed against its baseline, or no baseline exists.
            BaselineMismatchError: the baseline describes another model or corpus.
            InvalidInputError: an unknown supervisor or corpus, a corpus whose label space
                differs from the model's, or nothing to evaluate.
        """
        __tracebackhide__ = True
        instance, cache_key, class_names = self._supervisor(supervisor, model)
        if stress is None:
            stress = self.stress
        if stress is None:
            raise InvalidInputError(
                "no stress corpus: pass stress=... to evaluate(), or parametrise the test "
                "with @pytest.mark.supervisor(stress=[...]) or supervisor_stress in the ini file"
            )
        stress_corpus = self.session.corpora(stress)
        if nominal is None:
            split = self.session.nominal_split()
            nominal_corpus, calibration_corpus = split.test, split.calibration
        else:
            nominal_corpus = self.session.corpora(nominal)
            calibration_corpus = None
        if calibration is not None:
            calibration_corpus = self.session.corpora(calibration)
        overrides = {
            key: value
            for key, value in (
                ("fpr", fpr),
                ("ci_level", ci_level),
                ("resamples", resamples),
                ("seed", seed),
            )
            if value is not None
        }
        settings = replace(self.settings, **overrides) if overrides else self.settings
        record = self.session.run(
            instance,
            stress_corpus,
            nominal=nominal_corpus,
            calibration=calibration_corpus,
            nodeid=self.nodeid,
            cache_key=cache_key,
            class_names=class_names,
            settings=settings,
        )
        self.records.append(record)
        check_against_baseline(record, settings)
        return record.result
