"""Output paths the file system refuses: one line, exit code 2, nothing already there lost."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from supervisor_testing.cli import main


def run(*args: object):
    return CliRunner().invoke(main, ["--quiet", *map(str, args)])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output


@pytest.fixture
def digits_corpus(tmp_path: Path) -> Path:
    out = tmp_path / "digits"
    result = run("corpus", "from-dataset", "digits", "--samples", "40", "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("keep me\n")
    return path


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /proc, where nothing can be created"
)
def test_from_dataset_into_an_unwritable_place(tmp_path: Path) -> None:
    result = run("corpus", "from-dataset", "digits", "--out", "/proc/suptest-corpus")
    assert_one_line_error(result, "/proc/suptest-corpus", "choose a path in a writable folder")
    assert ".tmp-" not in result.output  # names the user's path, not the hidden temporary


@pytest.mark.parametrize("overwrite", [False, True])
def test_from_dataset_onto_an_existing_file(a_file: Path, overwrite: bool) -> None:
    flags = ["--overwrite"] if overwrite else []
    result = run("corpus", "from-dataset", "digits", "--out", a_file, *flags)
    assert_one_line_error(result, str(a_file), "is a file")
    assert a_file.read_text() == "keep me\n"


def test_export_inside_a_file_is_refused_before_reading(digits_corpus: Path, a_file: Path):
    result = run("corpus", "export", digits_corpus, "--format", "npz", "--out", a_file / "x.npz")
    assert_one_line_error(result, f"{a_file} is a file", str(a_file / "x.npz"))
    assert a_file.read_text() == "keep me\n"


def test_png_export_onto_an_existing_file(digits_corpus: Path, a_file: Path) -> None:
    result = run("corpus", "export", digits_corpus, "--format", "png", "--out", a_file)
    assert_one_line_error(result, f"cannot use {a_file}", "choose another path")
    assert a_file.read_text() == "keep me\n"


def test_show_into_a_file_or_onto_a_folder(digits_corpus: Path, a_file: Path) -> None:
    result = run("corpus", "show", digits_corpus, "--out", a_file / "g.png")
    assert_one_line_error(result, f"{a_file} is a file", "--out")
    result = run("corpus", "show", digits_corpus, "--out", digits_corpus)
    assert_one_line_error(result, str(digits_corpus), "is a directory")
    assert run("corpus", "verify", digits_corpus).exit_code == 0  # the corpus is intact


def test_evaluate_json_onto_a_folder_fails_before_any_work(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    (folder / "old.json").parent.mkdir()
    (folder / "old.json").write_text("{}")
    # the corpus names do not exist: a failure after parsing would name them instead
    result = run("evaluate", "-s", "pcs", "--stress", "nowhere", "--nominal", "nowhere",
                 "--json", folder)  # fmt: skip
    assert_one_line_error(result, str(folder), "is a directory", "--json")
    assert (folder / "old.json").read_text() == "{}"


def test_usage_errors_are_one_line_but_a_bare_group_shows_its_help() -> None:
    assert_one_line_error(run("corpus", "from-dataset"), "Missing argument 'DATASET'")
    result = run("corpus")
    assert "Usage:" in result.output and "from-dataset" in result.output
