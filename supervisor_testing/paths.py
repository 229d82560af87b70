"""Where the suite keeps data sets, trained weights and built corpora on disk.

One environment variable moves everything: ``SUPERVISOR_TESTING_CACHE`` (default: the
platform's user cache directory). Tests point it at a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]

CACHE_ENV = "SUPERVISOR_TESTING_CACHE"


def cache_dir(*parts: str, create: bool = True) -> Path:
    """Return ``$SUPERVISOR_TESTING_CACHE/<parts...>``, created on first use."""
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("supervisor-testing"))
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
