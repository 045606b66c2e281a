"""Loss modules: thin fronts for the losses in `tinygrad_edu.functional`, with PyTorch's names.

`loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, labels)`. `reduction` is 'mean'
(default), 'sum' or 'none' (one loss per element).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinygrad_edu import functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.nn.module import Module


class _Loss(Module):
    loss: Callable[..., Tensor]

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
            )
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return type(self).loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """-(1/N) Σ_n log softmax(logits)[n, target_n]: logits (N, C), integer class targets (N,)."""

    loss = staticmethod(F.cross_entropy)


class NLLLoss(_Loss):
    """-(1/N) Σ_n log_probs[n, target_n]: pair with LogSoftmax."""

    loss = staticmethod(F.nll_loss)


class MSELoss(_Loss):
    """(1/N) Σ (input - target)² over all N elements."""

    loss = staticmethod(F.mse_loss)


class BCELoss(_Loss):
    """-(1/N) Σ [y log p + (1 - y) log(1 - p)] for probabilities p (e.g. after Sigmoid)."""

    loss = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """BCELoss(sigmoid(z), y), computed stably from the logits z."""

    loss = staticmethod(F.binary_cross_entropy_with_logits)
