"""Add suite-level properties to a JUnit XML file that pytest has written.

pytest only offers suite properties through the ``record_testsuite_property`` fixture,
which needs a running test and records nothing on xdist workers. The numbers of a
supervision session are complete only once every worker has reported, so they are added
to the finished file instead: ``<properties>`` under ``<testsuite>`` is valid in both the
xunit1 and xunit2 schemas, unlike per-testcase properties.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

__all__ = ["add_suite_properties"]


def add_suite_properties(path: str | Path, properties: Sequence[tuple[str, str]]) -> None:
    """Append ``(name, value)`` properties to every ``<testsuite>`` of the file at ``path``."""
    if not properties:
        return
    path = Path(path)
    tree = ET.parse(path)
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        node = suite.find("properties")
        if node is None:
            node = ET.Element("properties")
            suite.insert(0, node)  # the schema wants <properties> before the test cases
        for name, value in properties:
            ET.SubElement(node, "property", name=name, value=value)
    tree.write(path, encoding="utf-8", xml_declaration=True)
