"""Stochastic gradient descent, with momentum, dampening, weight decay and Nesterov momentum."""

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


class SGD(Optimizer):
    """`SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)`

    PyTorch's algorithm, with γ = lr, λ = weight_decay, μ = momentum, τ = dampening; at step t,
    for each parameter θ with gradient g:

        g ← g + λ θ                          if λ ≠ 0
        if μ ≠ 0:
            b ← g                            at the first step
            b ← μ b + (1 - τ) g              at later steps
            g ← g + μ b                      if nesterov
            g ← b                            otherwise
        θ ← θ - γ g

    NOTE: this is PyTorch's form of momentum (b accumulates gradients, lr multiplies b), not
    Sutskever's v ← μ v + γ g; the two agree only while lr stays constant.
    """

    nonnegative = ("lr", "momentum", "dampening", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
        )
        super().__init__(params, defaults)

    def _check(self, hp: dict, name: str) -> None:
        super()._check(hp, name)
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError(f"{name}: nesterov momentum needs momentum > 0 and dampening = 0")

    def _state_names(self, group: ParamGroup) -> set[str]:
        return {"momentum_buffer"} if group["momentum"] != 0 else set()

    def _update(self, theta, grad, group, state, work):
        lr, mu, tau, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        tmp = work[1]
        g = with_weight_decay(grad, theta, wd, work[0])
        if mu != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.copy()
            else:
                b *= mu
                scaled_add(b, 1 - tau, g, tmp)
            if group["nesterov"]:
                np.multiply(b, mu, out=tmp)
                tmp += g
                g = tmp
            else:
                g = b
        scaled_add(theta, -lr, g, tmp)
