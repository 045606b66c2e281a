"""Reductions and their adjoint: `Sum` and `Expand` (broadcasting), `Max` and `Min`, `Norm`,
`CumSum`, and `sum_to`, which undoes broadcasting for the engine.
"""

from __future__ import annotations

import numpy as np

from tinygrad_edu.axes import kept_shape
from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.ops.elementwise import Where, picked, times


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
            g = g.reshape(kept_shape(shape, ctx.axis))
        return Expand.apply(g, shape=shape)


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        """d broadcast(x)/dx: sum over the broadcast axes"""
        return sum_to(g, ctx.inputs[0].shape)


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
        kept = kept_shape(x.shape, ctx.axis)
        # NOTE: a NaN is the max of any slice that holds one, and NaN != NaN: matched apart.
        mask = picked(x.data, ctx.output.data.reshape(kept))
        share = mask / mask.sum(axis=ctx.axis, keepdims=True)
        return times(Expand.apply(g.reshape(kept), shape=x.shape), share.astype(g.dtype))


class Min(Max):
    """The smallest element over `axis` (Max's backward: ties share the gradient)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.axis, ctx.keepdims = axis, keepdims
        return x.min(axis=axis, keepdims=keepdims)


class Norm(Function):
    """‖x‖_p = (Σ |x|^p)^(1/p) over `axis`, for a finite p > 0."""

    @staticmethod
    def forward(ctx, x, p, axis, keepdims):
        ctx.p, ctx.axis, ctx.keepdims = p, axis, keepdims
        if p == 2:
            return np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))
        return (np.abs(x) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)

    @staticmethod
    def backward(ctx, g):
        """d‖x‖_p/dx = sign(x) |x|^(p-1) / ‖x‖^(p-1): x / ‖x‖ for p = 2, sign(x) for p = 1

        NOTE: where ‖x‖ = 0 (so x = 0 there) this is 0/0; the gradient is taken as 0, as in
        PyTorch: the norm is divided by 1 instead, and sign(0) = 0 does the rest.
        """
        x, p = ctx.inputs[0], ctx.p
        kept = kept_shape(x.shape, ctx.axis)
        n, g = ctx.output.reshape(kept), g.reshape(kept)
        zero = n.data == 0
        n = Where.apply(np.ones((), n.dtype), n, cond=zero) if zero.any() else n
        if p == 2:
            return g * x / n
        if p == 1:
            return g * x.sign()
        return g * x.sign() * x.abs() ** (p - 1) / n ** (p - 1)


class CumSum(Function):
    """Running sums along `axis` (integers and bools in int64, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis, dtype=None if x.dtype.kind == "f" else np.int64)

    @staticmethod
    def backward(ctx, g):
        """d out_i/dx_k = 1[k <= i], so x_k gets Σ_{i >= k} g_i: a running sum from the end"""
        return g.flip(ctx.axis).cumsum(ctx.axis).flip(ctx.axis)
