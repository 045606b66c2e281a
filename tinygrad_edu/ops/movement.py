"""Ops that only move elements: reshape, permute, flip, indexing and its adjoint, concatenation."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu.core import Function, Tensor


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


class Flip(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        # NOTE: a copy, as PyTorch's flip: an in-place change of the result must not reach x.
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, g):
        """flip only moves elements: the gradient is flipped back"""
        return Flip.apply(g, axes=ctx.axes)


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
