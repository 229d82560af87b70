"""An evaluation plan: one model, several supervisors, several stress corpora.

The CLI's ``evaluate`` and the demo both run a plan, so a command line and its JSON record
describe the same computation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from supervisor_testing.evaluate import DetectionResult

__all__ = ["EvaluationPlan", "run_plan"]


@dataclass(frozen=True)
class EvaluationPlan:
    """Everything needed to reproduce a table of detection results.

    Attributes:
        model: architecture name (trained on ``train_data``), saved model directory or
            ``package.module:factory``.
        train_data: data set whose ``train`` split fits the model and the supervisors.
        supervisors: registered supervisor names.
        stress: stress corpora (directories or recipes).
        nominal: nominal test corpus.
        calibration: nominal corpus that sets thresholds; ``None`` splits ``nominal``.
    """

    model: str
    train_data: str
    supervisors: tuple[str, ...]
    stress: tuple[str, ...]
    nominal: str
    calibration: str | None = None
    fpr: float = 0.05
    ci_level: float = 0.95
    auroc_ci: str = "bootstrap"
    resamples: int = 1000
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["supervisors"] = list(self.supervisors)
        data["stress"] = list(self.stress)
        return data


def run_plan(
    plan: EvaluationPlan, *, progress: bool = False, refit: bool = False
) -> list[DetectionResult]:
    """Evaluate every supervisor on every stress corpus; rows ordered supervisor-major.

    Supervisors that need fitting load the state an earlier fit on the same model,
    parameters and training data cached, unless ``refit`` is set.
    """
    from supervisor_testing.data import load_dataset
    from supervisor_testing.evaluate import evaluate_scores, score_corpus
    from supervisor_testing.models import resolve_model
    from supervisor_testing.recipes import resolve_corpus
    from supervisor_testing.supervisors import create_supervisor, supervisors
    from supervisor_testing.supervisors.fit_cache import fit_supervisor

    for name in plan.supervisors:  # fail on a typo before any training or building
        supervisors.resolve(name)
    train = load_dataset(plan.train_data, "train")
    module = resolve_model(plan.model, dataset=train, seed=plan.seed, progress=progress).module
    nominal = resolve_corpus(plan.nominal, progress=progress)
    calibration = (
        None if plan.calibration is None else resolve_corpus(plan.calibration, progress=progress)
    )
    stress = [resolve_corpus(spec, progress=progress) for spec in plan.stress]

    results = []
    for name in plan.supervisors:
        supervisor = create_supervisor(name, module)
        fit_supervisor(supervisor, train, cache=not refit)
        nominal_scores = score_corpus(supervisor, nominal, progress=progress)
        calibration_scores = None if calibration is None else score_corpus(supervisor, calibration)
        for corpus in stress:
            results.append(
                evaluate_scores(
                    score_corpus(supervisor, corpus, progress=progress),
                    nominal_scores,
                    calibration_scores,
                    supervisor=supervisor.name,
                    stress=corpus.name,
                    nominal=nominal.name,
                    fpr=plan.fpr,
                    ci_level=plan.ci_level,
                    auroc_ci=plan.auroc_ci,  # type: ignore[arg-type]
                    resamples=plan.resamples,
                    seed=plan.seed,
                )
            )
    return results
