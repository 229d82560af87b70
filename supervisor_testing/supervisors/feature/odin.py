"""ODIN (Liang, Li & Srikant, ICLR 2018): temperature scaling plus input perturbation."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.supervisors.base import Supervisor, as_model_input
from supervisor_testing.supervisors.feature.extraction import model_device
from supervisor_testing.supervisors.registry import register_supervisor

__all__ = ["ODIN"]


@register_supervisor("odin", aliases=("odin-score",))
class ODIN(Supervisor):
    """Negated max softmax at temperature ``T`` of an input nudged towards its prediction.

    ``x' = x - epsilon * sign(grad_x CE(f(x) / T, argmax f(x)))``: a small step that raises
    the predicted class's tempered softmax, which it raises more for nominal inputs than
    for out-of-distribution ones. The step is taken on the ``[0, 1]`` pixels the model
    takes (normalisation is part of the reference models), without clipping, as in the
    paper. Defaults ``T = 1000``, ``epsilon = 0.0014`` are the paper's.

    Each input's gradient is taken on the summed loss, so it does not shrink with the
    batch size (with ``T = 1000`` a batch mean can underflow to zero for some pixels).
    """

    name = "odin"
    family = "gradient"
    fit_needs = "nothing"
    score_meaning = "negated top tempered softmax after a confidence-raising perturbation"

    def __init__(
        self,
        model: nn.Module,
        *,
        temperature: float = 1000.0,
        epsilon: float = 0.0014,
        batch_size: int = 512,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        if not temperature > 0:
            raise InvalidInputError(f"temperature must be positive, got {temperature}")
        if not epsilon >= 0:
            raise InvalidInputError(f"epsilon must be >= 0, got {epsilon}")
        self.temperature = float(temperature)
        self.epsilon = float(epsilon)

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "temperature": self.temperature, "epsilon": self.epsilon}

    def perturb(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The perturbed inputs and the model's logits on the clean ones (one chunk)."""
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            logits = self.model(x)
            loss = F.cross_entropy(logits / self.temperature, logits.argmax(dim=1), reduction="sum")
            (gradient,) = torch.autograd.grad(loss, x)
        return x.detach() - self.epsilon * gradient.sign(), logits.detach()

    def score_and_predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = as_model_input(x)
        if len(x) == 0:
            raise InvalidInputError("cannot score an empty batch")
        device = model_device(self.model)
        was_training = self.model.training
        self.model.eval()
        scores, predictions = [], []
        try:
            for chunk in x.split(self.batch_size):
                perturbed, clean_logits = self.perturb(chunk.to(device))
                with torch.no_grad():
                    tempered = self.model(perturbed).double() / self.temperature
                scores.append(-tempered.softmax(dim=1).amax(dim=1).float().cpu())
                predictions.append(clean_logits.argmax(dim=1).cpu())
        finally:
            self.model.train(was_training)
        return torch.cat(scores), torch.cat(predictions)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.score_and_predict(x)[0]
