"""Elementwise ops: arithmetic, the unary functions, `Where` and `Cast`.

Conventions (all of ops/): `x`, `y` are the input arrays in `forward` and the input Tensors in
`backward` (`ctx.inputs`); `out` is the output; `g` is the upstream gradient dL/d(out). Each
backward docstring states the local derivative. Gradients returned in the broadcast shape are
reduced to each input's shape by the engine, once, not by each op.
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_edu.core import Function, Tensor, wrap
from tinygrad_edu.dtypes import float_array, promoted
from tinygrad_edu.grad_mode import modes


class Add(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.dtype is not y.dtype:  # PyTorch's promotion, not numpy's (float32 + int64 stays float32)
            x, y = promoted(x, y)
        return x + y

    @staticmethod
    def backward(ctx, g):
        """d(x+y)/dx = 1, d(x+y)/dy = 1"""
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.dtype is not y.dtype:
            x, y = promoted(x, y)
        return x - y

    @staticmethod
    def backward(ctx, g):
        """d(x-y)/dx = 1, d(x-y)/dy = -1"""
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.dtype is not y.dtype:
            x, y = promoted(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        """d(xy)/dx = y, d(xy)/dy = x"""
        x, y = ctx.inputs
        nx, ny = ctx.needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)


class Div(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.dtype is not y.dtype:
            x, y = promoted(x, y)
        if x.dtype.kind != "f":  # NOTE: `/` of integers is true division, in float32 as PyTorch's
            x, y = float_array(x), float_array(y)
        return x / y

    @staticmethod
    def backward(ctx, g):
        """d(x/y)/dx = 1/y, d(x/y)/dy = -x/y² = -out/y"""
        y = ctx.inputs[1]
        nx, ny = ctx.needs_input_grad
        return (g / y if nx else None), (-(g * ctx.output) / y if ny else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, x, p):
        if x.dtype is not p.dtype:
            x, p = promoted(x, p)
        return x**p

    @staticmethod
    def backward(ctx, g):
        """d(x^p)/dx = p x^(p-1), d(x^p)/dp = x^p log(x)"""
        x, p = ctx.inputs
        need_x, need_p = ctx.needs_input_grad
        gx = gp = None
        if need_x:
            # NOTE: x^0 = 1 has derivative 0, but p x^(p-1) is 0 * inf = NaN at x = 0, p = 0; there
            # x is replaced by 1, so the product is 0 (PyTorch's convention). Elsewhere x^(p-1)
            # stays a function of p: d²(x^p)/dx dp = x^(p-1) at p = 0 needs it.
            both_zero = (x.data == 0) & (p.data == 0)
            gx = g * p * (Where.apply(1, x, cond=both_zero) if both_zero.any() else x) ** (p - 1)
        if need_p:
            # NOTE: log(x) is NaN for x < 0, so it is only computed when the exponent needs a grad.
            # At x = 0 with p >= 0, x^p log(x) is 0 * -inf; its limit, and PyTorch's value, is 0.
            zero_x = (x.data == 0) & (p.data >= 0)
            gp = g * ctx.output * (Where.apply(1, x, cond=zero_x) if zero_x.any() else x).log()
        return gx, gp


class Where(Function):
    """`where(cond, x, y)`: x where cond is True, else y (cond is a constant bool array)."""

    @staticmethod
    def forward(ctx, x, y, cond):
        ctx.cond = cond
        if x.dtype is not y.dtype:
            x, y = promoted(x, y)
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx, g):
        """d/dx = 1[cond], d/dy = 1[not cond]

        NOTE: the branch not taken still receives a zero gradient, and its own backward then
        multiplies that zero by its local derivative: `where(x > 0, sqrt(x), 0)` at x = 0 gives
        0 * inf = NaN. Make the unused branch safe instead: `sqrt(where(x > 0, x, 1))`.
        """
        nx, ny = ctx.needs_input_grad
        zero = np.zeros((), dtype=g.dtype)
        gx = Where.apply(g, zero, cond=ctx.cond) if nx else None
        gy = Where.apply(zero, g, cond=ctx.cond) if ny else None
        return gx, gy


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        """d(-x)/dx = -1"""
        return -g


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        return np.exp(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d exp(x)/dx = exp(x) = out"""
        return g * ctx.output


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        return np.log(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d log(x)/dx = 1/x"""
        return g / ctx.inputs[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        return np.sqrt(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d sqrt(x)/dx = 1/(2 sqrt(x)) = 1/(2 out)   (inf at x = 0)"""
        return g / (2 * ctx.output)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        return np.tanh(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d tanh(x)/dx = 1 - tanh²(x) = 1 - out²"""
        out = ctx.output
        return g * (1 - out * out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        # NOTE: 1/(1+exp(-x)) overflows in exp for x << 0. exp(-|x|) never exceeds 1, and
        # sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) for x < 0 with e = exp(-|x|).
        x = float_array(x)
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1, e) / (1 + e)

    @staticmethod
    def backward(ctx, g):
        """d sigmoid(x)/dx = s(1-s) with s = out"""
        s = ctx.output
        return g * (s * (1 - s))


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        return np.sin(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d sin(x)/dx = cos(x)"""
        return g * ctx.inputs[0].cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        return np.cos(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d cos(x)/dx = -sin(x)"""
        return -(g * ctx.inputs[0].sin())


class Tan(Function):
    @staticmethod
    def forward(ctx, x):
        return np.tan(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d tan(x)/dx = 1 + tan²(x) = 1 + out²"""
        out = ctx.output
        return g * (1 + out * out)


class Log2(Function):
    base = 2.0

    @staticmethod
    def forward(ctx, x):
        return np.log2(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d log_b(x)/dx = 1/(x ln b)"""
        return g / (ctx.inputs[0] * math.log(ctx.base))


class Log10(Log2):
    base = 10.0

    @staticmethod
    def forward(ctx, x):
        return np.log10(float_array(x))


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        # NOTE: log(1 + x) loses every digit of a tiny x to the rounding of 1 + x; log1p keeps them.
        return np.log1p(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d log(1+x)/dx = 1/(1+x)"""
        return g / (1 + ctx.inputs[0])


class Exp2(Function):
    @staticmethod
    def forward(ctx, x):
        return np.exp2(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d 2^x/dx = 2^x ln 2 = out ln 2"""
        return g * ctx.output * math.log(2.0)


class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        # NOTE: exp(x) - 1 cancels catastrophically for tiny x; expm1 does not.
        return np.expm1(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d (e^x - 1)/dx = e^x = out + 1"""
        return g * (ctx.output + 1)


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, x):
        return 1 / np.sqrt(float_array(x))

    @staticmethod
    def backward(ctx, g):
        """d x^(-1/2)/dx = -x^(-3/2) / 2 = -out³ / 2"""
        out = ctx.output
        return g * (out * out * out) * -0.5


class Staircase(Function):
    """A piecewise constant function `fn` (floor, ceil, trunc, round, sign)."""

    @staticmethod
    def forward(ctx, x, fn):
        ctx.fn = fn  # kept for what the graph records (ONNX export)
        if x.dtype.kind == "f" or (fn is np.sign and x.dtype.kind != "b"):
            return fn(x)
        return x.copy()  # integers are whole already (and a bool is its own sign), as PyTorch keeps them

    @staticmethod
    def backward(ctx, g):
        """d fn(x)/dx = 0 between the jumps; at a jump it is taken as 0 too, as in PyTorch"""
        return wrap(np.zeros_like(g.data))


class Maximum(Function):
    """The elementwise larger of x and y."""

    @staticmethod
    def forward(ctx, x, y):
        if x.dtype is not y.dtype:
            x, y = promoted(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        """d max(x, y)/dx = 1[x > y], d/dy = 1[y > x]; at a tie each gets 1/2, as PyTorch

        NOTE: a NaN is the result wherever one is there (numpy's and PyTorch's rule), so the NaNs
        are the ones picked."""
        x, y = ctx.inputs
        out = ctx.output.data
        px, py = picked(x.data, out), picked(y.data, out)
        share = 1 / (px.astype(g.dtype) + py)  # NOTE: bool + bool would be `or`: 1 at a tie
        nx, ny = ctx.needs_input_grad
        return (times(g, px * share) if nx else None), (times(g, py * share) if ny else None)


class Minimum(Maximum):
    """The elementwise smaller of x and y (Maximum's backward: the input equal to out gets g)."""

    @staticmethod
    def forward(ctx, x, y):
        if x.dtype is not y.dtype:
            x, y = promoted(x, y)
        return np.minimum(x, y)


def picked(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Where x is the value an extremum (max, min) took: equal to it, or NaN where it is NaN."""
    return (x == out) | (np.isnan(x) & np.isnan(out))


def times(g: Tensor, c: np.ndarray) -> Tensor:
    """g ⊙ c for a constant array c (a mask, a sign): a recorded Mul only under create_graph."""
    # NOTE: ReLU's backward is a hot path of every MLP; when nothing is recorded this is one
    # numpy multiply instead of an op dispatch and a Tensor around c.
    return g * Tensor(c) if modes.enabled else wrap(g.data * c)


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        """d relu(x)/dx = 1[x > 0]

        NOTE: at the kink x = 0 the derivative is taken as 0, as in PyTorch.
        """
        return times(g, ctx.inputs[0].data > 0)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        """d|x|/dx = sign(x)

        NOTE: at the kink x = 0 the derivative is taken as sign(0) = 0, as in PyTorch.
        """
        return times(g, np.sign(ctx.inputs[0].data))


class Clip(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        """d clip(x, lo, hi)/dx = 1[lo <= x <= hi]   (PyTorch's convention: 1 at the bounds)"""
        x = ctx.inputs[0].data
        inside = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x >= ctx.lo
        if ctx.hi is not None:
            inside &= x <= ctx.hi
        return times(g, inside)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        """d cast(x)/dx = 1: the gradient goes back in x's dtype"""
        return Cast.apply(g, dtype=ctx.inputs[0].dtype)
