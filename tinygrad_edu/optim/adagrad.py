"""Adagrad (Duchi, Hazan & Singer, 2011): per-coordinate steps shrinking with the gradients seen."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.optim.optimizer import Optimizer, ParamGroup, with_weight_decay


class Adagrad(Optimizer):
    """`Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)`

    PyTorch's algorithm, with γ = lr, η = lr_decay, λ = weight_decay; the sum s starts at
    τ = initial_accumulator_value and t counts this parameter's steps from 1:

        γ̃ = γ / (1 + (t - 1) η)
        g ← g + λ θ                          if λ ≠ 0
        s ← s + g²                           (never decays: steps shrink as gradients accumulate)
        θ ← θ - γ̃ g / (√s + ε)
    """

    nonnegative = ("lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
        )
        super().__init__(params, defaults)

    def _state_names(self, group: ParamGroup) -> set[str]:
        return {"step", "sum"}

    def _update(self, theta, grad, group, state, work):
        if not state:
            state.update(step=0, sum=np.full_like(theta, group["initial_accumulator_value"]))
        state["step"] += 1
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        tmp = work[1]
        g = with_weight_decay(grad, theta, group["weight_decay"], work[0])
        s = state["sum"]
        s += np.multiply(g, g, out=tmp)
        std = np.sqrt(s, out=tmp)
        std += group["eps"]
        step = np.divide(g, std, out=tmp)
        step *= lr
        theta -= step
