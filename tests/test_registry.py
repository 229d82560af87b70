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
