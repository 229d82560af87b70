"""Fitted supervisors are cached on disk: gates, plans and the plugin fit once, then load.

Fits are counted by wrapping the supervisor class's ``fit``; a load must give scores
identical to the fit's, and anything the state depends on (model weights, parameters,
nominal data) must lead to a refit instead of a load.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from supervision_project import TOY_MODEL, write_corpora
from zoo_models import ToyNet, images, toy_dataset

from supervisor_testing.supervisors import Supervisor, create_supervisor
from supervisor_testing.supervisors.feature.knn import KNN
from supervisor_testing.supervisors.feature.mahalanobis import Mahalanobis
from supervisor_testing.supervisors.fit_cache import fit_cache_key, fit_supervisor
from supervisor_testing.supervisors.result_cache import clear_shared_caches
from supervisor_testing.supervisors.state import CONFIG_NAME


@pytest.fixture(autouse=True)
def _fresh(scratch_cache: Path):
    clear_shared_caches()
    yield
    clear_shared_caches()


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the supervisors whose ``fit`` actually ran, in order."""
    calls: list[str] = []
    for cls in (Mahalanobis, KNN):
        original = cls.fit

        def counted(self, nominal, _original=original):
            calls.append(self.name)
            return _original(self, nominal)

        monkeypatch.setattr(cls, "fit", counted)
    return calls


def _cached(scratch_cache: Path) -> list[Path]:
    folder = scratch_cache / "supervisors"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_second_fit_loads_and_scores_identically(fits, scratch_cache: Path) -> None:
    model, train, queries = ToyNet(), toy_dataset(), images(50, seed=3)
    first = fit_supervisor(create_supervisor("mahalanobis", model), train)
    assert fits == ["mahalanobis"]
    assert [p.name for p in _cached(scratch_cache)] == [fit_cache_key(first, train)]
    clear_shared_caches()  # no activations shared in memory: the load alone must suffice
    second = fit_supervisor(create_supervisor("mahalanobis", model), train)
    assert fits == ["mahalanobis"]  # loaded, not fitted
    assert second.fitted_
    assert torch.equal(first.score(queries), second.score(queries))
    assert torch.equal(first.whitening_, second.whitening_)


def test_anything_the_state_depends_on_refits(fits, scratch_cache: Path) -> None:
    model, train = ToyNet(), toy_dataset()
    fit_supervisor(create_supervisor("knn", model, k=5), train)
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.head.bias.add_(0.01)  # retrained weights, in miniature
    fit_supervisor(create_supervisor("knn", other, k=5), train)
    fit_supervisor(create_supervisor("knn", model, k=7), train)
    fit_supervisor(create_supervisor("knn", model, k=5), toy_dataset(seed=1))
    assert fits == ["knn"] * 4
    assert len(_cached(scratch_cache)) == 4
    # ... and each of them is found again.
    fit_supervisor(create_supervisor("knn", other, k=5), train)
    assert len(fits) == 4


def test_state_cached_for_another_model_is_not_loaded(fits, scratch_cache: Path) -> None:
    """Even a state directory copied under this model's key is refused and refitted."""
    model, other, train = ToyNet(), ToyNet(seed=1), toy_dataset()
    fitted_other = fit_supervisor(create_supervisor("knn", other, k=5), train)
    (source,) = _cached(scratch_cache)
    target = (
        scratch_cache / "supervisors" / fit_cache_key(create_supervisor("knn", model, k=5), train)
    )
    source.rename(target)
    mine = fit_supervisor(create_supervisor("knn", model, k=5), train)
    assert fits == ["knn", "knn"]
    assert not torch.equal(mine.bank_, fitted_other.bank_)


def test_refit_ignores_the_cache(fits, scratch_cache: Path) -> None:
    model, train = ToyNet(), toy_dataset()
    fit_supervisor(create_supervisor("knn", model, k=5), train, cache=False)
    assert _cached(scratch_cache) == []
    fit_supervisor(create_supervisor("knn", model, k=5), train)
    fit_supervisor(create_supervisor("knn", model, k=5), train, cache=False)
    assert fits == ["knn"] * 3


def test_a_damaged_cache_entry_is_refitted_and_rewritten(fits, scratch_cache: Path) -> None:
    model, train, queries = ToyNet(), toy_dataset(), images(20, seed=4)
    first = fit_supervisor(create_supervisor("knn", model, k=5), train)
    (entry,) = _cached(scratch_cache)
    (entry / CONFIG_NAME).write_text("{ not json")
    second = fit_supervisor(create_supervisor("knn", model, k=5), train)
    assert fits == ["knn", "knn"]
    assert torch.equal(first.score(queries), second.score(queries))
    fit_supervisor(create_supervisor("knn", model, k=5), train)
    assert fits == ["knn", "knn"]  # the rewritten entry loads


class _MeanDistance(Supervisor):
    """A user supervisor that fits but does not say how to save its state."""

    name = "mean-distance"
    requires_fit = True
    fitted = 0

    def fit(self, nominal):
        type(self).fitted += 1
        self.mean_ = nominal.float().mean(dim=0)
        self.fitted_ = True
        return self

    def score(self, x):
        return (x.float() - self.mean_).flatten(1).norm(dim=1)


def test_supervisors_without_savable_state_skip_the_cache(scratch_cache: Path) -> None:
    model, x = ToyNet(), images(30, seed=5)
    for _ in range(2):
        assert fit_supervisor(_MeanDistance(model), x).fitted_
    assert _MeanDistance.fitted == 2
    softmax = create_supervisor("max-softmax", model)
    assert fit_supervisor(softmax, x) is softmax  # nothing to fit: nothing fitted or saved
    assert _cached(scratch_cache) == []


# -- the paths that fit supervisors: the plugin's Supervision, and gates -------------------


@pytest.fixture(scope="module")
def corpora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fit-cache-corpora")
    write_corpora(directory)
    return directory


def _toy_model() -> torch.nn.Module:
    namespace: dict = {}
    exec(textwrap.dedent(TOY_MODEL), namespace)
    return namespace["build"]()


def test_plugin_supervision_fits_once_unless_refit(fits, corpora_dir: Path) -> None:
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.testing import SupervisionSession
    from supervisor_testing.testing.settings import SupervisionSettings
    from supervisor_testing.testing.supervision import Supervision

    fit_data = Corpus.open(corpora_dir / "dark-cal").load(["images"])["images"]
    model = _toy_model()

    def evaluate(**settings):
        session = SupervisionSession(
            SupervisionSettings(
                corpus_dir=corpora_dir, nominal="dark-test", resamples=50, **settings
            )
        )
        supervision = Supervision(session, get_model=lambda: model, get_fit_data=lambda: fit_data)
        return supervision.evaluate("knn", "bright")

    first = evaluate()
    second = evaluate()
    assert fits == ["knn"]
    assert second.auroc == first.auroc
    evaluate(refit=True)
    assert fits == ["knn", "knn"]


GATE = """
model = "{module}:build"
train_data = "toy"
supervisors = ["mahalanobis", "knn"]
stress = ["corpora/bright"]
nominal = "corpora/dark-test"
calibration = "corpora/dark-cal"
resamples = 50

[[requirement]]
min_auroc = 0.0
"""


def test_gate_fits_once_per_supervisor_across_runs(
    fits, corpora_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supervisor_testing.cli import main
    from supervisor_testing.corpus import Corpus
    from supervisor_testing.gate import GateRunner, run_gate

    fit_data = Corpus.open(corpora_dir / "dark-cal").to_dataset()
    # train_data names a data set; this one stands in for it without a download.
    monkeypatch.setattr(GateRunner, "_train_data", lambda self: fit_data)
    module = f"fit_cache_model_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(TOY_MODEL))
    (tmp_path / "corpora").symlink_to(corpora_dir)
    gate = tmp_path / "gate.toml"
    gate.write_text(textwrap.dedent(GATE).format(module=module))

    first = run_gate(gate)
    assert sorted(fits) == ["knn", "mahalanobis"]
    second = run_gate(gate)
    assert sorted(fits) == ["knn", "mahalanobis"]
    assert [r.result.auroc for r in second.records] == [r.result.auroc for r in first.records]
    result = CliRunner().invoke(main, ["gate", str(gate), "--refit"])
    assert result.exit_code == 0, result.output
    assert sorted(fits) == ["knn", "knn", "mahalanobis", "mahalanobis"]
