import numpy as np

import tinygrad_edu as tg


class LogSoftmax(tg.Function):
    @staticmethod
    def forward(ctx, z):
        m = z.max(axis=-1, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        """d log_softmax(z)/dz: g - softmax(z) Σ g"""
        # The fix: every output of a row depends on every input, so input j receives
        # Σ_i g_i (δ_ij - s_j) = g_j - s_j Σ_i g_i: the sum over the row, not g_j alone.
        return g - ctx.output.exp() * g.sum(axis=-1, keepdims=True)
