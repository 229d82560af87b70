"""Shipped recipes outside a source checkout: a regular install finds its copy of corpora/."""

from __future__ import annotations

import configparser
import glob
from importlib.metadata import Distribution
from pathlib import Path

import pytest

import supervisor_testing.recipes as recipes
from supervisor_testing.errors import UnknownNameError

REPO = Path(__file__).resolve().parents[1]


def test_a_checkout_uses_its_own_corpora_folder() -> None:
    assert recipes.shipped_recipes_dir() == REPO / "corpora"


def test_the_wheel_ships_every_recipe() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    patterns = config["options.data_files"]["share/supervisor-testing/corpora"].split()
    shipped = {Path(f).name for pattern in patterns for f in glob.glob(str(REPO / pattern))}
    assert shipped == {p.name for p in (REPO / "corpora").glob("*.toml")} and shipped


def _installed_layout(root: Path, records: list[str]) -> Path:
    """A site-packages folder with the package and a dist-info whose RECORD lists files."""
    site = root / "lib" / "site-packages"
    (site / "supervisor_testing").mkdir(parents=True)
    info = site / "supervisor_testing-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: supervisor-testing\n")
    (info / "RECORD").write_text("".join(f"{r},,\n" for r in records))
    return site


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Pretend the package was installed from a wheel under ``tmp_path``."""

    def install(records: list[str]) -> Path:
        site = _installed_layout(tmp_path, records)
        info = Distribution.at(site / "supervisor_testing-0.1.0.dist-info")
        monkeypatch.setattr(recipes, "__file__", str(site / "supervisor_testing" / "recipes.py"))
        monkeypatch.setattr("importlib.metadata.distribution", lambda name: info)
        monkeypatch.chdir(tmp_path)  # no ./corpora here
        monkeypatch.delenv(recipes.RECIPES_ENV, raising=False)
        return site

    return install


def test_a_regular_install_finds_the_recipes_its_wheel_installed(tmp_path: Path, installed):
    data = tmp_path / "share" / "supervisor-testing" / "corpora"
    data.mkdir(parents=True)
    (data / "mnist-test.toml").write_text((REPO / "corpora" / "mnist-test.toml").read_text())
    installed(
        [
            "supervisor_testing/recipes.py",
            "../../share/supervisor-testing/corpora/mnist-test.toml",
        ]
    )
    assert recipes.shipped_recipes_dir() == data.resolve()
    assert recipes.list_recipes() == ["mnist-test"]
    assert recipes.load_recipe("mnist-test").dataset == "mnist"


def test_an_install_without_recipes_says_where_to_put_them(installed) -> None:
    installed(["supervisor_testing/recipes.py"])
    assert recipes.shipped_recipes_dir() is None and recipes.list_recipes() == []
    with pytest.raises(UnknownNameError, match=r"ships no recipes .*put it in ./corpora"):
        recipes.load_recipe("mnist-test")
