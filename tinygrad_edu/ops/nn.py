"""The fused ops of neural networks: `Linear`, `Softmax`, `LogSoftmax`, the losses and the
activations whose kinks or numerical traps need a rule of their own.

Softmax, log-softmax and the losses whose gradients the from-scratch MNIST write-ups derive by
hand are ops of their own, forward and backward side by side, written to stay finite for any
logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_edu.core import Function, Tensor, wrap
from tinygrad_edu.dtypes import float_array
from tinygrad_edu.grad_mode import modes
from tinygrad_edu.ops.elementwise import Clip, Where, times


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
    """x - its max along `axis`, in float32 if x holds integers or bools (as PyTorch computes them)."""
    # NOTE: softmax(x) = softmax(x - c) for any c; subtracting the max keeps exp() <= 1,
    # so logits of 1e3 neither overflow to inf nor turn the result into NaN. The max of an empty
    # axis is -inf (`initial`), so softmax over it is empty, as in PyTorch, not numpy's error.
    x = float_array(x)
    return x - x.max(axis=axis, keepdims=True, initial=-np.inf)


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
        if z.size == 0:  # an empty axis (or an empty batch): nothing to normalise, and no log(0) warning
            return z
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


# ---- activations ------------------------------------------------------------------------------
# The piecewise ones follow PyTorch at their kinks (the derivative PyTorch's backward returns
# exactly at the boundary), and their backward rules are Tensor ops, so second derivatives come
# free: the piecewise-constant slopes through `times`, the curved pieces through recorded ops.


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.slope = slope
        return np.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, g):
        """d leaky_relu(x)/dx = 1 for x > 0, negative_slope for x <= 0 (PyTorch's value at 0)"""
        x = ctx.inputs[0].data
        return times(g, np.where(x > 0, 1, ctx.slope).astype(x.dtype, copy=False))


class ELU(Function):
    """scale · x for x > 0, scale · alpha · (exp(input_scale · x) - 1) for x <= 0: ELU (scale = 1,
    input_scale = 1), SELU (fixed alpha and scale) and CELU (input_scale = 1/alpha), as PyTorch
    computes all three."""

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        # NOTE: np.where evaluates both branches; exp of a large positive x would overflow (a
        # warning, and inf * 0 in the backward), so the negative branch only sees min(x, 0).
        # expm1, not exp - 1: for x near 0, exp(x) - 1 loses the digits that make up the result.
        neg = np.expm1(np.minimum(x, 0) * input_scale) * (alpha * scale)
        return np.where(x > 0, x * scale, neg).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        """d/dx = scale for x > 0; input_scale · scale · alpha · exp(input_scale · x) =
        input_scale · (out + scale · alpha) for x <= 0 (PyTorch's value at 0: the left one)

        NOTE: PyTorch's second derivative at 0 is 0, though (its double backward tests x < 0):
        out is 0 there, so taking it only where x < 0 changes no value and gives that.
        """
        x = ctx.inputs[0].data
        curve = (Where.apply(ctx.output, 0, cond=x < 0) + ctx.scale * ctx.alpha) * ctx.input_scale
        return g * Where.apply(ctx.scale, curve, cond=x > 0)


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        z = x * beta
        # NOTE: log(1 + exp(z)) overflows for z > 88 in float32 (709 in float64);
        # max(z, 0) + log1p(exp(-|z|)) is the same number and never does.
        soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
        return np.where(z > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        """d softplus(x)/dx = sigmoid(beta x), or 1 where beta x > threshold (the linear part)

        NOTE: the stable form max(z, 0) + log1p(exp(-|z|)), differentiated as composed ops, gives
        0 at z = 0 (the kinks of max and |.| both take derivative 0 there); the true value is 1/2.
        """
        x = ctx.inputs[0]
        z = x.data * ctx.beta
        s = (x * ctx.beta).sigmoid()
        # NOTE: at beta x = threshold exactly, the slope is still sigmoid's, but PyTorch's second
        # derivative is 0 there (the linear piece's): the slope is taken there as a constant.
        return g * Where.apply(np.where(z > ctx.threshold, 1, s.data), s, cond=z >= ctx.threshold)


class Hardtanh(Clip):
    """Clip's forward, with PyTorch's hardtanh derivative at the bounds."""

    @staticmethod
    def backward(ctx, g):
        """d hardtanh(x)/dx = 1[min_val < x < max_val]

        NOTE: 0 at the bounds themselves, as PyTorch's hardtanh (and relu6); clamp's is 1 there.
        """
        x = ctx.inputs[0].data
        return times(g, (x > ctx.lo) & (x < ctx.hi))


class Hardswish(Function):
    @staticmethod
    def forward(ctx, x):
        return x * np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        """d hardswish(x)/dx = 0 for x <= -3, x/3 + 1/2 for -3 < x < 3, 1 for x >= 3

        NOTE: at the kinks the outer pieces' values, 0 at -3 and 1 at 3, as PyTorch 2.13 (older
        versions gave the middle piece's -1/2 and 3/2); the second derivative is 0 there.
        """
        x = ctx.inputs[0]
        middle = (x.data > -3) & (x.data < 3)
        return g * Where.apply(x * (1 / 3) + 0.5, (x.data >= 3).astype(x.dtype), cond=middle)


# The error function, vectorised: numpy has none (math.erf is one float at a time). Two classic
# expansions, each used where it converges fast. Measured against math.erf and math.erfc on a
# fine grid (tests/test_activations.py): erf within 1e-15 relative everywhere; erfc within 2e-14
# relative in its tail x >= 2.5 (down to erfc(26) ~ 1e-296), and 1 - erf(x) below that (within
# 1e-15 absolute, 3e-12 relative).
ERF_SPLIT = 2.5
SERIES_TERMS = 40  # enough for |x| < 2.5: the last term is below 1e-16 of the sum
FRACTION_DEPTH = 30  # enough for x >= 2.5: deeper fractions change nothing in float64


def exp_minus_square(x: np.ndarray) -> np.ndarray:
    """exp(-x²), accurate for large x too.

    NOTE: x² rounds with a relative error 1e-16, which exp turns into an absolute error of
    1e-16 x² in the exponent (4e-14 relative at x = 20). With x = h + r, h holding x's leading
    bits, h² is exact and only the small r (x + h) rounds.
    """
    h = np.round(x * 16) / 16
    return np.exp(-h * h) * np.exp(-(x - h) * (x + h))


def erf_series(x: np.ndarray) -> np.ndarray:
    """erf(x) = 2/√π · exp(-x²) · Σ_k (2x²)^k x / (1·3·…·(2k+1)): all terms positive, so no
    digits cancel (the Taylor series of erf itself alternates)."""
    two_x2 = 2 * x * x
    total = np.ones_like(x)
    for k in range(SERIES_TERMS, 0, -1):  # Horner's scheme, from the smallest term
        total = 1 + total * two_x2 / (2 * k + 1)
    return (2 / math.sqrt(math.pi)) * exp_minus_square(x) * x * total


def erfc_fraction(x: np.ndarray) -> np.ndarray:
    """erfc(x) = exp(-x²)/√π / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), for x > 0,
    evaluated from the bottom up; accurate to the last digits in the tail, where 1 - erf(x)
    would keep none."""
    # NOTE: erfc(28) underflows to 0 anyway; capping x there keeps inf from making inf - inf
    # in exp_minus_square, so erfc(inf) = 0 and erf(±inf) = ±1.
    x = np.minimum(x, 28.0)
    d = x
    for k in range(FRACTION_DEPTH, 0, -1):
        d = x + (k / 2) / d
    return exp_minus_square(x) / (math.sqrt(math.pi) * d)


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function 1 - erf(x), elementwise, in float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    tail = x >= ERF_SPLIT
    out[tail] = erfc_fraction(x[tail])
    out[~tail] = 1 - erf(x[~tail])  # x < 2.5: erfc(x) > 4e-4, so 1 - erf keeps 12 digits or more
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """The error function 2/√π ∫₀ˣ exp(-t²) dt, elementwise, in float64 (odd: erf(-x) = -erf(x))."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    out = np.empty_like(x)
    tail = a >= ERF_SPLIT
    out[tail] = 1 - erfc_fraction(a[tail])
    out[~tail] = erf_series(a[~tail])
    return np.copysign(out, x)


class NormalCDF(Function):
    @staticmethod
    def forward(ctx, x):
        # NOTE: Φ(x) = (1 + erf(x/√2))/2 cancels to 0 for x < -8 (and loses digits long
        # before); erfc(-x/√2)/2 is the same number with full relative accuracy in that tail.
        return (0.5 * erfc(-x * (1 / math.sqrt(2)))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        """d Φ(x)/dx = φ(x) = exp(-x²/2) / √(2π)"""
        # NOTE: x² overflows for |x| > 1.8e19 in float32; φ is 0 in float64 from |x| = 39 on,
        # so x is clipped to ±40 first (the clip's zero derivative there is φ′'s value, 0, too).
        x = ctx.inputs[0].clip(-40.0, 40.0)
        return g * (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
