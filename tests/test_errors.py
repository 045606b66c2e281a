"""Clear errors: each bad input raises the right exception type at the point of the mistake, and
the message names the op and the shapes (or the offending value)."""

import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu import functional as F


def ones(*shape: int, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(shape), requires_grad=requires_grad)


def raises(exc: type[Exception], *fragments: str):
    """pytest.raises that also checks every fragment appears literally in the message."""
    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


# ---- shapes --------------------------------------------------------------------------------------
def test_matmul_shape_mismatch() -> None:
    with raises(ValueError, "matmul", "(2, 3)", "(4, 5)"):
        ones(2, 3) @ ones(4, 5)
    with raises(ValueError, "matmul", "(3,)", "(2,)"):
        ones(3) @ ones(2)


@pytest.mark.parametrize(
    ("f", "op", "other"),
    [
        (lambda: ones(2, 3) + ones(4), "add", "(4,)"),
        (lambda: ones(2, 3) * ones(4), "mul", "(4,)"),
        (lambda: np.ones(4) * ones(2, 3), "mul", "(4,)"),
        (lambda: ones(2, 3) - ones(3, 2), "sub", "(3, 2)"),
    ],
)
def test_broadcasting_mismatch(f, op: str, other: str) -> None:
    with raises(ValueError, op, "(2, 3)", other):
        f()


def test_reshape_mismatch() -> None:
    with raises(ValueError, "reshape", "(2, 3)", "(4,)"):
        ones(2, 3).reshape(4)


def test_concatenate_and_stack_mismatch() -> None:
    with raises(ValueError, "concatenate", "(2, 3)", "(2, 4)"):
        tg.concatenate([ones(2, 3), ones(2, 4)])
    with raises(ValueError, "stack", "(2, 3)", "(2, 4)"):
        tg.stack([ones(2, 3), ones(2, 4)])


def test_axis_out_of_range() -> None:
    with raises(ValueError, "axis 2", "2 dimensions"):
        ones(2, 3).sum(axis=2)
    with raises(ValueError, "transpose", "axis 5", "2 dimensions"):
        ones(2, 3).transpose(0, 5)
    with raises(ValueError, "transpose", "axis -2", "1 dimensions"):
        ones(3).transpose()  # the default swaps the last two axes; a vector has one
    with raises(ValueError, "unsqueeze", "axis 2", "(3,)"):
        ones(3).unsqueeze(2)
    with raises(ValueError, "squeeze", "axis -3", "2 dimensions"):
        ones(1, 3).squeeze(-3)
    with raises(ValueError, "stack", "axis 3", "(2, 3)"):
        tg.stack([ones(2, 3), ones(2, 3)], axis=3)
    with raises(ValueError, "logsumexp", "axis 4", "2 dimensions"):
        F.logsumexp(ones(2, 3), 4)
    for start, end in [(1, -1), (-5, -1), (0, 5)]:  # torch refuses these; `%` used to wrap them
        with raises(ValueError, "flatten", "out of range"):
            ones(5).flatten(start, end) if start == 1 else ones(2, 3).flatten(start, end)
    with raises(ValueError, "flatten", "out of range"):
        tg.nn.Flatten(3)(ones(2, 3))
    with raises(ValueError, "flatten", "start_dim 1 is after end_dim 0"):
        ones(2, 3).flatten(1, 0)


@pytest.mark.parametrize("axes", [(0, 0, 1), (0, 1), (0, 1, 3), (0, 1, -4)])
def test_permute_needs_an_order_of_every_axis(axes) -> None:
    with raises(ValueError, "permute", str(axes), "(2, 3, 4)"):
        ones(2, 3, 4).permute(axes)


@pytest.mark.parametrize("axis", [1.5, "0", (0, 1.0), True])
def test_axis_that_is_not_an_int(axis) -> None:
    with raises(TypeError, "sum", "axis must be an int", repr(axis)):
        ones(2, 3).sum(axis=axis)


@pytest.mark.parametrize(
    ("f", "op"),
    [
        (lambda: ones(2, 3).permute(0, 1.0), "permute"),
        (lambda: ones(2).unsqueeze(0.5), "unsqueeze"),
        (lambda: tg.stack([ones(2)], axis="0"), "stack"),
        (lambda: tg.concatenate([ones(2)], axis=0.0), "concatenate"),
        (lambda: Tensor(np.float64(1.0)).flatten(5), "flatten"),
    ],
)
def test_every_axis_argument_is_checked_naming_the_op(f, op: str) -> None:
    with pytest.raises((TypeError, ValueError), match=op):
        f()


def test_min_of_an_empty_integer_tensor() -> None:
    with raises(ValueError, "min", "(0,)"):
        Tensor(np.zeros(0, dtype=np.int64)).min()


def test_concatenate_without_an_axis() -> None:
    with raises(TypeError, "concatenate", "axis must be an int"):
        tg.concatenate([ones(2), ones(2)], axis=None)


def test_in_place_with_a_dtype_or_shape_that_does_not_fit() -> None:
    t = Tensor(np.arange(3))
    with raises(TypeError, "add in place", "int64", "(3,)"):
        t += 0.5  # float into an int tensor (PyTorch refuses too)
    x = ones(3)
    with raises(ValueError, "multiply in place", "(3,)", "(2, 3)"):
        x *= ones(2, 3)  # the result would need a new shape
    np.testing.assert_array_equal(x.data, np.ones(3))


@pytest.mark.parametrize(
    ("f", "op"),
    [
        (lambda: ones(1, 3, 1).squeeze((0, 0)), "squeeze"),
        (lambda: ones(2, 3).sum(axis=(0, -2)), "sum"),
        (lambda: ones(2, 3).amax(axis=(1, 1)), "amax"),
    ],
)
def test_axis_named_twice(f, op: str) -> None:
    with raises(ValueError, op, "twice"):
        f()


def test_linear_weight_and_bias_shapes() -> None:
    with raises(ValueError, "linear", "(5, 4)", "(1, 5)"):
        F.linear(ones(3, 4), ones(5, 4), ones(1, 5))
    with raises(ValueError, "linear", "(4,)"):
        F.linear(ones(3, 4), ones(4))
    with raises(ValueError, "linear", "(3, 4)", "(5, 6)"):
        F.linear(ones(3, 4), ones(5, 6), ones(5))


def test_grad_of_an_input_that_does_not_require_grad() -> None:
    x, c = ones(2, requires_grad=True), ones(2)
    with raises(RuntimeError, "grad", "(2,)", "does not require grad"):
        tg.grad((x * c).sum(), [x, c], allow_unused=True)


def test_requires_grad_set_on_an_integer_tensor() -> None:
    x = Tensor(np.array([1, 2, 3]))
    with raises(TypeError, "int64", "cannot require grad"):
        x.requires_grad = True
    assert not x.requires_grad


def test_requires_grad_must_be_a_bool() -> None:
    with raises(TypeError, "requires_grad", "'yes'"):
        ones(2).requires_grad = "yes"


def test_requires_grad_turned_off_on_a_non_leaf() -> None:
    y = ones(2, requires_grad=True) * 2
    with raises(RuntimeError, "only a leaf", "detach"):
        y.requires_grad = False


def test_index_out_of_range_stays_an_index_error() -> None:
    with raises(IndexError, "index", "(2, 3)"):
        ones(2, 3)[5]


# ---- backward ------------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_a_gradient() -> None:
    with raises(RuntimeError, "backward", "(2, 3)", "single element"):
        (ones(2, 3, requires_grad=True) * 2).backward()


def test_backward_with_wrong_gradient_shape() -> None:
    with raises(ValueError, "backward", "(3,)", "(2, 3)"):
        (ones(2, 3, requires_grad=True) * 2).backward(np.ones(3))


def test_backward_on_tensor_without_grad() -> None:
    with raises(RuntimeError, "backward", "does not require grad"):
        ones(2).sum().backward()


class WrongShape(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        """deliberately wrong: a gradient of the wrong shape"""
        return g.sum(axis=0)


class WrongCount(tg.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, g):
        """deliberately wrong: one gradient for two inputs"""
        return g


def test_user_backward_with_wrong_shape_or_count() -> None:
    with raises(RuntimeError, "WrongShape", "(3,)", "(2, 3)"):
        WrongShape.apply(ones(2, 3, requires_grad=True)).sum().backward()
    with raises(RuntimeError, "WrongCount", "1 gradients", "2 inputs"):
        WrongCount.apply(ones(2, requires_grad=True), ones(2)).sum().backward()


# ---- construction --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        "abc",
        b"abc",
        None,
        object(),
        {"a": 1},
        ["a", "b"],
        ["1.5"],
        [1.0, None],
        np.array(["a"]),
        np.array([{}]),
    ],
    ids=repr,
)
def test_non_numeric_data_is_a_type_error(data) -> None:
    with raises(TypeError, "Tensor"):
        Tensor(data)


@pytest.mark.parametrize("data", [[[1, 2], [3]], [1, [2, 3]], [[1.0], [2.0, 3.0]]], ids=repr)
def test_ragged_data_is_a_value_error(data) -> None:
    with raises(ValueError, "Tensor"):
        Tensor(data)


@pytest.mark.parametrize(
    "scalar",
    [np.str_("2"), np.bytes_(b"2"), np.datetime64("2020-01-01"), np.timedelta64(3), np.complex128(1 + 2j)],
)
def test_non_numeric_numpy_scalar_operand_is_refused(scalar) -> None:
    with raises(TypeError, "not numeric", str(np.asarray(scalar).dtype)):
        ones(2) * scalar


def test_item_of_many_elements() -> None:
    with raises(ValueError, "item", "(2, 3)"):
        ones(2, 3).item()


# ---- losses --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [3, 7, -1])
@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_index_outside_range(loss, bad: int) -> None:
    with raises(ValueError, loss.__name__, f"class index {bad}", "[0, 3)", "(2, 3)"):
        loss(ones(2, 3, requires_grad=True), np.array([0, bad]))


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "i8", "u1", "u8", ">i4", ">i8", ">u2", "<i8"])
def test_class_index_bounds_for_every_integer_dtype(dtype) -> None:
    """Both bounds, at their extremes, for targets of any integer width, signedness and byte order."""
    info = np.iinfo(dtype)
    for bad in {info.min, -1, 3, info.max} - {0, 1, 2}:
        if info.min <= bad <= info.max:
            with raises(ValueError, "cross_entropy", f"class index {bad}", "[0, 3)"):
                F.cross_entropy(ones(2, 3), np.array([0, bad], dtype=dtype))
    z = np.array([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0]])
    y = np.array([2, 0], dtype=dtype)
    expected = -np.mean(z[[0, 1], [2, 0]] - np.log(np.exp(z).sum(axis=1)))
    assert np.isclose(F.cross_entropy(Tensor(z), y).item(), expected, rtol=1e-12)


def test_float_targets() -> None:
    with raises(TypeError, "cross_entropy", "integer", "float64"):
        F.cross_entropy(ones(2, 3), np.array([0.0, 1.0]))


@pytest.mark.parametrize("target", [[0, 1, 2], [[0, 1]], 0])
def test_wrong_target_shape(target) -> None:
    with raises(ValueError, "cross_entropy", str(np.shape(target)), "(2, 3)"):
        F.cross_entropy(ones(2, 3), np.array(target))


def test_cross_entropy_needs_matrix_logits() -> None:
    with raises(ValueError, "cross_entropy", "(N, C)", "(3,)"):
        F.cross_entropy(ones(3), np.array([0]))


def test_unknown_reduction() -> None:
    with raises(ValueError, "mse_loss", "'avg'"):
        F.mse_loss(ones(3), np.ones(3), reduction="avg")


@pytest.mark.parametrize("loss", [F.mse_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_loss_shape_mismatch(loss) -> None:
    with raises(ValueError, loss.__name__, "(2, 3)", "(3,)"):
        loss(Tensor(np.full((2, 3), 0.5)), np.ones(3))


@pytest.mark.parametrize("p", [1.5, -0.1])
def test_binary_cross_entropy_input_outside_0_1(p: float) -> None:
    with raises(ValueError, "binary_cross_entropy", "[0, 1]"):
        F.binary_cross_entropy(Tensor(np.array([0.5, p])), np.ones(2))


# ---- detect_anomaly ------------------------------------------------------------------------------
def test_detect_anomaly_names_first_forward_op() -> None:
    x = Tensor(np.array([-1.0, 1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"), raises(FloatingPointError, "Log", "forward"), tg.detect_anomaly():
        x.log().exp()


def test_detect_anomaly_names_the_op_whose_backward_fails() -> None:
    """sqrt'(0) = inf: the report names Sqrt (the user's op), and where it was created."""
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with np.errstate(divide="ignore"), tg.detect_anomaly():
        y = (x.sqrt() * 2).sum()
        with raises(FloatingPointError, "Sqrt", "backward", "test_errors.py"):
            y.backward()


def test_without_detect_anomaly_nothing_raises() -> None:
    x = Tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = x.log()
        x.sqrt().sum().backward()
    assert np.isnan(y.data[0]) and np.isinf(x.grad[1])
