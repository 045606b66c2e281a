"""Adamax: Adam with the infinity norm in place of the root mean square (Kingma & Ba, 2015, §7.1)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.optim.optimizer import (
    Optimizer,
    ParamGroup,
    scaled_add,
    with_weight_decay,
)


class Adamax(Optimizer):
    """`Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`

    PyTorch's algorithm, with γ = lr, λ = weight_decay; m and u start at 0 and t counts this
    parameter's steps from 1:

        g ← g + λ θ                          if λ ≠ 0
        m ← β1 m + (1 - β1) g
        u ← max(β2 u, |g| + ε)               (a decaying max of |g|: no bias correction needed)
        θ ← θ - γ m / ((1 - β1ᵗ) u)

    NOTE: ε sits inside the max, so u >= ε > 0 and the division is safe even where g = 0.
    """

    nonnegative = ("lr", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _state_names(self, group: ParamGroup) -> set[str]:
        return {"step", "exp_avg", "exp_inf"}

    def _update(self, theta, grad, group, state, work):
        (beta1, beta2), tmp = group["betas"], work[1]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(theta), exp_inf=np.zeros_like(theta))
        state["step"] += 1
        m, u = state["exp_avg"], state["exp_inf"]
        g = with_weight_decay(grad, theta, group["weight_decay"], work[0])
        m *= beta1
        scaled_add(m, 1 - beta1, g, tmp)
        u *= beta2
        np.abs(g, out=tmp)
        tmp += group["eps"]
        np.maximum(u, tmp, out=u)
        step = np.divide(m, u, out=tmp)
        step *= group["lr"] / (1 - beta1 ** state["step"])
        theta -= step
