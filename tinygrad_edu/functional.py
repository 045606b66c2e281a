"""Plain functions over tensors (`import tinygrad_edu.functional as F`), as PyTorch's
`torch.nn.functional`: each checks its arguments, then calls an op's `apply` (the derivatives
live with the ops, in `tinygrad_edu/ops/`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.axes import as_axis, new_axis, norm_axis
from tinygrad_edu.core import Tensor

Reduction = str  # "mean" | "sum" | "none"


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x Wᵀ + b, with W of shape (out, in): one op, so a layer costs one graph node, not three."""
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    """max(x, 0); derivative 1[x > 0] (0 at the kink, as in PyTorch)."""
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along `axis`."""
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x_i - log Σ_j exp(x_j) along `axis`, through the log-sum-exp trick."""
    return ops.LogSoftmax.apply(x, axis=axis)


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


def cross_entropy(logits: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """-(1/N) Σ_n log softmax(logits)[n, target_n]: logits (N, C), integer targets (N,) in [0, C)."""
    y = _class_targets(target, logits.shape, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    return ops.CrossEntropy.apply(logits, y=y, reduction=reduction)


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
    return _reduce(ops.BinaryCrossEntropy.apply(input, target), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    return _reduce(
        ops.BinaryCrossEntropyWithLogits.apply(input, target), reduction, "binary_cross_entropy_with_logits"
    )


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """Elementwise `x if cond else y`, differentiable in x and y."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    return ops.Where.apply(x, y, cond=cond)


def concatenate(tensors: list[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate), differentiable in each."""
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    axis = as_axis(axis, "concatenate")  # None too: numpy would flatten, PyTorch's cat has no such mode
    return ops.Concatenate.apply(*tensors, axis=axis)


def stack(tensors: list[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis (numpy.stack), differentiable in each."""
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    shapes = {t.shape for t in ts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in ts]}")
    axis = new_axis(axis, ts[0].shape, "stack")
    return concatenate([t.unsqueeze(axis) for t in ts], axis=axis)
