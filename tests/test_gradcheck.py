"""gradcheck and numerical_grad: they pass correct ops, catch a wrong backward rule with a
report that is right element by element, and user-defined Functions go through them too."""

import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu import functional as F

REPORT = re.compile(
    r"input (\d+) \(shape \(([\d, ]*)\)\): worst element \(([\d, ]*)\): "
    r"analytic ([-+.\deE]+), numerical ([-+.\deE]+), relative error ([-+.\deE]+)"
)


def leaf(values) -> Tensor:
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


class BrokenSigmoid(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(ctx, g):
        """deliberately wrong: d sigmoid(x)/dx = s(1-s), this returns s"""
        return g * ctx.output


class Cube(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x**3

    @staticmethod
    def backward(ctx, g):
        """d x³/dx = 3x²"""
        x = ctx.inputs[0]
        return g * 3 * x * x


class ScaledProduct(tg.Function):
    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.scale = scale
        return scale * x * y

    @staticmethod
    def backward(ctx, g):
        """d(s x y)/dx = s y, d(s x y)/dy = s x"""
        x, y = ctx.inputs
        nx, ny = ctx.needs_input_grad
        return (g * y * ctx.scale if nx else None), (g * x * ctx.scale if ny else None)


# ---- correct ops pass ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w: (x @ w).tanh(),
        lambda x, w: F.softmax(x @ w, axis=0),
        lambda x, w: F.cross_entropy(x @ w, np.array([1, 0, 2])),
        lambda x, w: (x.sigmoid() * 3 - 1).abs().sum(axis=1) / w.exp().sum(),
    ],
)
def test_correct_ops_pass(fn) -> None:
    rng = np.random.default_rng(0)
    assert tg.gradcheck(fn, [leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal((4, 3)))]) is True


def test_gradcheck_leaves_the_inputs_alone() -> None:
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)  # float32: checked on a float64 copy
    before = x.data.copy()
    assert tg.gradcheck(lambda x: x.tanh(), [x])
    assert x.grad is None and x.dtype == np.float32
    np.testing.assert_array_equal(x.data, before)


# ---- a wrong backward rule is caught -------------------------------------------------------------
def test_broken_op_is_caught_with_a_correct_report() -> None:
    """For L = v Σ s(x) (v the random upstream scalar) the broken rule gives v s, the truth is
    v s (1 - s): the error v s² is worst at the largest x, its relative error is s there, and
    analytic / numerical = 1 / (1 - s) whatever v is."""
    x = leaf([[0.3, -1.2, 2.1], [0.9, 1.7, -0.4]])
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x: BrokenSigmoid.apply(x).sum(), [x])
    reports = REPORT.findall(str(info.value))
    assert len(reports) == 1
    i, shape, index, analytic, numeric, rel = reports[0]
    assert (int(i), shape, index) == (0, "2, 3", "0, 2")  # argmax of x is x[0, 2] = 2.1
    s = 1 / (1 + np.exp(-2.1))
    np.testing.assert_allclose(float(analytic) / float(numeric), 1 / (1 - s), rtol=1e-6)
    np.testing.assert_allclose(float(rel), s, rtol=5e-3)  # printed with 3 significant digits


def test_report_names_only_the_wrong_input() -> None:
    y, x = leaf([1.0, 2.0]), leaf([0.5, -0.5, 1.5])
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda y, x: (y * y).sum() + BrokenSigmoid.apply(x).sum(), [y, x])
    assert [r[:3] for r in REPORT.findall(str(info.value))] == [("1", "3,", "2,")]


def test_raise_exception_false_returns_false() -> None:
    x = leaf([0.5, -0.5])
    assert tg.gradcheck(lambda x: BrokenSigmoid.apply(x), [x], raise_exception=False) is False


def test_inputs_without_grad_are_not_checked() -> None:
    const, y = Tensor(np.array([0.5, -0.5])), leaf([1.0, 2.0])
    assert tg.gradcheck(lambda c, y: BrokenSigmoid.apply(c) * y, [const, y])


# ---- numerical_grad ------------------------------------------------------------------------------
def test_central_and_forward_differences_against_the_derivative() -> None:
    """For f = x³: central gives 3x² + h² and forward gives 3x² + 3xh + h², exactly, up to round-off."""
    x, h = leaf([-1.5, 0.5, 2.0]), 1e-3
    (central,) = tg.numerical_grad(lambda x: x**3, [x], eps=h, method="central")
    (forward,) = tg.numerical_grad(lambda x: x**3, [x], eps=h, method="forward")
    assert central.dtype == np.float64
    np.testing.assert_allclose(central, 3 * x.data**2 + h**2, rtol=0, atol=1e-10)
    np.testing.assert_allclose(forward, 3 * x.data**2 + 3 * x.data * h + h**2, rtol=0, atol=1e-10)


def test_numerical_grad_with_upstream_weights_and_constants() -> None:
    x, c, v = leaf([0.2, -0.7]), Tensor(np.array([3.0, 4.0])), np.array([2.0, -1.0])
    gx, gc = tg.numerical_grad(lambda x, c: x.exp() * c, [x, c], v=v)
    assert gc is None
    np.testing.assert_allclose(gx, v * c.data * np.exp(x.data), rtol=1e-8)


def test_numerical_grad_unknown_method() -> None:
    with pytest.raises(ValueError, match=r"numerical_grad.*'backward'"):
        tg.numerical_grad(lambda x: x, [leaf([1.0])], method="backward")


# ---- user-defined Functions ----------------------------------------------------------------------
def test_user_function_passes_gradcheck_and_has_second_derivatives() -> None:
    x = leaf([-1.0, 0.5, 2.0])
    assert tg.gradcheck(lambda x: Cube.apply(x), [x])
    (g,) = tg.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(g.data, 3 * x.data**2, rtol=1e-15)
    np.testing.assert_allclose(h.data, 6 * x.data, rtol=1e-15)


def test_user_function_with_parameters_and_broadcasting() -> None:
    rng = np.random.default_rng(0)
    x, y = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal(3))
    assert tg.gradcheck(lambda x, y: ScaledProduct.apply(x, y, scale=2.5), [x, y])
    out = ScaledProduct.apply(x, np.ones(3), scale=2.0)
    assert out.grad_fn.needs_input_grad == (True, False)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


# ---- what is checked, and what is left alone -----------------------------------------------------
def test_parameters_reached_through_a_closure_are_checked() -> None:
    """A model's float64 parameters are perturbed in place, so a closure over them sees the change
    (a wrong rule used only through the closure was reported as passing on copies)."""
    w = leaf([0.3, -1.2, 2.1])
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradcheck(lambda _: BrokenSigmoid.apply(w).sum(), [w])
    np.testing.assert_array_equal(w.data, [0.3, -1.2, 2.1])  # restored


def test_other_tensors_grads_are_left_alone() -> None:
    W = leaf(np.ones((3, 2)))
    assert tg.gradcheck(lambda x: (x @ W).sum(), [leaf([1.0, 2.0, 3.0])])
    assert W.grad is None  # the analytic side goes through tg.grad, not backward()


def test_nothing_to_check_is_an_error() -> None:
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        tg.gradcheck(lambda x: x * 2, [Tensor(np.ones(3))])


class OneWrongEntry(tg.Function):
    """y = broadcast of a scalar x to 1000 outputs; the backward is 2% wrong for output 0 only."""

    @staticmethod
    def forward(ctx, x):
        return np.broadcast_to(x, (1000,)).copy()

    @staticmethod
    def backward(ctx, g):
        """dy_k/dx = 1 for every k (this rule adds 0.02 for k = 0)"""
        return g.sum() + 0.02 * g[0]


def test_an_error_in_one_jacobian_entry_is_caught_and_located() -> None:
    """Each entry is compared on its own (PyTorch's default). A random projection v·J, one backward
    pass, hides 0.02·v₀ among a thousand terms: fast_mode misses it, as PyTorch's does."""
    x = leaf(0.5)
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(OneWrongEntry.apply, [x])
    assert "worst element (): analytic 1.02, numerical 1" in str(info.value)
    assert "for output element 0 of the flattened outputs" in str(info.value)
    assert tg.gradcheck(OneWrongEntry.apply, [x], fast_mode=True)


def test_the_report_names_the_entry_beyond_its_tolerance_not_the_largest_difference() -> None:
    """Gradients 1000 and 0.001, both 0.05% wrong: the large one is inside rtol = 1e-3, the small
    one is not (5e-7 > atol, so atol is set below it)."""

    class Scaled(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return np.array(1000 * x[0] + 0.001 * x[1])

        @staticmethod
        def backward(ctx, g):
            """(1000, 0.001), each times 1.0005 here; the second times 1.5"""
            return g * Tensor(np.array([1000 * 1.0005, 0.001 * 1.5]))

    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(Scaled.apply, [leaf([1.0, 2.0])], atol=1e-9)
    (report,) = REPORT.findall(str(info.value))
    assert report[2] == "1,"  # the second element: its 50% error, not the first's larger 0.5


def test_tuple_outputs_and_array_inputs() -> None:
    x, c = leaf([0.5, -1.0]), np.array([2.0, 3.0])  # an ndarray input is a constant
    assert tg.gradcheck(lambda x, c: (x * c, x.exp()), [x, c])
    with pytest.raises(tg.GradcheckError, match="output element 2"):
        tg.gradcheck(lambda x, c: (x * c, BrokenSigmoid.apply(x)), [x, c])


def test_numerical_grad_restores_the_input_when_fn_raises() -> None:
    x = leaf([1.0, 2.0, 3.0])
    calls = []

    def fn(x):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return x.sum()

    with pytest.raises(RuntimeError, match="boom"):
        tg.numerical_grad(fn, [x])
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


def test_a_float32_tensor_reached_through_a_closure_is_refused_not_silently_passed():
    """gradcheck checks float32 inputs on float64 copies; a function that ignores its argument and
    uses the original through a closure would compare two zero Jacobians and pass any rule."""
    w = Tensor(np.array([1.0, -2.0, 3.0], dtype=np.float32), requires_grad=True)

    class WrongSquare(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * 5.0  # wrong: the derivative is 2x

    with pytest.raises(ValueError, match=r"does not depend on input 0.*float32.*closure"):
        tg.gradcheck(lambda _: WrongSquare.apply(w).sum(), [w])
    with pytest.raises(tg.GradcheckError):  # passed as the argument, the wrong rule is caught
        tg.gradcheck(lambda x: WrongSquare.apply(x).sum(), [w])
