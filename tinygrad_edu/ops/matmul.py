"""Matrix product (1-D, 2-D and batched, as `np.matmul`)."""

from __future__ import annotations

import numpy as np

from tinygrad_edu.core import Function


class MatMul(Function):
    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError("both operands need at least one dimension (use * for scalars)")
        k = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if x.shape[-1] != k:
            which = "second-to-last" if y.ndim > 1 else "only"
            raise ValueError(
                f"the first's last dimension ({x.shape[-1]}) differs from the second's {which} ({k})"
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
