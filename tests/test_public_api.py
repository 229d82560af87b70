"""The package's surface: cheap to import, and every advertised name exists."""

from __future__ import annotations

import subprocess
import sys

import supervisor_testing


def _imports_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_package_import_does_not_import_torch():
    assert "torch" not in _imports_after("import supervisor_testing")


def test_pytest_plugin_import_does_not_import_torch():
    assert "torch" not in _imports_after("import supervisor_testing.pytest_plugin")


def test_cli_help_does_not_import_torch():
    code = (
        "from click.testing import CliRunner\n"
        "from supervisor_testing.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0"
    )
    assert "torch" not in _imports_after(code)


def test_every_export_resolves():
    for name in supervisor_testing.__all__:
        assert getattr(supervisor_testing, name) is not None, name
