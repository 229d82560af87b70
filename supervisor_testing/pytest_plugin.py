"""pytest plugin entry point (``pytest11``).

Loaded in every pytest session of an environment where the package is installed, so it
imports nothing beyond the standard library and pytest at load time.
"""

from __future__ import annotations
