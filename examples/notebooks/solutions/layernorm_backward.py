import numpy as np


def layernorm_backward(x: np.ndarray, g: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """dL/dx for y = (x - μ) / σ, σ = sqrt(var(x) + eps), each row normalised; g = dL/dy.

    With D the row length: ∂μ/∂x_j = 1/D and ∂σ/∂x_j = (x_j - μ) / (D σ) = y_j / D, so
    ∂y_i/∂x_j = (δ_ij - 1/D - y_i y_j / D) / σ and dx_j = (g_j - mean(g) - y_j mean(g ⊙ y)) / σ.
    """
    mu = x.mean(axis=1, keepdims=True)
    sigma = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    y = (x - mu) / sigma
    return (g - g.mean(axis=1, keepdims=True) - y * (g * y).mean(axis=1, keepdims=True)) / sigma
