"""Fit a supervisor once per model, parameters and nominal data, then reuse the state.

Gates, evaluation plans, studies and the pytest plugin all fit supervisors on the same
training data run after run. Fitting a VAE or an evidential head, or the statistics of
60,000 activations, costs far more than scoring, so the fitted state (written by
:func:`~supervisor_testing.supervisors.state.save_supervisor`) is kept under
``cache_dir("supervisors", key)``. The key hashes everything the state depends on: the
model's weights, the supervisor's class, name and parameters, the nominal data's content,
the state format and the library version. State fitted on another model, with other
parameters or on other data therefore never matches; nothing has to be invalidated by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from supervisor_testing.supervisors.base import Supervisor
from supervisor_testing.supervisors.state import (
    CONFIG_NAME,
    STATE_FORMAT_VERSION,
    FittedStateError,
    read_fitted_state,
    save_supervisor,
)

if TYPE_CHECKING:
    import torch

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data.dataset import Dataset

__all__ = ["fit_cache_key", "fit_supervisor", "savable"]

CACHE_FOLDER = "supervisors"


def savable(supervisor: Supervisor) -> bool:
    """Whether ``supervisor`` can hand out and take back its fitted state, and wants it
    cached (a class sets ``cache_fitted_state = False`` when its fit is already cheap)."""
    return (
        hasattr(supervisor, "fitted_state")
        and hasattr(supervisor, "load_fitted_state")
        and getattr(supervisor, "cache_fitted_state", True)
    )


def fit_cache_key(supervisor: Supervisor, nominal: Dataset | Corpus | torch.Tensor) -> str:
    """sha256 over model weights, supervisor class and parameters, nominal data and format.

    Raises:
        TypeError: the parameters are not JSON-serialisable (such a supervisor is fitted
            without the cache).
    """
    from supervisor_testing._version import __version__
    from supervisor_testing.supervisors.fingerprints import model_fingerprint, nominal_fingerprint

    cls = type(supervisor)
    identity = {
        "model_sha256": model_fingerprint(supervisor.model),
        "supervisor": supervisor.name,
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "params": supervisor.get_params(),
        "nominal": nominal_fingerprint(nominal),
        "format_version": STATE_FORMAT_VERSION,
        # A fix to a fitting algorithm changes no parameter; the version keeps old state out.
        "library_version": __version__,
    }
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _restore(supervisor: Supervisor, directory: Path) -> None:
    # The key already names the model; read_fitted_state checks it again (the digest is
    # memoised), so a hand-copied directory cannot slip through.
    _, tensors = read_fitted_state(directory, supervisor.model)
    supervisor.load_fitted_state(tensors)
    supervisor.fitted_ = True


def fit_supervisor(
    supervisor: Supervisor,
    nominal: Dataset | Corpus | torch.Tensor,
    *,
    cache: bool = True,
) -> Supervisor:
    """Fit ``supervisor`` on ``nominal``, or load the state an earlier fit left in the cache.

    Supervisors that need no fit are returned as they are. Those that cannot save their
    state (a user supervisor without ``fitted_state``/``load_fitted_state``, or with
    parameters JSON cannot hold) are simply fitted. A cached state that cannot be read is
    replaced by a fresh fit.

    Args:
        supervisor: the supervisor to fit (modified in place and returned).
        nominal: the nominal data it learns from.
        cache: ``False`` always refits (and leaves the cache untouched).
    """
    if not supervisor.requires_fit:
        return supervisor
    if not cache or not savable(supervisor):
        supervisor.fit(nominal)
        return supervisor
    from supervisor_testing.paths import cache_dir

    try:
        key = fit_cache_key(supervisor, nominal)
    except TypeError:
        supervisor.fit(nominal)
        return supervisor
    directory = cache_dir(CACHE_FOLDER) / key
    if (directory / CONFIG_NAME).is_file():
        try:
            _restore(supervisor, directory)
            return supervisor
        except FittedStateError:
            shutil.rmtree(directory, ignore_errors=True)
    supervisor.fit(nominal)
    # A full or read-only cache costs the next run a refit, not this run its result.
    with contextlib.suppress(OSError):
        save_supervisor(supervisor, directory)
    return supervisor
