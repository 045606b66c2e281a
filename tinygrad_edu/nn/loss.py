"""Loss modules: thin fronts for the losses in `tinygrad_edu.functional`, with PyTorch's names.

`loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, labels)`. `reduction` is 'mean'
(default), 'sum' or 'none' (one loss per element).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinygrad_edu import arguments
from tinygrad_edu import functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.nn.module import Module


class _Loss(Module):
    loss: Callable[..., Tensor]
    reductions = arguments.REDUCTIONS

    def __init__(self, reduction: str = "mean") -> None:
        arguments.check_reduction(reduction, type(self).__name__, self.reductions)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return type(self).loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class NLLLoss(_Loss):
    """-w[y] log_probs[n, y_n] per sample, averaged over the weights of the targets not ignored:
    pair with LogSoftmax. `weight` is a buffer (in the state_dict, as in PyTorch)."""

    def __init__(self, weight: Any = None, *, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class CrossEntropyLoss(NLLLoss):
    """-Σ_c T_c log softmax(logits)_c per sample: class indices or class probabilities as targets,
    with class weights, ignore_index and label smoothing (see F.cross_entropy)."""

    def __init__(
        self,
        weight: Any = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, ignore_index=ignore_index, reduction=reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class MSELoss(_Loss):
    """(1/N) Σ (input - target)² over all N elements."""

    loss = staticmethod(F.mse_loss)


class BCELoss(_Loss):
    """-(1/N) Σ [y log p + (1 - y) log(1 - p)] for probabilities p (e.g. after Sigmoid)."""

    loss = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """BCELoss(sigmoid(z), y), computed stably from the logits z."""

    loss = staticmethod(F.binary_cross_entropy_with_logits)


class L1Loss(_Loss):
    """(1/N) Σ |input - target| over all N elements."""

    loss = staticmethod(F.l1_loss)


class SmoothL1Loss(_Loss):
    """0.5 d²/beta where |d| < beta, |d| - 0.5 beta elsewhere, d = input - target."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 d² where |d| < delta, delta (|d| - 0.5 delta) elsewhere, d = input - target."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL(target ‖ exp(input)) pointwise (input: log-probabilities); reduction "batchmean" gives
    the divergence per sample."""

    reductions = arguments.KL_REDUCTIONS

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
