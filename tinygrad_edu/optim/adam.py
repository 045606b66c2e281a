"""Adam and AdamW (Adam with decoupled weight decay), optionally with AMSGrad."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.optim.optimizer import (
    Optimizer,
    ParamGroup,
    scaled_add,
    with_weight_decay,
)


class Adam(Optimizer):
    """`Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    decoupled_weight_decay=False)`

    PyTorch's algorithm (Kingma & Ba, 2015), with γ = lr, λ = weight_decay; m, v and vmax
    start at 0 and t counts this parameter's steps from 1:

        g ← g + λ θ                          if λ ≠ 0   (L2 penalty, added to the gradient)
                                             (decoupled_weight_decay=True: AdamW's θ ← θ (1 - γ λ))
        m ← β1 m + (1 - β1) g
        v ← β2 v + (1 - β2) g²
        m̂ = m / (1 - β1ᵗ)                    (bias corrections: m and v start at 0)
        vmax ← max(vmax, v)                  if amsgrad, and then v is replaced by vmax below
        √v̂ = √v / √(1 - β2ᵗ)
        θ ← θ - γ m̂ / (√v̂ + ε)
    """

    nonnegative = ("lr", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _state_names(self, group: ParamGroup) -> set[str]:
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group["amsgrad"] else set())

    def _update(self, theta, grad, group, state, work):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        tmp = work[1]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(theta), exp_avg_sq=np.zeros_like(theta))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(theta)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if group["decoupled_weight_decay"]:
            g = grad
            theta *= 1 - lr * wd
        else:
            g = with_weight_decay(grad, theta, wd, work[0])
        m *= beta1
        scaled_add(m, 1 - beta1, g, tmp)
        v *= beta2
        np.multiply(g, g, out=tmp)
        scaled_add(v, 1 - beta2, tmp, tmp)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v, out=tmp)
        denom /= math.sqrt(1 - beta2**t)
        denom += eps
        step = np.divide(m, denom, out=tmp)
        step *= lr / (1 - beta1**t)
        theta -= step


class AdamW(Adam):
    """`AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)`

    Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's algorithm: the
    decay shrinks θ directly instead of entering g, so it is not rescaled by 1/(√v̂ + ε):

        θ ← θ - γ λ θ                        (applied as θ ← θ (1 - γ λ))
        m ← β1 m + (1 - β1) g
        v ← β2 v + (1 - β2) g²
        m̂ = m / (1 - β1ᵗ)
        vmax ← max(vmax, v)                  if amsgrad, and then v is replaced by vmax below
        √v̂ = √v / √(1 - β2ᵗ)
        θ ← θ - γ m̂ / (√v̂ + ε)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)

    def _check(self, hp: dict, name: str) -> None:
        super()._check(hp, name)
        # Refuses Adam's state dict (which would turn this AdamW into Adam) and a group's override.
        if hp["decoupled_weight_decay"] is not True:
            raise ValueError(f"{name}: decoupled_weight_decay must be True in AdamW (Adam has the L2 form)")
