"""The Supervisor contract every built-in and third-party monitor follows.

A supervisor wraps a classifier. ``fit`` learns whatever statistics it needs from nominal
data, ``score`` returns one number per input where **higher always means more suspicious**,
and ``predict`` returns the class the supervisor vouches for. Keeping the sign convention
inside the supervisor means metrics, gates and reports never need to know which family a
score comes from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from supervisor_testing.errors import InvalidInputError

if TYPE_CHECKING:
    from typing_extensions import Self

    from supervisor_testing.corpus import Corpus
    from supervisor_testing.data import Dataset

__all__ = ["Supervisor", "as_model_input"]


def as_model_input(x: torch.Tensor) -> torch.Tensor:
    """Validate a batch of images and return it as float32 in ``[0, 1]``.

    ``uint8`` batches (the corpus storage type) are scaled by 1/255; float batches are taken
    as already in ``[0, 1]``.
    """
    if not isinstance(x, torch.Tensor):
        raise InvalidInputError(f"expected a torch.Tensor of images, got {type(x).__name__}")
    if x.ndim != 4:
        raise InvalidInputError(
            f"expected images of shape N x C x H x W, got shape {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0)"
        )
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    if not x.is_floating_point():
        raise InvalidInputError(f"expected uint8 or float images, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise InvalidInputError("images contain NaN or infinite values")
    return x.float()


class Supervisor(ABC):
    """A monitor beside a classifier: fit on nominal data, then score inputs.

    Subclasses implement :meth:`score` (and :meth:`fit` when they learn statistics);
    parameters are keyword arguments of ``__init__`` stored unchanged, learned state ends
    in ``_`` as in scikit-learn.

    Args:
        model: the classifier, mapping float images in ``[0, 1]`` to logits.
        batch_size: inputs are pushed through the model in chunks of this size.
    """

    #: registry name; set by subclasses.
    name: ClassVar[str] = ""
    #: whether :meth:`fit` must run before :meth:`score`.
    requires_fit: ClassVar[bool] = False
    #: the family ``suptest list supervisors`` groups it under (``softmax``, ``feature``, ...).
    family: ClassVar[str] = ""
    #: what :meth:`fit` learns from nominal data, in a few words ("nothing" when no fit).
    fit_needs: ClassVar[str] = "nothing"
    #: what a high score says about an input, in a few words.
    score_meaning: ClassVar[str] = ""

    def __init__(self, model: nn.Module, *, batch_size: int = 512) -> None:
        if not isinstance(model, nn.Module):
            raise InvalidInputError(f"a supervisor wraps an nn.Module, got {type(model).__name__}")
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be positive, got {batch_size}")
        self.model = model
        self.batch_size = batch_size
        self.fitted_ = not self.requires_fit

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters other than the model (for reports and reproduction)."""
        return {"batch_size": self.batch_size}

    def fit(self, nominal: Corpus | Dataset | torch.Tensor) -> Self:
        """Learn statistics from nominal inputs; the default needs none."""
        self.fitted_ = True
        return self

    @abstractmethod
    def score(self, x: torch.Tensor) -> torch.Tensor:
        """One float per input, higher = more suspicious."""

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The class the supervisor vouches for (default: the model's arg-max)."""
        return self.score_and_predict(x)[1]

    def score_and_predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and predictions from one pass where the family allows it."""
        return self.score(x), self.logits(x).argmax(dim=1)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The wrapped model's logits for ``x``, in eval mode and in chunks."""
        x = as_model_input(x)
        # Corpora stream from the CPU; a model placed on an accelerator gets each chunk there.
        parameter = next(self.model.parameters(), None)
        device = parameter.device if parameter is not None else x.device
        was_training = self.model.training
        self.model.eval()
        try:
            chunks = [self.model(chunk.to(device)) for chunk in x.split(self.batch_size)]
        finally:
            self.model.train(was_training)
        if not chunks:
            raise InvalidInputError("cannot score an empty batch")
        return torch.cat(chunks)

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise InvalidInputError(
                f"supervisor {self.name!r} must be fitted on nominal data first: call .fit(...)"
            )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
