from __future__ import annotations

import pytest

from supervisor_testing.errors import SupervisorTestingError, UnknownNameError
from supervisor_testing.registry import Registry


def test_names_are_canonical_and_aliases_resolve():
    registry: Registry[object] = Registry("widget")
    registry.add("Max_Thing", 1, aliases=("mt",))
    assert registry.get("max-thing") == 1
    assert registry.get("MAX_THING") == 1
    assert registry.get("mt") == 1
    assert registry.aliases("max-thing") == ("mt",)
    assert "mt" in registry and "other" not in registry


def test_natural_sort_and_pattern():
    registry: Registry[object] = Registry("widget")
    for name in ["net10", "net2", "net1", "other"]:
        registry.add(name, name)
    assert registry.names() == ["net1", "net2", "net10", "other"]
    assert registry.names("net*") == ["net1", "net2", "net10"]


def test_unknown_name_lists_known_ones():
    registry: Registry[object] = Registry("widget")
    registry.add("alpha", 1)
    with pytest.raises(UnknownNameError, match=r"unknown widget 'beta'; known: alpha"):
        registry.get("beta")


def test_duplicate_needs_clobber():
    registry: Registry[object] = Registry("widget")
    registry.add("alpha", 1)
    with pytest.raises(SupervisorTestingError, match="clobber=True"):
        registry.add("alpha", 2)
    registry.add("alpha", 2, clobber=True)
    assert registry.get("alpha") == 2


def test_entry_point_is_imported_only_when_asked_for(monkeypatch):
    import supervisor_testing.registry as registry_module

    class FakeEntryPoint:
        name = "plugin"
        value = "a_package_that_is_not_installed:Thing"

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [FakeEntryPoint()])
    registry: Registry[object] = Registry("widget", "some.group")
    assert registry.names() == ["plugin"]  # listing does not import
    with pytest.raises(SupervisorTestingError, match="a_package_that_is_not_installed"):
        registry.get("plugin")


def test_re_importing_a_module_re_registers_its_factories(tmp_path, monkeypatch):
    """An unloaded and re-imported module (as pytester does) registers the same factories
    again: that replaces them; another factory under a taken name still clashes."""
    import importlib
    import sys

    registry: Registry[object] = Registry("widget")
    monkeypatch.setattr(sys.modules[__name__], "REGISTRY", registry, raising=False)
    plugin = f"from {__name__} import REGISTRY\n\n@REGISTRY.register('thing')\nclass Thing: ...\n"
    (tmp_path / "widget_plugin.py").write_text(plugin)
    (tmp_path / "other_plugin.py").write_text(plugin)
    monkeypatch.syspath_prepend(str(tmp_path))
    first = importlib.import_module("widget_plugin").Thing
    del sys.modules["widget_plugin"]
    second = importlib.import_module("widget_plugin").Thing
    del sys.modules["widget_plugin"]
    assert first is not second and registry.get("thing") is second  # the fresh one wins
    with pytest.raises(SupervisorTestingError, match="'thing' is already registered"):
        importlib.import_module("other_plugin")  # same class name, another module
    sys.modules.pop("other_plugin", None)
    with pytest.raises(SupervisorTestingError, match="already registered"):
        registry.add("thing", type("Thing", (), {"__module__": "widget_plugin.sub"}))
    registry.add("twin", lambda: 1)
    with pytest.raises(SupervisorTestingError, match="already registered"):
        registry.add("twin", lambda: 2)  # lambdas share a name without being one function
    assert registry.get("thing") is second
