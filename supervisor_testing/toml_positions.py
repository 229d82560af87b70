"""Where a key sits in a TOML file, so that errors in data files can name the line.

``tomllib`` returns plain dicts without source positions. Gate files are written by hand
and read in CI logs, where "gate.toml:12: min_auroc must be a number" saves a search, so
the line is recovered from the text: each key is looked up inside the region of its table.
This is a heuristic for the files people write (one key per line, tables in headers); for
inline tables or dotted keys it answers ``None`` and the message names only the file.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TomlPositions", "toml_error_line"]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def toml_error_line(error: Exception) -> int | None:
    """The line a ``tomllib.TOMLDecodeError`` points at, if its message gives one."""
    match = _ERROR_LINE.search(str(error))
    return int(match.group(1)) if match else None


class TomlPositions:
    """Line numbers (1-based) of keys and tables in the text of one TOML file.

    Args:
        text: the file's text.
        base: the dotted name of the table everything is relative to (``""`` for the
            top level, ``"tool.supervisor_testing.gate"`` inside a ``pyproject.toml``).
    """

    def __init__(self, text: str, base: str = "") -> None:
        self.lines = text.splitlines()
        self.base = base
        self.headers: list[tuple[str, int]] = [("", 0)]
        for number, line in enumerate(self.lines):
            match = _HEADER.match(line)
            if match:
                name = re.sub(r"\s*\.\s*", ".", match.group(1)).replace('"', "")
                self.headers.append((name, number))

    def _region(self, section: str, index: int) -> tuple[int, int] | None:
        name = ".".join(part for part in (self.base, section) if part)
        starts = [i for i, (header, _) in enumerate(self.headers) if header == name]
        if index >= len(starts):
            return None
        position = starts[index]
        start = self.headers[position][1]
        end = self.headers[position + 1][1] if position + 1 < len(self.headers) else len(self.lines)
        return start, end

    def find(self, key: str, *, section: str = "", index: int = 0, value: Any = None) -> int | None:
        """The line of ``key`` in the ``index``-th ``[section]`` / ``[[section]]`` table.

        With a string ``value``, the line of that entry of the key's array (which may span
        several lines) instead.
        """
        region = self._region(section, index)
        if region is None:
            return None
        start, end = region
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start, end):
            if not pattern.match(self.lines[number]):
                continue
            if isinstance(value, str):
                quoted = re.compile(rf"""["']{re.escape(value)}["']""")
                for inner in range(number, end):
                    if quoted.search(self.lines[inner]):
                        return inner + 1
                    if "]" in self.lines[inner]:  # the end of the key's array
                        break
            return number + 1
        return None

    def table(self, section: str, index: int = 0) -> int | None:
        """The header line of the ``index``-th ``section`` table (``None`` for the top)."""
        region = self._region(section, index)
        return region[0] + 1 if region is not None and section else None
