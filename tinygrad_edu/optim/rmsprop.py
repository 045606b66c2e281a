"""RMSprop (Hinton's lecture 6e), optionally centered (Graves, 2013) and with momentum."""

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


class RMSprop(Optimizer):
    """`RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)`

    PyTorch's algorithm, with γ = lr, α = alpha, λ = weight_decay, μ = momentum; v, ḡ and b
    start at 0:

        g ← g + λ θ                          if λ ≠ 0
        v ← α v + (1 - α) g²                 (running mean of g²)
        ḡ ← α ḡ + (1 - α) g                  if centered (running mean of g)
        d = √max(v - ḡ², 0) + ε              if centered (√ of a variance estimate; see NOTE)
        d = √v + ε                           otherwise
        b ← μ b + g / d;   θ ← θ - γ b       if μ > 0
        θ ← θ - γ g / d                      otherwise

    NOTE: ε is added after the square root (TensorFlow adds it inside). v - ḡ² >= 0 in exact
    arithmetic; the max(·, 0) only undoes rounding, where PyTorch (2.13) returns NaN.
    """

    nonnegative = ("lr", "alpha", "eps", "weight_decay", "momentum")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )
        super().__init__(params, defaults)

    def _state_names(self, group: ParamGroup) -> set[str]:
        optional = {"grad_avg": group["centered"], "momentum_buffer": group["momentum"] > 0}
        return {"step", "square_avg"} | {name for name, kept in optional.items() if kept}

    def _update(self, theta, grad, group, state, work):
        lr, alpha, eps, wd, mu = (group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        tmp = work[1]
        if not state:
            state.update(step=0, square_avg=np.zeros_like(theta))
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(theta)
        state["step"] += 1
        g = with_weight_decay(grad, theta, wd, work[0])
        v = state["square_avg"]
        v *= alpha
        np.multiply(g, g, out=tmp)
        scaled_add(v, 1 - alpha, tmp, tmp)
        if group["centered"]:
            g_avg = state["grad_avg"]
            g_avg *= alpha
            scaled_add(g_avg, 1 - alpha, g, tmp)
            np.multiply(g_avg, g_avg, out=tmp)
            np.subtract(v, tmp, out=tmp)
            # NOTE: v - ḡ² >= 0 in exact arithmetic (Cauchy-Schwarz), but for a steady gradient it
            # decays like αᵗ and rounding can make it negative: PyTorch then yields NaN (its
            # sqrt of a negative); clamping at 0 gives the exact-arithmetic value instead.
            np.maximum(tmp, 0, out=tmp)
            d = np.sqrt(tmp, out=tmp)
        else:
            d = np.sqrt(v, out=tmp)
        d += eps
        step = np.divide(g, d, out=tmp)
        if mu > 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(theta)
            b = state["momentum_buffer"]
            b *= mu
            b += step
            step = np.multiply(b, lr, out=tmp)
        else:
            step *= lr
        theta -= step
