"""The fused ops of neural networks: `Linear`, `Softmax`, `LogSoftmax` and the losses.

Softmax, log-softmax and the losses whose gradients the from-scratch MNIST write-ups derive by
hand are ops of their own, forward and backward side by side, written to stay finite for any
logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu.core import Function, Tensor, wrap
from tinygrad_edu.grad_mode import modes


class Linear(Function):
    @staticmethod
    def forward(ctx, x, w, *b):
        if w.ndim != 2 or (b and b[0].shape not in ((), w.shape[:1])):
            raise ValueError("the weight must be (out_features, in_features), the bias (out_features,) or ()")
        out = x @ w.T
        if b:
            out += b[0]  # in place: the matmul's result is ours, and the add needs no new array
        return out

    @staticmethod
    def backward(ctx, g):
        """d(x Wᵀ + b)/dx: g W, d/dW: gᵀ x, d/db: Σ g over the batch"""
        x, w = ctx.inputs[:2]
        if modes.enabled:  # create_graph: the products must be recorded ops, to differentiate again
            return linear_grads(g, x, w, ctx.needs_input_grad)
        # NOTE: nothing to record, so the same formulas run on the arrays: this saves the four op
        # dispatches per layer that dominate a small network's backward pass.
        grads = linear_grads(g.data, x.data, w.data, ctx.needs_input_grad)
        return tuple(None if d is None else wrap(d) for d in grads)


def linear_grads(g: Any, x: Any, w: Any, need: tuple[bool, ...]) -> tuple:
    """Linear's gradients, from Tensors or from arrays alike (both have @, .T, reshape and sum)."""
    g2 = g if g.ndim == 2 else g.reshape(-1, w.shape[0])  # batch dims folded into one
    x2 = x if x.ndim == 2 else x.reshape(-1, w.shape[1])
    gx = g @ w if need[0] else None
    gw = g2.T @ x2 if need[1] else None
    gb = (g2.sum(0),) if len(need) == 3 and need[2] else (None,) * (len(need) - 2)
    return (gx, gw, *gb)


def shifted(x: np.ndarray, axis: int) -> np.ndarray:
    # NOTE: softmax(x) = softmax(x - c) for any c; subtracting the max keeps exp() <= 1,
    # so logits of 1e3 neither overflow to inf nor turn the result into NaN.
    return x - x.max(axis=axis, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        e = np.exp(shifted(x, axis))
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        """d softmax(x)_i/dx_j = s_i (δ_ij - s_j), so the VJP is s ⊙ (g - Σ_j g_j s_j)"""
        s = ctx.output
        return s * (g - (g * s).sum(ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        z = shifted(x, axis)
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        """d log_softmax(x)_i/dx_j = δ_ij - s_j, so the VJP is g - softmax(x) Σ g"""
        return g - ctx.output.exp() * g.sum(ctx.axis, keepdims=True)


class CrossEntropy(Function):
    @staticmethod
    def forward(ctx, z, y, reduction):
        ctx.y, ctx.reduction = y, reduction
        ctx.logp = logp = LogSoftmax.forward(ctx, z, axis=1)
        ctx.rows = rows = np.arange(len(y))
        loss = -logp[rows, y]
        if reduction == "mean":
            # sum / n is loss.mean() without numpy's Python-level wrapper (this runs every step)
            return loss.sum() / len(y) if len(y) else np.asarray(np.nan, dtype=z.dtype)
        return loss.sum() if reduction == "sum" else loss

    @staticmethod
    def backward(ctx, g):
        """dL/dz = (softmax(z) - onehot(y)) / N

        With p = softmax(z), L = -(1/N) Σ_n log p[n, y_n] and ∂ log p_k/∂z_j = δ_kj - p_j:
        ∂L/∂z[n, j] = -(1/N) (δ_{y_n j} - p[n, j]) = (p[n, j] - onehot(y)[n, j]) / N —
        the `dZ2 = A2 - Y` (divided by m) of the hand-derived MNIST backprop.
        """
        z, y, rows = ctx.inputs[0], ctx.y, ctx.rows
        if modes.enabled:
            # NOTE: create_graph: softmax(z) is recomputed as a recorded op, so that the
            # gradient is itself differentiable (exact Hessians).
            onehot = np.zeros(z.shape, dtype=z.dtype)
            onehot[rows, y] = 1
            return (Softmax.apply(z, axis=1) - Tensor(onehot)) * per_sample(g, ctx.reduction, len(y))
        d = np.exp(ctx.logp)  # softmax(z), from the log-probabilities the forward kept
        d[rows, y] -= 1
        d *= per_sample(g.data, ctx.reduction, len(y))  # in numpy: no graph to record here
        return wrap(d)


def per_sample(g: Any, reduction: str, n: int) -> Any:
    """The upstream gradient of the loss as a factor on each sample's row (Tensor or array)."""
    if reduction == "mean":
        return g * (1.0 / max(n, 1))  # an empty batch has an empty gradient: any factor will do
    return g if reduction == "sum" else g.reshape(n, 1)


class BinaryCrossEntropy(Function):
    @staticmethod
    def forward(ctx, p, y):
        # NOTE: log(0) = -inf; like PyTorch, the logs are clamped at -100 so the loss stays finite.
        with np.errstate(divide="ignore"):
            return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))

    @staticmethod
    def backward(ctx, g):
        """dL/dp = (p - y) / (p (1 - p)), dL/dy = log(1 - p) - log(p)"""
        p, y = ctx.inputs
        need_p, need_y = ctx.needs_input_grad
        # NOTE: p(1-p) is clamped at 1e-12 so a saturated p = 0 or 1 gives a large, finite grad.
        gp = g * (p - y) / (p * (1 - p)).clip(min=1e-12) if need_p else None
        gy = g * ((1 - p).log() - p.log()) if need_y else None
        return gp, gy


class BinaryCrossEntropyWithLogits(Function):
    @staticmethod
    def forward(ctx, z, y):
        # NOTE: log(1 + exp(z)) overflows for large z; max(z, 0) + log1p(exp(-|z|)) never does.
        return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))

    @staticmethod
    def backward(ctx, g):
        """dL/dz = sigmoid(z) - y, dL/dy = -z"""
        z, y = ctx.inputs
        nz, ny = ctx.needs_input_grad
        return (g * (z.sigmoid() - y) if nz else None), (-(g * z) if ny else None)
