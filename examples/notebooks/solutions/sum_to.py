import numpy as np


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g (the gradient of a broadcast result) down to `shape`, the shape before broadcasting."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))  # the axes broadcasting prepended
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True)  # the axes it stretched from 1 stay, as 1
