"""Plain functions over tensors (`import tinygrad_edu.functional as F`), as PyTorch's
`torch.nn.functional`: each checks its arguments, then calls an op's `apply` (the derivatives
live with the ops, in `tinygrad_edu/ops/`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_edu import arguments, ops, rng
from tinygrad_edu.arguments import Reduction
from tinygrad_edu.axes import UNSET, as_axis, dims, new_axis, norm_axis
from tinygrad_edu.core import Tensor, wrap
from tinygrad_edu.ops import conv
from tinygrad_edu.tensor_methods import float_tensor


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


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along `dim` (in float32 for integer and bool inputs)."""
    return x.softmax(dim, axis=axis)


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """x_i - log Σ_j exp(x_j) along `dim`, through the log-sum-exp trick."""
    return x.log_softmax(dim, axis=axis)


def logsumexp(
    x: Tensor, dim: Any = -1, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """log Σ exp(x) along `dim`; derivative softmax(x)."""
    return x.logsumexp(dim, keepdim, axis=axis, keepdims=keepdims)


def _reduce(loss: Tensor, reduction: Reduction, fn: str) -> Tensor:
    arguments.check_reduction(reduction, fn)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _class_targets(
    target: Any, shape: tuple[int, ...], ignore_index: int, fn: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer class targets checked against the input's shape: (N, C) takes (N,), (N, C, d1, ...)
    takes (N, d1, ...), (C,) takes (). Returns them and the mask of the ignored ones (None if
    there are none)."""
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: target must hold integer class indices, got dtype {y.dtype} and shape {y.shape} "
            f"(build it with np.array(labels) or Tensor(labels, dtype=np.int64); class probabilities "
            f"must have the input's shape {shape})"
        )
    expected = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if y.shape != expected:
        raise ValueError(
            f"{fn}: target of shape {y.shape} does not match input of shape {shape} (input (N, C) takes "
            f"a target (N,), (N, C, d1, ...) takes (N, d1, ...), (C,) takes (): here {expected})"
        )
    c = shape[1] if len(shape) > 1 else shape[0]
    ignored = None
    if y.size:
        lo, hi = int(y.min()), int(y.max())  # Python ints: comparable with any ignore_index
        if lo <= ignore_index <= hi:
            ignored = y == ignore_index
        if lo < 0 or hi >= c:
            bad = (y < 0) | (y >= c)
            if ignored is not None:
                bad &= ~ignored
            if bad.any():
                raise ValueError(
                    f"{fn}: class index {y[bad].flat[0]} is outside [0, {c}) for input of shape {shape}"
                )
    return y, (ignored if ignored is not None and ignored.any() else None)


def _class_weight(weight: Any, shape: tuple[int, ...], dtype: np.dtype, fn: str) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    c = shape[1] if len(shape) > 1 else shape[0]
    if w.shape != (c,) or w.dtype.kind not in "biuf":
        raise ValueError(
            f"{fn}: weight of shape {w.shape} and dtype {w.dtype} must give one number to each of the "
            f"{c} classes (input of shape {shape})"
        )
    return w.astype(dtype, copy=False)


def _loss_input(input: Any, fn: str) -> Tensor:
    # losses of integer inputs are computed in float32, as PyTorch's
    x = float_tensor(input if isinstance(input, Tensor) else Tensor(input))
    if x.ndim == 0:
        raise ValueError(f"{fn}: input must have shape (N, C), (N, C, d1, ...) or (C,), got shape ()")
    return x


def _weighted_targets(
    shape: tuple[int, ...], y: np.ndarray, ignored: np.ndarray | None, w: np.ndarray | None, smoothing: float
) -> tuple[np.ndarray, float]:
    """T with loss = -Σ_c T[n, c, …] input[n, c, …] for class targets, and the mean's divisor.

    T is the one-hot target times its class weight w[y], mixed with the uniform distribution
    (label smoothing: (1 - ε) onehot + ε/C, each class c weighted by w[c]), zero for ignored
    targets. The mean divides by the weights of the targets not ignored, Σ w[y] (their count
    without weights), for both parts: PyTorch's rule.
    """
    c = shape[1]
    keep = np.ones(y.shape) if ignored is None else (~ignored).astype(np.float64)
    y_safe = y if ignored is None else np.where(ignored, 0, y)
    w_y = keep if w is None else w[y_safe].astype(np.float64) * keep
    t = np.zeros(shape)
    np.put_along_axis(t, np.expand_dims(y_safe, 1).astype(np.intp, copy=False), 1, axis=1)
    t *= np.expand_dims(w_y * (1 - smoothing), 1)
    if smoothing:
        w_c = 1.0 if w is None else w.astype(np.float64).reshape((1, c) + (1,) * (len(shape) - 2))
        t += (smoothing / c) * w_c * np.expand_dims(keep, 1)
    return t, float(w_y.sum())


def _reduce_by(loss: Tensor, reduction: Reduction, divisor: float) -> Tensor:
    """loss per sample, summed, or summed and divided by `divisor` (the mean)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    # NOTE: nothing to average (every target ignored, or no sample): NaN, as PyTorch, and the
    # gradient stays 0 (NaN · 0 would make it NaN).
    return total * (1.0 / divisor) if divisor else total + np.nan


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    *,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """-Σ_c T_c log softmax(input)_c per sample, T the target distribution, averaged as PyTorch does.

    input (N, C), (N, C, d1, ...) or (C,) logits; target either class indices (N,), (N, d1, ...)
    or () in [0, C) (or ignore_index, which contributes nothing), or class probabilities of the
    input's shape. `weight` (C,) scales each class; the mean then divides by the sum of the
    weights of the targets not ignored (by the number of samples for probability targets).
    `label_smoothing` ε mixes the targets with the uniform distribution: (1 - ε) T + ε/C.
    """
    fn = "cross_entropy"
    x = _loss_input(input, fn)
    arguments.check_reduction(reduction, fn)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing}")
    w = _class_weight(weight, x.shape, x.dtype, fn)
    if np.shape(target) == x.shape and np.asarray(getattr(target, "data", target)).dtype.kind == "f":
        return _probability_cross_entropy(x, target, w, ignore_index, reduction, label_smoothing)
    y, ignored = _class_targets(target, x.shape, ignore_index, fn)
    if x.ndim == 2 and w is None and ignored is None and not label_smoothing:
        return ops.CrossEntropy.apply(x, y=y, reduction=reduction)  # the fused fast path (MNIST's)
    return _class_loss(
        ops.LogSoftmax.apply(x, axis=0 if x.ndim == 1 else 1), y, ignored, w, label_smoothing, reduction
    )


def _class_loss(
    logp: Tensor,
    y: np.ndarray,
    ignored: np.ndarray | None,
    w: np.ndarray | None,
    smoothing: float,
    reduction: str,
) -> Tensor:
    """-Σ_c T_c logp_c per sample (T from _weighted_targets), reduced; (C,) inputs lifted to (1, C)."""
    unbatched = logp.ndim == 1
    if unbatched:
        logp, y = logp.unsqueeze(0), y[None]
        ignored = None if ignored is None else ignored[None]
    t, divisor = _weighted_targets(logp.shape, y, ignored, w, smoothing)
    loss = -(logp * wrap(t.astype(logp.dtype, copy=False))).sum(1)
    return _reduce_by(loss.squeeze(0) if unbatched else loss, reduction, divisor)


def _probability_cross_entropy(
    x: Tensor, target: Any, w: np.ndarray | None, ignore_index: int, reduction: Reduction, smoothing: float
) -> Tensor:
    if ignore_index >= 0:
        raise ValueError(
            f"cross_entropy: ignore_index={ignore_index} has no meaning for class-probability targets "
            f"(a target of the input's shape {x.shape}); leave it at its default"
        )
    t = target if isinstance(target, Tensor) else wrap(np.asarray(target, dtype=x.dtype))
    if t.dtype != x.dtype:
        t = ops.Cast.apply(t, dtype=x.dtype)
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    axis = 1 if x.ndim > 1 else 0
    if smoothing:
        t = t * (1 - smoothing) + smoothing / c
    if w is not None:
        t = t * wrap(w.reshape((c,) + (1,) * (x.ndim - 2) if x.ndim > 1 else (c,)))
    loss = -(ops.LogSoftmax.apply(x, axis=axis) * t).sum(axis)
    return _reduce_by(loss, reduction, x.numel() / c)


def nll_loss(
    input: Tensor, target: Any, weight: Any = None, *, ignore_index: int = -100, reduction: Reduction = "mean"
) -> Tensor:
    """-w[y] input[n, y_n] per sample (input: log-probabilities, as log_softmax gives), averaged
    over the weights of the targets not ignored; shapes, `weight` and `ignore_index` as for
    cross_entropy."""
    fn = "nll_loss"
    x = _loss_input(input, fn)
    arguments.check_reduction(reduction, fn)
    w = _class_weight(weight, x.shape, x.dtype, fn)
    y, ignored = _class_targets(target, x.shape, ignore_index, fn)
    if x.ndim == 2 and w is None and ignored is None:
        return _reduce(-x[np.arange(len(y)), y], reduction, fn)
    return _class_loss(x, y, ignored, w, 0.0, reduction)


def _same_shape(x: Tensor, y: Tensor, fn: str) -> None:
    if x.shape != y.shape:
        raise ValueError(
            f"{fn}: input shape {x.shape} and target shape {y.shape} differ "
            "(broadcasting them would silently compute a different loss)"
        )


def mse_loss(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """mean((input - target)²); derivative 2 (input - target) / N."""
    x = float_tensor(input)  # losses of integer inputs are computed in float32, as PyTorch's
    d = x - _as_target(target, x, "mse_loss")
    return _reduce(d * d, reduction, "mse_loss")


def _as_target(target: Any, input: Tensor, fn: str) -> Tensor:
    """`target` as a Tensor (an array becomes one of the input's dtype), of the input's shape."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    _same_shape(input, target, fn)
    return target


def l1_loss(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """mean |input - target|; derivative sign(input - target) / N (0 where they are equal)."""
    x = float_tensor(input)
    return _reduce((x - _as_target(target, x, "l1_loss")).abs(), reduction, "l1_loss")


def _smooth_abs(d: Tensor, beta: float) -> Tensor:
    """0.5 d² / beta where |d| < beta, |d| - 0.5 beta elsewhere: |d| with its kink rounded off."""
    if beta == 0:
        return d.abs()  # the quadratic part is gone (and would divide by 0)
    a = d.abs()
    return where(a.data < beta, d * d * (0.5 / beta), a - 0.5 * beta)


def smooth_l1_loss(input: Tensor, target: Any, reduction: Reduction = "mean", beta: float = 1.0) -> Tensor:
    """mean of 0.5 d²/beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target);
    derivative d/beta inside, sign(d) outside: L1 that is quadratic near 0."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x = float_tensor(input)
    d = x - _as_target(target, x, "smooth_l1_loss")
    return _reduce(_smooth_abs(d, beta), reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: Reduction = "mean", delta: float = 1.0) -> Tensor:
    """mean of 0.5 d² where |d| < delta, delta (|d| - 0.5 delta) elsewhere: delta · smooth_l1 with
    beta = delta, so the outer slope is delta, not 1."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x = float_tensor(input)
    d = x - _as_target(target, x, "huber_loss")
    return _reduce(_smooth_abs(d, delta) * delta, reduction, "huber_loss")


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target ‖ q) summed pointwise, with input = log q (log-probabilities, as PyTorch):
    target (log target - input), taken as 0 where target = 0; with log_target, target is log p
    and the term is exp(target) (target - input).

    reduction "batchmean" divides the sum by the batch size input.shape[0] (the KL divergence per
    sample); "mean" divides by the number of elements, as PyTorch does (it warns that this is not
    the KL divergence's mean).
    """
    fn = "kl_div"
    arguments.check_reduction(reduction, fn, arguments.KL_REDUCTIONS)
    x = float_tensor(input)
    t = _as_target(target, x, fn)
    if log_target:
        loss = t.exp() * (t - x)
    else:
        # NOTE: 0 · log 0 is 0 here (the limit); log is taken of 1 where target = 0, so that
        # neither the value nor the gradient meets log(0) = -inf (0 · inf = NaN).
        positive = t.data > 0
        loss = t * (where(positive, t, 1.0).log() - x)
    if reduction == "batchmean":
        return loss.sum() * (1.0 / x.shape[0]) if x.ndim else loss.sum()
    return _reduce(loss, reduction, fn)


def binary_cross_entropy(input: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """-mean(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1]."""
    input = float_tensor(input)  # losses of integer inputs are computed in float32, as PyTorch's
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
    input = float_tensor(input)  # losses of integer inputs are computed in float32, as PyTorch's
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    return _reduce(
        ops.BinaryCrossEntropyWithLogits.apply(input, target), reduction, "binary_cross_entropy_with_logits"
    )


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """Elementwise `x if cond else y`, differentiable in x and y."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    return ops.Where.apply(x, y, cond=cond)


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: Any = UNSET) -> Tensor:
    """Join tensors along an existing dim, differentiable in each."""
    return _join("cat", tensors, dim, axis)


def concatenate(tensors: Sequence[Any], dim: int = 0, *, axis: Any = UNSET) -> Tensor:
    """numpy's name for `cat`."""
    return _join("concatenate", tensors, dim, axis)


def _join(op: str, tensors: Sequence[Any], dim: Any, axis: Any) -> Tensor:
    if axis is None:  # NOTE: numpy's axis=None flattens; PyTorch's cat has no such mode
        raise TypeError(f"{op}: axis must be an int (numpy's axis=None, flattening, is not supported)")
    dim, _ = dims(op, dim, None if axis is UNSET else axis, default=0)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return ops.Concatenate.apply(*tensors, axis=as_axis(dim, op))


def stack(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along a new dim, differentiable in each."""
    axis, _ = dims("stack", dim, axis, default=0)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    shapes = {t.shape for t in ts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in ts]}")
    axis = new_axis(axis, ts[0].shape, "stack")
    return cat([t.unsqueeze(axis) for t in ts], axis)


def maximum(x: Any, y: Any) -> Tensor:
    """The elementwise larger of x and y (ties share the gradient equally, as in PyTorch)."""
    return ops.Maximum.apply(x, y)


def minimum(x: Any, y: Any) -> Tensor:
    """The elementwise smaller of x and y (ties share the gradient equally)."""
    return ops.Minimum.apply(x, y)


# ==== convolution, pooling and padding (issue 11) ==================================================
# The ops live in conv.py; these functions check the arguments, with PyTorch's signatures, and
# lift 1-D and unbatched inputs to the (N, C, H, W) the ops work on.
Size = int | tuple[int, ...]


def _spatial_input(input: Any, dims: int, op: str) -> tuple[Tensor, bool]:
    """`input` as (N, C, *spatial): an unbatched (C, *spatial) input gets a batch axis (and True)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(
            f"{op}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, "
            f"got input of shape {x.shape}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input of dtype {x.dtype} is not floating-point")
    return (x.unsqueeze(0), True) if x.ndim == dims + 1 else (x, False)


def _window(
    kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], padding: tuple
) -> conv.Window:
    """A 2-D Window; 1-D arguments become a window of height 1 over the last axis."""
    lift = 2 - len(kernel)
    return conv.Window(
        (1,) * lift + kernel, (1,) * lift + stride, (1,) * lift + dilation, ((0, 0),) * lift + padding
    )


def _lifted(x: Tensor, dims: int) -> Tensor:
    return x.unsqueeze(2) if dims == 1 else x


def _unlifted(y: Tensor, dims: int, unbatched: bool) -> Tensor:
    y = y.squeeze(2) if dims == 1 else y
    return y.squeeze(0) if unbatched else y


def _check_fits(op: str, x: Tensor, kernel: tuple, dilation: tuple, widths: tuple) -> None:
    """The (dilated) kernel must fit in the padded input at least once."""
    padded = tuple(n + b + e for n, (b, e) in zip(x.shape[2:], widths))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, span)):
        raise ValueError(
            f"{op}: the kernel of size {kernel} (spanning {span} with dilation) is larger than the "
            f"padded input of size {padded} (input of shape {x.shape})"
        )


def _conv_weight(
    op: str, x: Tensor, weight: Any, bias: Any, groups: Any, dims: int, transposed: bool
) -> tuple[Tensor, tuple[Tensor, ...], int]:
    """Check the weight (and bias) against the input: layouts, channels, groups, dtypes."""
    w = weight if isinstance(weight, Tensor) else Tensor(weight)
    b = () if bias is None else (bias if isinstance(bias, Tensor) else Tensor(bias),)
    layout = "(in_channels, out_channels/groups" if transposed else "(out_channels, in_channels/groups"
    if w.ndim != dims + 2:
        raise ValueError(
            f"{op}: the weight must be {dims + 2}-D {layout}, *kernel_size), got weight of shape {w.shape}"
        )
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    c = x.shape[1]
    expects = w.shape[0] if transposed else w.shape[1] * groups
    if c != expects:
        raise ValueError(
            f"{op}: input of shape {x.shape} has {c} channels, "
            f"the weight of shape {w.shape} expects {expects}"
        )
    split = c if transposed else w.shape[0]
    if c % groups or split % groups:
        which = "input" if c % groups else "output"
        raise ValueError(
            f"{op}: groups={groups} does not divide the {which} channels ({c if c % groups else split}) "
            f"of input of shape {x.shape} and weight of shape {w.shape}"
        )
    c_out = w.shape[1] * groups if transposed else w.shape[0]
    if b and b[0].shape != (c_out,):
        raise ValueError(
            f"{op}: bias of shape {b[0].shape} does not match the {c_out} output channels "
            f"(weight of shape {w.shape})"
        )
    for name, t in (("weight", w), *(("bias", t) for t in b)):
        if t.dtype != x.dtype:
            raise TypeError(f"{op}: input of dtype {x.dtype} and {name} of dtype {t.dtype} differ")
    return w, b, int(groups)


def _conv(op: str, dims: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    x, unbatched = _spatial_input(input, dims, op)
    w, b, groups = _conv_weight(op, x, weight, bias, groups, dims, transposed=False)
    args = arguments.conv_args(op, dims, w.shape[2:], stride, padding, dilation)
    _check_fits(op, x, args.kernel, args.dilation, args.widths)
    win = _window(args.kernel, args.stride, args.dilation, args.widths)
    y = ops.Conv2d.apply(_lifted(x, dims), _lifted(w, dims), *b, win=win, groups=groups)
    return _unlifted(y, dims, unbatched)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size | str = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of input (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW), + bias.

    Done as one matrix product per call: the weight, one row per output channel, times the
    matrix of input patches (im2col). `padding` is zeros on each side, "valid" (none) or "same"
    (output as large as the input; stride 1 only).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size | str = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of input (N, C_in, L) with weight (C_out, C_in/groups, k): conv2d, height 1."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
) -> Tensor:
    """The adjoint of conv2d in its input: with the same weight, stride, padding and dilation,
    ⟨conv_transpose2d(y, W), x⟩ = ⟨y, conv2d(x, W)⟩. It is conv2d's input gradient, and it
    upsamples: (N, C_in, H, W) ↦ (N, C_out, (H-1)·s - 2p + d(k-1) + output_padding + 1, ...).

    The weight has conv2d's layout seen from the other side: (C_in, C_out/groups, kH, kW).
    `output_padding` adds rows and columns at the bottom and right (they only get the bias): it
    picks among the input sizes that a strided conv2d maps to the same output size.
    """
    op = "conv_transpose2d"
    x, unbatched = _spatial_input(input, 2, op)
    w, b, groups = _conv_weight(op, x, weight, bias, groups, 2, transposed=True)
    _, stride, pads, dilation, extra = arguments.conv_args(
        op, 2, w.shape[2:], stride, padding, dilation, output_padding
    )
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + e + 1
        for n, s, p, d, k, e in zip(x.shape[2:], stride, pads, dilation, w.shape[2:], extra)
    )
    if min(size) < 1:
        raise ValueError(
            f"{op}: the output size {size} is empty for input of shape {x.shape}, weight of shape "
            f"{w.shape}, stride {stride}, padding {pads} and dilation {dilation}"
        )
    # NOTE: the conv2d this is the adjoint of maps `size` back to the input's size. When
    # output_padding >= stride (allowed with a larger dilation) the padding after is reduced by
    # whole strides, so that the conv2d (used by the backward) does not see one more window.
    widths = tuple((p, p - s * (e // s)) for p, s, e in zip(pads, stride, extra))
    win = conv.Window(w.shape[2:], stride, dilation, widths)
    y = ops.ConvTranspose2d.apply(x, w, *b, win=win, groups=groups, size=size)
    return y.squeeze(0) if unbatched else y


def _pool_window(
    op: str, x: Tensor, dims: int, kernel_size, stride, padding, dilation, ceil_mode: bool
) -> conv.Window:
    """The pooling window, PyTorch's rules (see pool_args); with ceil_mode a last partial window
    counts if it starts inside the input or the padding before it."""
    kernel, stride, pads, dilation = arguments.pool_args(op, dims, kernel_size, stride, padding, dilation)
    _check_fits(op, x, kernel, dilation, tuple((p, p) for p in pads))
    sizes = x.shape[2:]
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    outs = []
    for n, p, e, s in zip(sizes, pads, span, stride):
        out = -(-(n + 2 * p - e) // s) + 1 if ceil_mode else (n + 2 * p - e) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1  # that last window would start in the padding after the input
        outs.append(out)
    # NOTE: the padding after is set so that exactly `out` windows fit: larger with ceil_mode (the
    # partial window), smaller when the last rows are in no window (a crop, harmless).
    widths = tuple((p, (o - 1) * s + e - n - p) for n, p, e, s, o in zip(sizes, pads, span, stride, outs))
    return _window(kernel, stride, dilation, widths)


def _max_pool(op: str, dims: int, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _spatial_input(input, dims, op)
    win = _pool_window(op, x, dims, kernel_size, stride, padding, dilation, ceil_mode)
    xl = _lifted(x, dims)
    y = _unlifted(ops.MaxPool2d.apply(xl, win=win), dims, unbatched)
    if not return_indices:
        return y
    _, idx = conv.max_taps(xl.data, win)  # again: a graph node is kept only when recording
    # the flat index of each picked pixel in its (H, W) plane, as PyTorch returns it
    kw, (sh, sw), (dh, dw) = win.kernel[1], win.stride, win.dilation
    oh, ow = idx.shape[2:]
    rows = np.arange(oh)[:, None] * sh - win.padding[0][0] + idx // kw * dh
    cols = np.arange(ow)[None, :] * sw - win.padding[1][0] + idx % kw * dw
    flat = (rows * xl.shape[-1] + cols).astype(np.int64)
    return y, Tensor(_unlifted(wrap(flat), dims, unbatched).data)


def max_pool2d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each kH×kW window (stride defaults to the kernel size: windows side by side).

    Derivative: 1 at the window's maximum, 0 elsewhere; among equal maxima the first in row-major
    order gets it, and among NaNs the last, as in PyTorch. With return_indices, also each maximum's
    flat index in its plane.
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each window of length k over (N, C, L): max_pool2d with height 1."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, unbatched = _spatial_input(input, dims, op)
    win = _pool_window(op, x, dims, kernel_size, stride, padding, 1, ceil_mode)
    sizes = (1,) * (2 - dims) + x.shape[2:]
    if divisor_override is not None:
        divisor = np.asarray(conv.as_ints(divisor_override, 1, "divisor_override", op, 1)[0], dtype=x.dtype)
    else:
        counts = [
            _window_counts(n, k, s, p, o, count_include_pad)
            for n, k, s, (p, _), o in zip(sizes, win.kernel, win.stride, win.padding, win.out_size(sizes))
        ]
        divisor = np.multiply.outer(*counts).astype(x.dtype)
    y = ops.WindowSum.apply(_lifted(x, dims), win=win) / Tensor(divisor)
    return _unlifted(y, dims, unbatched)


def _window_counts(n: int, k: int, s: int, p: int, out: int, count_include_pad: bool) -> np.ndarray:
    """How many of each window's k positions along an axis of n count for its mean (PyTorch's
    rule): those inside the padded axis, or only those inside the axis. The part of a ceil_mode
    window beyond the padding never counts."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    return end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)


def avg_pool2d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each kH×kW window: each window's sum divided by its size (zero padding counted,
    unless count_include_pad=False; a fixed divisor_override instead, if given)."""
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean of each window of length k over (N, C, L): avg_pool2d with height 1."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def _averaging_matrix(n: int, out: int, dtype: Any) -> np.ndarray:
    """(out, n): row i averages the inputs [⌊i n / out⌋, ⌈(i+1) n / out⌉), PyTorch's adaptive windows."""
    i = np.arange(out)
    start, end = i * n // out, -(-(i + 1) * n // out)
    inside = (np.arange(n) >= start[:, None]) & (np.arange(n) < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input: Tensor, output_size: Size | tuple[int | None, int | None]) -> Tensor:
    """Average pooling to a fixed output size (1 = global average pooling): the windows are
    [⌊i H / OH⌋, ⌈(i+1) H / OH⌉), so they overlap when OH does not divide H.

    Averaging is linear and separable, so it is a product of matrices: A_H x A_Wᵀ.
    """
    op = "adaptive_avg_pool2d"
    x, unbatched = _spatial_input(input, 2, op)
    out = arguments.adaptive_size(op, output_size, x.shape[2:])
    a_h, a_w = (_averaging_matrix(n, o, x.dtype) for n, o in zip(x.shape[2:], out))
    y = Tensor(a_h) @ x @ Tensor(a_w.T)
    return y.squeeze(0) if unbatched else y


def _pad_axis(x: Tensor, axis: int, before: int, after: int, mode: str) -> Tensor:
    """x padded along `axis` (amounts >= 0) by slices of itself, joined: no index repeats, so the
    gradient is sliced back and summed without a scatter."""
    n = x.shape[axis]

    def take(start: int, stop: int | None, step: int = 1) -> Tensor:
        return x[(slice(None),) * axis + (slice(start, stop, step),)]

    def edge(i: int, count: int) -> Tensor:
        piece = take(i, i + 1)
        return piece.expand(*piece.shape[:axis], count, *piece.shape[axis + 1 :])

    if mode == "reflect":  # x[b], ..., x[1] | x | x[n-2], ..., x[n-1-e]
        pieces = take(before, 0, -1), x, take(n - 2, n - 2 - after if n - 2 - after >= 0 else None, -1)
    elif mode == "replicate":  # x[0] b times | x | x[n-1] e times
        pieces = edge(0, before), x, edge(n - 1, after)
    else:  # circular: the last b | x | the first e
        pieces = take(n - before, n), x, take(0, after)
    return concatenate([p for p, count in zip(pieces, (before, n, after)) if count], axis)


def pad(input: Tensor, pad: tuple[int, ...], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)/2 axes, PyTorch's order: (left, right) of the last axis first, then
    (top, bottom) of the one before, ...; negative amounts crop.

    "constant" fills with `value` (0 by default); "reflect" mirrors without repeating the edge
    (3 2 | 1 2 3 | 2 1), "replicate" repeats the edge (1 1 | 1 2 3 | 3 3), "circular" wraps around
    (2 3 | 1 2 3 | 1 2). Those three join slices of x, so their gradient adds each output's
    gradient back to the element it was copied from.
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    amounts = conv.as_ints(pad, len(pad), "pad", "pad")
    k = len(amounts) // 2
    if len(amounts) % 2 or k > x.ndim:
        raise ValueError(
            f"pad: needs an even number of amounts, two per axis for at most {x.ndim} axes, got {pad!r} "
            f"for input of shape {x.shape}"
        )
    widths = tuple((amounts[2 * i], amounts[2 * i + 1]) for i in reversed(range(k)))
    sizes = x.shape[x.ndim - k :]
    least = 0 if mode == "constant" else 1  # the other modes, as in PyTorch, must leave an element
    if any(n < max(-b, 0) + max(-e, 0) or n + b + e < least for n, (b, e) in zip(sizes, widths)):
        raise ValueError(f"pad: padding {pad} crops more than the input of shape {x.shape} holds")
    if mode == "constant":
        return ops.Pad.apply(x, widths=widths, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value is not None:
        raise ValueError(f"pad: mode {mode!r} takes no value (got {value!r})")
    if x.ndim not in (k + 1, k + 2):
        raise ValueError(
            f"pad: mode {mode!r} pads the last {k} axes of a {k + 1}-D or {k + 2}-D input, "
            f"got input of shape {x.shape}"
        )
    for axis, n, (b, e) in zip(range(x.ndim - k, x.ndim), sizes, widths):
        limit = {"reflect": n - 1, "circular": n - max(-b, 0) - max(-e, 0)}.get(mode, max(b, e))
        if max(b, e) > limit:
            raise ValueError(
                f"pad: mode {mode!r} pads axis {axis} of input of shape {x.shape} by ({b}, {e}), "
                f"more than the {limit} elements it can {'wrap' if mode == 'circular' else 'mirror'}"
            )
    # NOTE: as in PyTorch, negative amounts crop the input first in circular mode (the rest wraps
    # around what is left), and crop the padded result in the other two (the mirror is taken
    # about the uncropped edge).

    def crop(sizes: tuple[int, ...]) -> tuple:  # the negative amounts, cut from axes of these sizes
        return (..., *(slice(max(-b, 0), n - max(-e, 0)) for n, (b, e) in zip(sizes, widths)))

    if mode == "circular":
        x = x[crop(sizes)]
    for axis, (b, e) in zip(range(x.ndim - k, x.ndim), widths):
        x = _pad_axis(x, axis, max(b, 0), max(e, 0), mode)
    return x if mode == "circular" else x[crop(x.shape[x.ndim - k :])]


# ==== activations, dropout, one_hot, normalize, cosine_similarity (issue 12) =======================
# PyTorch's signatures and, at every kink, PyTorch's derivative. `inplace` is accepted so that
# PyTorch code runs unchanged, but the result is always a new tensor and the input is left as it
# was (in place, the input the graph saved for the backward would be overwritten).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float_input(input: Any, fn: str) -> Tensor:
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{fn}: input of shape {x.shape} and dtype {x.dtype} is not floating-point")
    return x


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope · x otherwise; derivative negative_slope at 0, as in PyTorch."""
    return ops.LeakyReLU.apply(_float_input(input, "leaky_relu"), slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise; derivative alpha at 0 (the left one, as PyTorch)."""
    return ops.ELU.apply(_float_input(input, "elu"), alpha=alpha, scale=1.0, input_scale=1.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale · elu(x, alpha), alpha ≈ 1.6733 and scale ≈ 1.0507 (Klambauer et al., 2017), chosen
    so that activations of mean 0 and variance 1 keep them through a layer."""
    return ops.ELU.apply(_float_input(input, "selu"), alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x/alpha) - 1)): elu of x/alpha, so its derivative is 1 at 0."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the input is divided by it)")
    return ops.ELU.apply(_float_input(input, "celu"), alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x), Φ the standard normal CDF (computed through erf); approximate="tanh" is
    0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), as in PyTorch."""
    x = _float_input(input, "gelu")
    if approximate == "none":
        return x * ops.NormalCDF.apply(x)
    if approximate != "tanh":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    # NOTE: x³ overflows for |x| > 7e12 in float32 (its derivative 3x² sooner); tanh has reached
    # ±1 exactly long before |x| = 10, so the cubic only ever sees x clipped there.
    u = x.clip(-10.0, 10.0)
    t = ((u + 0.044715 * u * u * u) * math.sqrt(2 / math.pi)).tanh()
    return 0.5 * x * (1 + t)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x σ(x) (also called swish); derivative σ(x) (1 + x (1 - σ(x)))."""
    x = _float_input(input, "silu")
    return x * x.sigmoid()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as in PyTorch)."""
    return ops.Softplus.apply(_float_input(input, "softplus"), beta=beta, threshold=threshold)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) (Misra, 2019)."""
    # NOTE: stable at both ends through softplus: for large x it is x itself (tanh then 1), for
    # very negative x it underflows to 0 instead of computing log(1 + 0) from a tiny exp.
    x = _float_input(input, "mish")
    return x * ops.Softplus.apply(x, beta=1.0, threshold=20.0).tanh()


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|); derivative 1 / (1 + |x|)² (the kink of |x| cancels: x sign(x) = |x|)."""
    x = _float_input(input, "softsign")
    return x / (1 + x.abs())


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; derivative 1 strictly inside, 0 at the bounds (PyTorch's)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is above max_val {max_val}")
    return ops.Hardtanh.apply(_float_input(input, "hardtanh"), lo=min_val, hi=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6), so its derivative is 0 at 0 and at 6, as in PyTorch."""
    return ops.Hardtanh.apply(_float_input(input, "relu6"), lo=0.0, hi=6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between; derivative 1/6 strictly inside."""
    x = _float_input(input, "hardsigmoid")
    return ops.Hardtanh.apply(x + 3, lo=0.0, hi=6.0) * (1 / 6)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6 (Howard et al., 2019); derivative x/3 + 1/2 between -3 and 3, 0 below
    and at -3, 1 above and at 3 (PyTorch's values at the kinks)."""
    return ops.Hardswish.apply(_float_input(input, "hardswish"))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, each element is zeroed with probability p and the survivors
    are scaled by 1/(1-p), so E[out] = x; with training=False, the input itself. Masks come from
    the library's generator (`tg.manual_seed`)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = input if isinstance(input, Tensor) else Tensor(input)
    if not training or p == 0:
        return x
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    mask = (rng.generator().random(x.shape, dtype=np.float32) >= p).astype(dtype)
    if p < 1:  # p = 1 drops everything: the mask is all zeros already
        mask *= 1 / (1 - p)
    return x * wrap(mask)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Class indices of any shape (*) to int64 one-hot vectors of shape (*, num_classes); with
    num_classes=-1, one more than the largest index."""
    y = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot: needs integer class indices, got a tensor of shape {y.shape} and dtype {y.dtype}"
        )
    if num_classes == -1:
        if y.size == 0:
            raise ValueError(
                "one_hot: cannot infer the number of classes from an empty tensor (pass num_classes)"
            )
        num_classes = int(y.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or a non-negative int, got {num_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)].flat[0]
        raise ValueError(
            f"one_hot: class index {bad} is outside [0, {num_classes}) (tensor of shape {y.shape})"
        )
    out = np.zeros(y.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, y[..., None].astype(np.intp, copy=False), 1, axis=-1)
    return wrap(out)


def _vector_norm(x: Tensor, p: float, axis: int, fn: str) -> Tensor:
    """‖x‖_p along `axis` (kept), with derivative 0 at a zero vector, as PyTorch's norm."""
    if not p > 0:
        raise ValueError(f"{fn}: p must be positive (or inf), got {p}")
    return x.norm(p, axis, keepdim=True)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along `dim`: unit vectors, and a zero vector stays zero."""
    x = _float_input(input, "normalize")
    (axis,) = norm_axis(as_axis(dim, "normalize"), x.ndim, "normalize")
    return x / _vector_norm(x, p, axis, "normalize").clip(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(‖x1‖, eps) max(‖x2‖, eps)) along `dim` of their broadcast shape (dim dropped).

    Each input is divided by its norm before the product, as PyTorch does, so large vectors do not
    overflow. NOTE: below eps the norm is eps, a constant (derivative 0); PyTorch clamps it
    outside the graph instead, so their gradients differ for vectors of norm below eps only.
    """
    a, b = _float_input(x1, "cosine_similarity"), _float_input(x2, "cosine_similarity")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"cosine_similarity: x1 of shape {a.shape} and x2 of shape {b.shape} do not broadcast"
        ) from None
    a, b = (t if t.shape == shape else ops.Expand.apply(t, shape=shape) for t in (a, b))
    (axis,) = norm_axis(as_axis(dim, "cosine_similarity"), len(shape), "cosine_similarity")
    a_unit = a / _vector_norm(a, 2, axis, "cosine_similarity").clip(min=eps)
    b_unit = b / _vector_norm(b, 2, axis, "cosine_similarity").clip(min=eps)
    return (a_unit * b_unit).sum(axis)
