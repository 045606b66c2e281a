"""Traps that users of other autograd libraries have hit, one test (or a few) each.

The property tests draw values away from kinks; here the kinks are probed on purpose, with the
conventions stated in the ops' docstrings (PyTorch's).
"""

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu import functional as F


@contextmanager
def strict_floats() -> Iterator[None]:
    """Any overflow, invalid operation or division by zero raises (underflow to 0 is fine)."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


def leaf(values, dtype=np.float64) -> Tensor:
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def grad_of(f, values) -> np.ndarray:
    x = leaf(values)
    f(x).sum().backward()
    return x.grad


# ---- reuse and depth -----------------------------------------------------------------------------
def test_reuse_needs_topological_order() -> None:
    """Recursing into b's backward once per use, before b has its full gradient, gives 2 or 3."""
    a = leaf(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0


def test_deep_graph_with_reuse_at_every_level() -> None:
    """x_{k+1} = x_k/2 + x_k/2: deep (a recursive topological sort dies) and reused at every level
    (an un-ordered backward double counts). The exact gradient is 1."""
    x = leaf(3.0)
    y = x
    for _ in range(5000):
        y = y * 0.5 + y * 0.5
    y.backward()
    assert y.item() == 3.0 and x.grad == 1.0


# ---- un-broadcasting -----------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["add", "mul"])
def test_unbroadcast_with_prepended_and_stretched_axes(op: str) -> None:
    """(5, 4) + (3, 1, 4) -> (3, 5, 4): a's gradient sums the prepended axis 0, b's sums axis 1."""
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal((5, 4))), leaf(rng.standard_normal((3, 1, 4)))
    g = rng.standard_normal((3, 5, 4))
    (a + b if op == "add" else a * b).backward(g)
    ga, gb = (g, g) if op == "add" else (g * b.data, g * a.data)
    assert a.grad.shape == (5, 4) and b.grad.shape == (3, 1, 4)
    np.testing.assert_allclose(a.grad, ga.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(b.grad, gb.sum(axis=1, keepdims=True), rtol=1e-13)


def test_unbroadcast_of_scalar_tensor() -> None:
    s, x = leaf(2.0), leaf(np.ones((2, 3)))
    (s * x).sum().backward()
    assert s.grad.shape == () and s.grad == 6.0


def test_repeated_indices_accumulate() -> None:
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 2, 0, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    m = leaf(np.zeros((2, 3)))  # a tuple inside the index is a sequence of indices, as a list is
    (m[:, (1, 1)].sum() + m[(0, 0),].sum()).backward()
    np.testing.assert_array_equal(m.grad, [[2, 4, 2], [0, 2, 0]])
    assert m[:, ()].shape == m[:, []].shape == (2, 0) and m[((),)].shape == (0, 3)  # picks nothing
    y = leaf(np.zeros((3, 2)))
    (y[Tensor(np.array([1, 1])), :] * Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0], [4, 6], [0, 0]])


# ---- kinks, probed at the kink -------------------------------------------------------------------
def test_relu_derivative_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(F.relu, [-0.0, 0.0]), [0.0, 0.0])


def test_abs_derivative_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(grad_of(lambda x: x.abs(), [-3.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])


def test_max_with_ties_shares_the_gradient_equally() -> None:
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0]), [0, 0.5, 0.5, 0])
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [2.0, 2.0, 2.0, 2.0]), [0.25] * 4)
    rows = [[1.0, 5.0, 5.0], [7.0, 7.0, 7.0], [0.0, 1.0, -1.0]]
    g = grad_of(lambda x: x.amax(dim=1, keepdim=True) * Tensor([[2.0], [3.0], [4.0]]), rows)
    np.testing.assert_allclose(g, [[0, 1, 1], [1, 1, 1], [0, 4, 0]], rtol=1e-15)
    np.testing.assert_array_equal(grad_of(lambda x: x.min(), [4.0, 1.0, 1.0]), [0, 0.5, 0.5])


def test_max_gradient_goes_to_the_nan() -> None:
    """A NaN is the max of its slice (numpy's rule, and PyTorch's); the gradient goes to it alone."""
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(grad_of(lambda x: x.max(), [1.0, np.nan, 3.0]), [0, 1, 0])
        g = grad_of(lambda x: x.amax(1), [[1.0, np.nan], [4.0, 2.0]])
    np.testing.assert_array_equal(g, [[0, 1], [1, 0]])


def test_max_tie_convention_agrees_with_central_differences() -> None:
    """Sharing is what symmetric finite differences see at a tie, so gradcheck passes there."""
    assert tg.gradcheck(lambda x: x.max(), [leaf([1.0, 3.0, 3.0, 2.0])])


def test_clip_at_the_bound_passes_the_gradient() -> None:
    g = grad_of(lambda x: x.clip(0.0, 1.0), [-0.5, 0.0, 0.5, 1.0, 1.5])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])


# ---- x ** p must not take log(x) unless p needs a gradient ---------------------------------------
@pytest.mark.parametrize("exponent", [2, 3.0, np.float64(2), Tensor(np.float64(2.0))])
def test_power_of_negative_base_computes_no_log(exponent) -> None:
    x = leaf([-2.0, -0.5, 3.0])
    with strict_floats():
        (x**exponent).sum().backward()
    p = float(exponent.data if isinstance(exponent, Tensor) else exponent)
    np.testing.assert_allclose(x.grad, p * x.data ** (p - 1), rtol=1e-15)


def test_power_exponent_gradient_is_log_of_base_so_nan_for_negative_base() -> None:
    """d(x^p)/dp = x^p log(x): asking for it at x < 0 is where the NaN legitimately comes from."""
    x, p = leaf([-2.0, 3.0]), leaf(2.0)
    with np.errstate(invalid="ignore"):
        (x**p).sum().backward()
    assert np.isnan(p.grad)
    np.testing.assert_allclose(x.grad, [-4.0, 6.0], rtol=1e-15)


def test_power_at_zero_follows_pytorch() -> None:
    """d(x^0)/dx = 0 even at x = 0 (not 0 · 0^-1 = NaN); d(x^p)/dp = x^p log x is 0 at x = 0, p >= 0."""
    with strict_floats():
        np.testing.assert_array_equal(grad_of(lambda x: x**0, [0.0, 2.0]), [0.0, 0.0])
        x, p = leaf([0.0, 1.0, 2.0]), leaf([0.0, 2.0, 3.0])
        (x**p).sum().backward()
        np.testing.assert_allclose(x.grad, [0.0, 2.0, 12.0], rtol=1e-15)
        np.testing.assert_allclose(p.grad, [0.0, 0.0, 8 * math.log(2)], rtol=1e-15)
        np.testing.assert_array_equal(grad_of(lambda e: 0.0**e, [1.0, 2.0]), [0.0, 0.0])
    x = leaf([0.0, 1.0])
    (gx,) = tg.grad((x**1.0).sum(), x, create_graph=True)  # x^0 inside the rule, differentiated again
    with strict_floats():
        (gx * Tensor([1.0, 1.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_power_mixed_second_derivative_at_zero_exponent() -> None:
    """d²(x^p)/dx dp = x^(p-1) (1 + p log x): at p = 0, x = 2 it is 1/2; the convention at x = 0
    must not turn x^(p-1) into a constant elsewhere."""
    x, p = leaf([2.0, 4.0]), leaf([0.0, 0.0])
    (gx,) = tg.grad((x**p).sum(), x, create_graph=True)
    (gp,) = tg.grad(gx.sum(), p)
    np.testing.assert_allclose(gp.data, [0.5, 0.25], rtol=1e-15)


# ---- NaN through the branch a `where` did not take -----------------------------------------------
def test_nan_leaks_through_unused_where_branch_as_documented() -> None:
    """ops.Where: `where(x > 0, sqrt(x), 0)` at x = 0 back-propagates 0 · (1/(2·sqrt 0)) = 0 · inf."""
    x = leaf([0.0, 1.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        tg.where(x > 0, x.sqrt(), 0.0).sum().backward()
    assert np.isnan(x.grad[0])
    np.testing.assert_array_equal(x.grad[1:], [0.5, 0.25])


def test_safe_where_pattern_avoids_the_nan() -> None:
    x = leaf([0.0, 1.0, 4.0])
    with strict_floats():
        safe = tg.where(x > 0, x, 1.0)  # the untaken branch sees a harmless value
        tg.where(x > 0, safe.sqrt(), 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.25])


# ---- numerically stable sigmoid, cross-entropy, log-softmax --------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_overflow(dtype) -> None:
    x = leaf([-1e4, -30.0, 0.0, 30.0, 1e4], dtype)
    with strict_floats():
        s = F.sigmoid(x)
        s.sum().backward()
    expected = [
        1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in x.data.tolist()
    ]
    assert s.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(s.data, np.array(expected, dtype=dtype), rtol=np.finfo(dtype).eps, atol=0)
    assert s.data[0] == 0.0 and s.data[-1] == 1.0 and s.data[2] == 0.5
    np.testing.assert_array_equal(x.grad[[0, 2, 4]], np.array([0.0, 0.25, 0.0], dtype=dtype))


def test_cross_entropy_of_an_empty_batch() -> None:
    """The mean over no samples is NaN (numpy's and PyTorch's answer); its gradient is empty."""
    logits = leaf(np.zeros((0, 3)))
    with np.errstate(invalid="ignore"):
        loss = F.cross_entropy(logits, np.zeros(0, dtype=np.int64))
    assert np.isnan(loss.item())
    loss.backward()
    assert logits.grad.shape == (0, 3)


def test_cross_entropy_on_huge_logits() -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [500.0, 500.0, -700.0]])
    y = np.array([0, 2, 1])
    logits = leaf(z)
    with strict_floats():
        loss = F.cross_entropy(logits, y)
        loss.backward()
    # By hand, row by row with exp(a - max) ≤ 1:  row 0 puts all mass on class 0 (loss 0); row 1
    # has lse = 1000 + log(1 + e⁻¹), loss 1 + log(1 + e⁻¹); row 2 has lse = 500 + log 2, loss log 2.
    expected_loss = (0.0 + 1 + math.log1p(math.exp(-1)) + math.log(2)) / 3
    p = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, 1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))],
            [0.5, 0.5, 0.0],
        ]
    )
    onehot = np.eye(3)[y]
    assert math.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-15)
    np.testing.assert_allclose(logits.grad, (p - onehot) / 3, rtol=1e-15, atol=1e-300)


def test_log_softmax_and_logsumexp_are_stable() -> None:
    x = leaf([[1000.0, 0.0], [-1000.0, -1000.0]])
    with strict_floats():
        out = F.log_softmax(x)
        lse = F.logsumexp(x)
        (out.sum() + lse.sum()).backward()
    np.testing.assert_allclose(out.data, [[0.0, -1000.0], [-math.log(2), -math.log(2)]], rtol=1e-15)
    np.testing.assert_allclose(lse.data, [1000.0, -1000.0 + math.log(2)], rtol=1e-15)
    assert np.isfinite(x.grad).all()


def test_logsumexp_of_infinities() -> None:
    """log Σ exp over [-inf, -inf] is log 0 = -inf, and inf wins over any finite term (as torch)."""
    x = Tensor(np.array([[-np.inf, -np.inf], [np.inf, 1.0], [np.inf, -np.inf]]))
    with np.errstate(divide="ignore"):  # log(0) is -inf, which is the answer
        np.testing.assert_array_equal(F.logsumexp(x, 1).data, [-np.inf, np.inf, np.inf])


def test_binary_cross_entropy_clamps_its_logs_at_minus_100() -> None:
    """PyTorch's documented clamp: a certain wrong answer costs 100, not inf; -log(1e-6) is not clamped."""
    p = Tensor(np.array([0.0, 1.0, 1e-6]))
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0, -math.log(1e-6)], rtol=1e-12)


def test_binary_cross_entropy_with_logits_on_huge_logits() -> None:
    z, y = leaf([1000.0, -1000.0, 1000.0]), Tensor(np.array([1.0, 0.0, 0.0]))
    with strict_floats():
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_array_equal(loss.data, [0.0, 0.0, 1000.0])
    np.testing.assert_array_equal(z.grad, [0.0, 0.0, 1.0])  # sigmoid(z) - y
