"""Reductions and their adjoint: `Sum` and `Expand` (broadcasting), `Max`, and `sum_to`, which
undoes broadcasting for the engine.
"""

from __future__ import annotations

import numpy as np

from tinygrad_edu.axes import kept_shape
from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.ops.elementwise import times


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
        out = ctx.output.data.reshape(kept)
        # NOTE: a NaN is the max of any slice that holds one, and NaN != NaN: matched apart.
        mask = (x.data == out) | (np.isnan(x.data) & np.isnan(out))
        share = mask / mask.sum(axis=ctx.axis, keepdims=True)
        return times(Expand.apply(g.reshape(kept), shape=x.shape), share.astype(g.dtype))
