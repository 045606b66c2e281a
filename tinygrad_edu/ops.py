"""The primitive differentiable ops: each forward sits next to its vector-Jacobian product.

Conventions: `x`, `y` are the input arrays in `forward` and the input Tensors in `backward`
(`ctx.inputs`); `out` is the output; `g` is the upstream gradient dL/d(out). Each backward
docstring states the local derivative. Gradients returned in the broadcast shape are reduced
to each input's shape by the engine (`sum_to`), once, not by each op.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any

import numpy as np

from tinygrad_edu.function import Function, _GradMode
from tinygrad_edu.tensor import Tensor, _wrap


def sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Undo broadcasting: sum `g` over the axes that broadcasting prepended or stretched from 1.

    E.g. (5, 4) + (3, 1, 4) -> (3, 5, 4): the (5, 4) input's gradient sums the leading axis,
    the (3, 1, 4) input's gradient sums axis 1 (kept, so it is 1 again).
    """
    lead = g.ndim - len(shape)
    if lead < 0:
        return g  # not a broadcast of `shape`: the caller reports the mismatch
    if lead > 0:
        g = Sum.apply(g, axis=tuple(range(lead)), keepdims=False)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = Sum.apply(g, axis=stretched, keepdims=True)
    return g


def norm_axis(axis: int | tuple[int, ...] | None, ndim: int, op: str) -> tuple[int, ...]:
    """`axis` as a sorted tuple of non-negative ints (None means every axis).

    A 0-d tensor accepts axis 0 and -1, as in PyTorch, and has no axis to act on: ().
    """
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = [as_axis(a, op) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}") from None
    n = max(ndim, 1)
    for a in axes:
        if not -n <= a < n:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    normal = sorted([a % n for a in axes])
    if len(set(normal)) < len(normal):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return tuple(normal) if ndim else ()


def as_axis(a: Any, op: str) -> int:
    """An axis as a Python int: ints and numpy ints pass; floats, strings and bools raise TypeError."""
    if not isinstance(a, (bool, np.bool_)):
        with contextlib.suppress(TypeError):
            return operator.index(a)
    raise TypeError(f"{op}: an axis must be an int, got {a!r}")


def new_axis(axis: int, shape: tuple[int, ...], op: str) -> int:
    """The position of an axis to insert into `shape`, counted in the result: in [-(ndim+1), ndim]."""
    n = len(shape) + 1
    axis = as_axis(axis, op)
    if not -n <= axis < n:
        raise ValueError(f"{op}: axis {axis} is out of range [-{n}, {n}) for a tensor of shape {shape}")
    return axis % n


def _kept_shape(shape: tuple[int, ...], axis: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


# ---- elementwise binary ------------------------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        """d(x+y)/dx = 1, d(x+y)/dy = 1"""
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, g):
        """d(x-y)/dx = 1, d(x-y)/dy = -1"""
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
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
        return x**p

    @staticmethod
    def backward(ctx, g):
        """d(x^p)/dx = p x^(p-1), d(x^p)/dp = x^p log(x)"""
        x, p = ctx.inputs
        nx, np_ = ctx.needs_input_grad
        gx = gp = None
        if nx:
            # NOTE: x^0 = 1 has derivative 0, but p x^(p-1) is 0 * inf = NaN at x = 0, p = 0; there
            # x is replaced by 1, so the product is 0 (PyTorch's convention). Elsewhere x^(p-1)
            # stays a function of p: d²(x^p)/dx dp = x^(p-1) at p = 0 needs it.
            both_zero = (x.data == 0) & (p.data == 0)
            gx = g * p * (where(both_zero, 1, x) if both_zero.any() else x) ** (p - 1)
        if np_:
            # NOTE: log(x) is NaN for x < 0, so it is only computed when the exponent needs a grad.
            # At x = 0 with p >= 0, x^p log(x) is 0 * -inf; its limit, and PyTorch's value, is 0.
            zero_x = (x.data == 0) & (p.data >= 0)
            gp = g * ctx.output * (where(zero_x, 1, x) if zero_x.any() else x).log()
        return gx, gp


class Where(Function):
    """`where(cond, x, y)`: x where cond is True, else y (cond is a constant bool array)."""

    @staticmethod
    def forward(ctx, x, y, cond):
        ctx.cond = cond
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


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """Elementwise `x if cond else y`, differentiable in x and y."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    return Where.apply(x, y, cond=cond)


class MatMul(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError("both operands need at least one dimension (use * for scalars)")
        k = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if x.shape[-1] != k:
            where = "second-to-last" if y.ndim > 1 else "only"
            raise ValueError(
                f"the first's last dimension ({x.shape[-1]}) differs from the second's {where} ({k})"
            )
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx, g):
        """d(x@y)/dx: g @ yᵀ, d(x@y)/dy: xᵀ @ g (vectors treated as 1-row / 1-column matrices)"""
        x, y = ctx.inputs
        nx, ny = ctx.needs_input_grad
        xm = x if x.ndim > 1 else x.reshape(1, -1)
        ym = y if y.ndim > 1 else y.reshape(-1, 1)
        gm = g
        if x.ndim == 1:
            gm = gm.unsqueeze(-2 if y.ndim > 1 else 0)
        if y.ndim == 1:
            gm = gm.unsqueeze(-1)
        gx = gm @ ym.transpose() if nx else None
        gy = None
        if ny:
            # NOTE: y is usually a transposed weight (x @ W.T). Computing its gradient as (gᵀ x)ᵀ
            # gives it y's memory layout, so W.grad comes out row-major like W, and optimizers'
            # in-place updates don't stride through a column-major array (~5x slower).
            transposed = ym.ndim == 2 and not ym.data.flags.c_contiguous
            gy = (gm.transpose() @ xm).transpose() if transposed else xm.transpose() @ gm
        if gx is not None and x.ndim == 1:
            gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:])
        if gy is not None and y.ndim == 1:
            gy = gy.reshape(gy.shape[:-1])
        return gx, gy


# ---- elementwise unary -------------------------------------------------------------------------
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
        return np.exp(x)

    @staticmethod
    def backward(ctx, g):
        """d exp(x)/dx = exp(x) = out"""
        return g * ctx.output


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        """d log(x)/dx = 1/x"""
        return g / ctx.inputs[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)

    @staticmethod
    def backward(ctx, g):
        """d sqrt(x)/dx = 1/(2 sqrt(x)) = 1/(2 out)   (inf at x = 0)"""
        return g / (2 * ctx.output)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

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
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1, e) / (1 + e)

    @staticmethod
    def backward(ctx, g):
        """d sigmoid(x)/dx = s(1-s) with s = out"""
        s = ctx.output
        return g * (s * (1 - s))


def _times(g: Tensor, c: np.ndarray) -> Tensor:
    """g ⊙ c for a constant array c (a mask, a sign): a recorded Mul only under create_graph."""
    # NOTE: ReLU's backward is a hot path of every MLP; when nothing is recorded this is one
    # numpy multiply instead of an op dispatch and a Tensor around c.
    return g * Tensor(c) if _GradMode.enabled else _wrap(g.data * c)


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        """d relu(x)/dx = 1[x > 0]

        NOTE: at the kink x = 0 the derivative is taken as 0, as in PyTorch.
        """
        return _times(g, ctx.inputs[0].data > 0)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        """d|x|/dx = sign(x)

        NOTE: at the kink x = 0 the derivative is taken as sign(0) = 0, as in PyTorch.
        """
        return _times(g, np.sign(ctx.inputs[0].data))


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
        return _times(g, inside)


# ---- reductions ----------------------------------------------------------------------------------
class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.axis, ctx.keepdims = axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        """d(sum x)/dx_i = 1: every input element gets the gradient of its sum"""
        shape = ctx.inputs[0].shape
        if not ctx.keepdims:
            g = g.reshape(_kept_shape(shape, ctx.axis))
        return Expand.apply(g, shape=shape)


class Max(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.axis, ctx.keepdims = axis, keepdims
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        """d(max x)/dx_i = 1[x_i = max] / (number of ties)

        NOTE: at a tie the gradient is shared equally between the maxima, as PyTorch's `amax`
        and full `max()` do (so gradcheck's symmetric differences agree at ties).
        """
        x = ctx.inputs[0]
        kept = _kept_shape(x.shape, ctx.axis)
        out = ctx.output.data.reshape(kept)
        # NOTE: a NaN is the max of any slice that holds one, and NaN != NaN: matched apart.
        mask = (x.data == out) | (np.isnan(x.data) & np.isnan(out))
        share = mask / mask.sum(axis=ctx.axis, keepdims=True)
        return _times(Expand.apply(g.reshape(kept), shape=x.shape), share.astype(g.dtype))


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        """d broadcast(x)/dx: sum over the broadcast axes"""
        return sum_to(g, ctx.inputs[0].shape)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        """d cast(x)/dx = 1: the gradient goes back in x's dtype"""
        return Cast.apply(g, dtype=ctx.inputs[0].dtype)


# ---- shape ops ---------------------------------------------------------------------------------
class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        """reshape only moves elements: the gradient is reshaped back"""
        return g.reshape(ctx.inputs[0].shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        """permute only moves elements: the gradient is permuted back (inverse order)"""
        return g.permute(tuple(np.argsort(ctx.axes)))


def as_index(idx: Any) -> Any:
    """Tensors, lists and tuples inside an index become arrays (numpy's own indexing rules apply:
    `x[:, (1, 1)]` picks column 1 twice, like `x[:, [1, 1]]`)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    items = tuple(_index_array(i) if isinstance(i, (Tensor, list, tuple)) else i for i in items)
    return items if isinstance(idx, tuple) else items[0]


def _index_array(i: Any) -> np.ndarray:
    if isinstance(i, Tensor):
        return i.data
    # NOTE: np.asarray([]) is float64, which numpy refuses as an index; an empty sequence picks
    # nothing, so it is made an integer array, as numpy's own indexing does.
    return np.asarray(i) if len(i) else np.empty(0, dtype=np.intp)


class Index(Function):
    @staticmethod
    def forward(ctx, x, idx):
        ctx.idx = idx
        try:
            return x[idx]
        except IndexError as e:  # stays an IndexError: Python's iteration protocol relies on it
            raise IndexError(f"index: {e} (tensor of shape {x.shape})") from None

    @staticmethod
    def backward(ctx, g):
        """d x[idx]/dx: the gradient is scattered back to the indexed positions (summed at repeats)"""
        return IndexAdd.apply(g, idx=ctx.idx, shape=ctx.inputs[0].shape)


class IndexAdd(Function):
    """zeros(shape) with `g` added at `idx`: the adjoint of indexing."""

    @staticmethod
    def forward(ctx, g, idx, shape):
        ctx.idx = idx
        out = np.zeros(shape, dtype=g.dtype)
        items = idx if isinstance(idx, tuple) else (idx,)
        if any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items):
            # NOTE: `out[idx] += g` would keep only one of the repeated indices; add.at sums them.
            np.add.at(out, idx, g)
        else:
            out[idx] = g
        return out

    @staticmethod
    def backward(ctx, g):
        """d/dg of scatter-add is gathering: g[idx]"""
        return Index.apply(g, idx=ctx.idx)


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        """d concat(x_1..x_n)/dx_k: the slice of the gradient where x_k sits"""
        axis = ctx.axis % g.ndim
        grads, start = [], 0
        for x, needed in zip(ctx.inputs, ctx.needs_input_grad):
            stop = start + x.shape[axis]
            grads.append(g[(slice(None),) * axis + (slice(start, stop),)] if needed else None)
            start = stop
        return tuple(grads)


def concatenate(tensors: list[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate), differentiable in each."""
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    axis = as_axis(axis, "concatenate")  # None too: numpy would flatten, PyTorch's cat has no such mode
    return Concatenate.apply(*tensors, axis=axis)


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
