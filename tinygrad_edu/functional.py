"""Activations and losses (`import tinygrad_edu.functional as F`).

Softmax, log-softmax and the losses whose gradients the from-scratch MNIST write-ups derive by
hand are ops of their own here, forward and backward side by side, written to stay finite for
any logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu.function import Function, _GradMode
from tinygrad_edu.ops import norm_axis
from tinygrad_edu.tensor import Tensor, _wrap

Reduction = str  # "mean" | "sum" | "none"


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
        if _GradMode.enabled:  # create_graph: the products must be recorded ops, to differentiate again
            return _linear_grads(g, x, w, ctx.needs_input_grad)
        # NOTE: nothing to record, so the same formulas run on the arrays: this saves the four op
        # dispatches per layer that dominate a small network's backward pass.
        grads = _linear_grads(g.data, x.data, w.data, ctx.needs_input_grad)
        return tuple(None if d is None else _wrap(d) for d in grads)


def _linear_grads(g: Any, x: Any, w: Any, need: tuple[bool, ...]) -> tuple:
    """Linear's gradients, from Tensors or from arrays alike (both have @, .T, reshape and sum)."""
    g2 = g if g.ndim == 2 else g.reshape(-1, w.shape[0])  # batch dims folded into one
    x2 = x if x.ndim == 2 else x.reshape(-1, w.shape[1])
    gx = g @ w if need[0] else None
    gw = g2.T @ x2 if need[1] else None
    gb = (g2.sum(0),) if len(need) == 3 and need[2] else (None,) * (len(need) - 2)
    return (gx, gw, *gb)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x Wᵀ + b, with W of shape (out, in): one op, so a layer costs one graph node, not three."""
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    """max(x, 0); derivative 1[x > 0] (0 at the kink, as in PyTorch)."""
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    # NOTE: softmax(x) = softmax(x - c) for any c; subtracting the max keeps exp() <= 1,
    # so logits of 1e3 neither overflow to inf nor turn the result into NaN.
    return x - x.max(axis=axis, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        e = np.exp(_shifted(x, axis))
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
        z = _shifted(x, axis)
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        """d log_softmax(x)_i/dx_j = δ_ij - s_j, so the VJP is g - softmax(x) Σ g"""
        return g - ctx.output.exp() * g.sum(ctx.axis, keepdims=True)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along `axis`."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x_i - log Σ_j exp(x_j) along `axis`, through the log-sum-exp trick."""
    return LogSoftmax.apply(x, axis=axis)


def logsumexp(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) along `axis`; derivative softmax(x)."""
    axis = norm_axis(axis, x.ndim, "logsumexp")
    # NOTE: the shift m is a constant (detached): the result does not depend on it. An infinite
    # max is not shifted away (inf - inf is NaN): with m = 0 there, the result is -inf or inf.
    m = np.max(x.data, axis=axis, keepdims=True)
    m = Tensor(np.where(np.isfinite(m), m, 0).astype(m.dtype, copy=False))
    out = (x - m).exp().sum(axis, keepdims=True).log() + m
    return out if keepdims else out.squeeze(axis)


def _check_reduction(reduction: Reduction, fn: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: Reduction, fn: str) -> Tensor:
    _check_reduction(reduction, fn)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _class_targets(target: Any, logits_shape: tuple[int, ...], fn: str) -> np.ndarray:
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    if len(logits_shape) != 2:
        raise ValueError(f"{fn}: input must have shape (N, C), got {logits_shape}")
    n, c = logits_shape
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: target must hold integer class indices, got dtype {y.dtype} "
            "(build it with np.array(labels) or Tensor(labels, dtype=np.int64))"
        )
    if y.shape != (n,):
        raise ValueError(f"{fn}: target of shape {y.shape} does not match input of shape {logits_shape}")
    if n and (y.min() < 0 or y.max() >= c):
        bad = y[(y < 0) | (y >= c)][0]
        raise ValueError(f"{fn}: class index {bad} is outside [0, {c}) for input of shape {logits_shape}")
    return y


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
        if _GradMode.enabled:
            # NOTE: create_graph: softmax(z) is recomputed as a recorded op, so that the
            # gradient is itself differentiable (exact Hessians).
            onehot = np.zeros(z.shape, dtype=z.dtype)
            onehot[rows, y] = 1
            return (Softmax.apply(z, axis=1) - Tensor(onehot)) * _per_sample(g, ctx.reduction, len(y))
        d = np.exp(ctx.logp)  # softmax(z), from the log-probabilities the forward kept
        d[rows, y] -= 1
        d *= _per_sample(g.data, ctx.reduction, len(y))  # in numpy: no graph to record here
        return _wrap(d)


def _per_sample(g: Any, reduction: Reduction, n: int) -> Any:
    """The upstream gradient of the loss as a factor on each sample's row (Tensor or array)."""
    if reduction == "mean":
        return g * (1.0 / max(n, 1))  # an empty batch has an empty gradient: any factor will do
    return g if reduction == "sum" else g.reshape(n, 1)


def cross_entropy(logits: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """-(1/N) Σ_n log softmax(logits)[n, target_n]: logits (N, C), integer targets (N,) in [0, C)."""
    y = _class_targets(target, logits.shape, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    return CrossEntropy.apply(logits, y=y, reduction=reduction)


def nll_loss(log_probs: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """-(1/N) Σ_n log_probs[n, target_n] (pair with log_softmax)."""
    y = _class_targets(target, log_probs.shape, "nll_loss")
    return _reduce(-log_probs[np.arange(len(y)), y], reduction, "nll_loss")


def _same_shape(x: Tensor, y: Tensor, fn: str) -> None:
    if x.shape != y.shape:
        raise ValueError(
            f"{fn}: input shape {x.shape} and target shape {y.shape} differ "
            "(broadcasting them would silently compute a different loss)"
        )


def mse_loss(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """mean((input - target)²); derivative 2 (input - target) / N."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


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
        np_, ny = ctx.needs_input_grad
        # NOTE: p(1-p) is clamped at 1e-12 so a saturated p = 0 or 1 gives a large, finite grad.
        gp = g * (p - y) / (p * (1 - p)).clip(min=1e-12) if np_ else None
        gy = g * ((1 - p).log() - p.log()) if ny else None
        return gp, gy


def binary_cross_entropy(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """-mean(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1]."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    _same_shape(input, target, "binary_cross_entropy")
    p = input.data
    if p.size and not (p.min() >= 0 and p.max() <= 1):  # `not >=` also catches NaN
        raise ValueError(
            f"binary_cross_entropy: input of shape {input.shape} must hold probabilities in [0, 1], "
            f"found values in [{p.min()}, {p.max()}] (apply sigmoid first, or use the _with_logits variant)"
        )
    return _reduce(BinaryCrossEntropy.apply(input, target), reduction, "binary_cross_entropy")


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


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    return _reduce(
        BinaryCrossEntropyWithLogits.apply(input, target), reduction, "binary_cross_entropy_with_logits"
    )
