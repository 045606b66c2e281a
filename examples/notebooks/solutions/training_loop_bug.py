import numpy as np

import tinygrad_edu as tg


def train(X: np.ndarray, y: np.ndarray, steps: int = 30, lr: float = 0.1) -> np.ndarray:
    """Linear regression by gradient descent on the mean squared error; returns w."""
    w = tg.Tensor(np.zeros(X.shape[1]), requires_grad=True)
    for _ in range(steps):
        w.grad = None  # the fix: backward() adds into .grad, so clear it before each step
        loss = ((tg.Tensor(X) @ w - tg.Tensor(y)) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w -= lr * w.grad
    return w.numpy()
