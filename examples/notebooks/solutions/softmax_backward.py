import numpy as np

import tinygrad_edu as tg


class Softmax(tg.Function):
    @staticmethod
    def forward(ctx, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        """d softmax(z)/dz: Jacobian diag(s) - s sᵀ, so the gradient is s ⊙ (g - Σ_i g_i s_i)"""
        s = ctx.output
        return s * (g - (g * s).sum(axis=-1, keepdims=True))
