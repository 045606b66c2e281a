"""Autograd against the backprop that the from-scratch MNIST write-ups derive by hand.

Column convention of the write-ups: one sample per column, X is (784, m), Y is one-hot (10, m),
b broadcasts over the columns. Everything is float64 and must agree to 1e-12.
"""

import itertools

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu import functional as F

M = 64  # samples (columns)
TOL = 1e-12


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((784, M))  # pixel intensities in [0, 1)
    labels = rng.integers(0, 10, M)
    Y = np.zeros((10, M))
    Y[labels, np.arange(M)] = 1
    return X, labels, Y


def init(sizes: list[int], seed: int) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] with W_l of shape (out, in), He-scaled, and small nonzero biases."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params += [rng.standard_normal((n_out, n_in)) * np.sqrt(2 / n_in), rng.normal(0, 0.1, (n_out, 1))]
    return params


def assert_grads_equal(grads: list[np.ndarray], expected: list[np.ndarray]) -> None:
    for g, e in zip(grads, expected):
        assert g.shape == e.shape and g.dtype == np.float64
        assert np.abs(e).max() > 1e-4  # a real gradient, so the comparison can fail
        np.testing.assert_allclose(g, e, rtol=0, atol=TOL)


# ---- 784-10-10, ReLU hidden layer, softmax output, mean cross-entropy ----------------------------
def relu_softmax_by_hand(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> tuple[float, list]:
    """Forward, then
    dZ2 = A2 - Y
    dW2 = dZ2 A1ᵀ / m,          db2 = Σ_columns dZ2 / m
    dZ1 = W2ᵀ dZ2 ⊙ 1[Z1 > 0]
    dW1 = dZ1 Xᵀ / m,           db1 = Σ_columns dZ1 / m
    """
    W1, b1, W2, b2 = params
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    E = np.exp(Z2 - Z2.max(axis=0))
    A2 = E / E.sum(axis=0)
    loss = -np.sum(Y * np.log(A2)) / m
    assert 0.2 < np.mean(Z1 > 0) < 0.8  # both sides of the ReLU kink are exercised

    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return loss, [dW1, db1, dW2, db2]


def relu_softmax_loss(Z2: Tensor, labels: np.ndarray, Y: np.ndarray, route: str) -> Tensor:
    m = Z2.shape[1]
    if route == "cross_entropy":  # the fused op takes (N, C) logits
        return F.cross_entropy(Z2.T, labels)
    if route == "log_softmax+nll_loss":
        return F.nll_loss(F.log_softmax(Z2.T, axis=1), labels)
    A2 = F.softmax(Z2, axis=0)
    if route == "softmax+log+nll by hand":
        return -A2.log()[labels, np.arange(m)].mean()
    return -(Tensor(Y) * A2.log()).sum() / m  # "softmax+onehot": the write-ups' formula


@pytest.mark.parametrize(
    "route", ["cross_entropy", "log_softmax+nll_loss", "softmax+log+nll by hand", "softmax+onehot"]
)
def test_relu_softmax_network(data, route: str) -> None:
    X, labels, Y = data
    params = init([784, 10, 10], seed=1)
    W1, b1, W2, b2 = ts = [Tensor(p.copy(), requires_grad=True) for p in params]

    Z2 = W2 @ (W1 @ Tensor(X) + b1).relu() + b2
    loss = relu_softmax_loss(Z2, labels, Y, route)
    loss.backward()

    expected_loss, expected = relu_softmax_by_hand(params, X, Y)
    assert abs(loss.item() - expected_loss) < TOL
    assert_grads_equal([t.grad for t in ts], expected)


# ---- 784-16-16-10, ReLU hidden layers, sigmoid output, squared error -----------------------------
# Two squared-error losses, each with its derivative with respect to the output A3 (10, m):
#   "half_sse": L = (1/m) Σ_samples ½ Σ_k (A3 - Y)²    ->  dA3 = (A3 - Y) / m
#   "mse":      L = (1/(10 m)) Σ_all (A3 - Y)²         ->  dA3 = 2 (A3 - Y) / (10 m)
SQUARED_ERRORS = {
    "half_sse": (
        lambda A3, Y: 0.5 * ((A3 - Y) ** 2).sum() / A3.shape[1],
        lambda A3, Y: (A3 - Y) / A3.shape[1],
    ),
    "mse": (F.mse_loss, lambda A3, Y: 2 * (A3 - Y) / A3.size),
}


def sigmoid_mse_by_hand(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray, dloss) -> list:
    """Forward, then
    dZ3 = dA3 ⊙ σ'(Z3) = dA3 ⊙ A3 (1 - A3)        (σ' = σ(1 - σ))
    dW3 = dZ3 A2ᵀ,   db3 = Σ_columns dZ3,   dA2 = W3ᵀ dZ3
    dZ2 = dA2 ⊙ 1[Z2 > 0],   dW2 = dZ2 A1ᵀ,   db2 = Σ_columns dZ2,   dA1 = W2ᵀ dZ2
    dZ1 = dA1 ⊙ 1[Z1 > 0],   dW1 = dZ1 Xᵀ,    db1 = Σ_columns dZ1
    (the 1/m of the mean is already inside dA3)
    """
    W1, b1, W2, b2, W3, b3 = params
    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    A2 = np.maximum(Z2, 0)
    Z3 = W3 @ A2 + b3
    A3 = 1 / (1 + np.exp(-Z3))

    dZ3 = dloss(A3, Y) * A3 * (1 - A3)
    dW3, db3 = dZ3 @ A2.T, dZ3.sum(axis=1, keepdims=True)
    dZ2 = (W3.T @ dZ3) * (Z2 > 0)
    dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1, db1 = dZ1 @ X.T, dZ1.sum(axis=1, keepdims=True)
    return [dW1, db1, dW2, db2, dW3, db3]


@pytest.mark.parametrize("loss_name", list(SQUARED_ERRORS))
def test_sigmoid_squared_error_network(data, loss_name: str) -> None:
    X, _, Y = data
    loss_fn, dloss = SQUARED_ERRORS[loss_name]
    params = init([784, 16, 16, 10], seed=2)
    W1, b1, W2, b2, W3, b3 = ts = [Tensor(p.copy(), requires_grad=True) for p in params]

    A2 = (W2 @ (W1 @ Tensor(X) + b1).relu() + b2).relu()
    A3 = F.sigmoid(W3 @ A2 + b3)
    loss_fn(A3, Tensor(Y)).backward()

    assert_grads_equal([t.grad for t in ts], sigmoid_mse_by_hand(params, X, Y, dloss))
