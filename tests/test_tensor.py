"""Tensor construction, properties and conversions, comparisons, creation functions and seeding."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor


# ---- construction -----------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [[[1, 2], [3, 4]], [1.5, 2.5], 3, 2.5, True, [[True, False]]], ids=repr)
def test_python_data_becomes_float32(data) -> None:
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array(data, dtype=np.float64))


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_]
)
def test_ndarray_keeps_its_dtype_and_shares_memory(dtype) -> None:
    a = np.arange(6).reshape(2, 3).astype(dtype)
    t = Tensor(a)
    assert t.dtype == dtype and t.data is a
    a[0, 0] = 1
    assert t.data[0, 0] == 1


def test_numpy_scalars_keep_their_dtype() -> None:
    assert Tensor(np.float64(2.0)).dtype == np.float64
    assert Tensor(np.int32(3)).dtype == np.int32


def test_dtype_override() -> None:
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.arange(3.0), dtype=np.float32).dtype == np.float32
    assert Tensor(np.arange(3), dtype=np.float64).data.tolist() == [0.0, 1.0, 2.0]
    assert tg.tensor([1, 2], dtype=np.float64, requires_grad=True).requires_grad


def test_tensor_from_tensor_shares_data() -> None:
    a = Tensor(np.ones(3))
    assert Tensor(a).data is a.data


# ---- properties and conversions -------------------------------------------------------------------------
def test_properties() -> None:
    t = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert (t.shape, t.dtype, t.ndim, t.numel()) == ((2, 3, 4), np.float64, 3, 24)
    assert t.requires_grad and t.grad is None and t.is_leaf and t.grad_fn is None
    y = t * 2
    assert not y.is_leaf and type(y.grad_fn).__name__ == "Mul"
    assert y.grad_fn.inputs[0] is t


def test_numpy_item_and_python_conversions() -> None:
    a = np.array([[1.5, 2.0]])
    t = Tensor(a)
    assert t.numpy() is a
    assert Tensor(np.array([[2.5]])).item() == 2.5 and isinstance(Tensor(np.array(2.5)).item(), float)
    assert float(Tensor([3.0])) == 3.0 and bool(Tensor([1.0])) and not bool(Tensor([0.0]))
    assert t.tolist() == [[1.5, 2.0]]


def test_array_protocol() -> None:
    t = Tensor(np.arange(4.0))
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copy = np.array(t, copy=True)
    assert not np.shares_memory(copy, t.data)
    np.testing.assert_array_equal(copy, t.data)
    np.testing.assert_array_equal(np.concatenate([t, t]), np.tile(t.data, 2))


def test_op_outputs_and_grads_hold_ndarrays() -> None:
    """Even for full reductions, integer indexing and 0-d operands, where numpy returns a scalar
    (np.float64, immutable): `.data` and `.grad` are always `np.ndarray`s."""
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    s = Tensor(np.array(2.0), requires_grad=True)
    outs = [x.sum(), x.max(), x.mean(), x[1, 2], s * 2, s.exp(), x * 2]
    for out in outs:
        assert isinstance(out.data, np.ndarray) and isinstance(out.numpy(), np.ndarray)
    (s * 3).backward()
    assert isinstance(s.grad, np.ndarray) and s.grad.shape == ()


def test_repr_is_readable() -> None:
    x = Tensor(np.array([1.0, 2.5]), requires_grad=True)
    assert repr(x) == "Tensor([1. , 2.5], dtype=float64, requires_grad=True)"
    r = repr(x * 2)
    assert "2., 5." in r and "dtype=float64" in r and "grad_fn=Mul" in r
    assert repr(Tensor([3.0])) == "Tensor([3.], dtype=float32)"
    assert "name='w'" in repr(Tensor([1.0], name="w"))


def test_len_and_iteration() -> None:
    t = Tensor(np.arange(6.0).reshape(3, 2))
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and rows[2].data.tolist() == [4.0, 5.0]
    with pytest.raises(TypeError):
        len(Tensor(1.0))


# ---- comparisons ------------------------------------------------------------------------------------
def test_comparisons_return_constant_bool_tensors() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    other = Tensor(np.array([3.0, 2.0, 1.0]))
    cases = [
        (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]),
        (x > other, [False, False, True]),
        (x >= other, [False, True, True]),
        (x == other, [False, True, False]),
        (x != 2.0, [True, False, True]),
    ]
    for out, expected in cases:
        assert isinstance(out, Tensor) and out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        assert out.data.tolist() == expected


def test_tensors_hash_by_identity() -> None:
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


# ---- creation functions and seeding --------------------------------------------------------------------
@pytest.mark.parametrize(("make", "value"), [(tg.zeros, 0.0), (tg.ones, 1.0)])
def test_zeros_and_ones(make, value: float) -> None:
    for t in (make(2, 3), make((2, 3))):
        assert t.shape == (2, 3) and t.dtype == np.float32 and (t.data == value).all()
    t = make(4, dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad


@pytest.mark.parametrize("make", [tg.randn, tg.rand])
def test_random_tensors_are_reproducible_with_manual_seed(make) -> None:
    tg.manual_seed(42)
    a = make(3, 4)
    tg.manual_seed(42)
    b = make((3, 4))
    tg.manual_seed(43)
    c = make(3, 4)
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    assert make(2, dtype=np.float64, requires_grad=True).requires_grad


def test_random_distributions() -> None:
    tg.manual_seed(0)
    n = tg.randn(20_000, dtype=np.float64).data
    u = tg.rand(20_000, dtype=np.float64).data
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02


# ---- small helpers ------------------------------------------------------------------------------------
def test_detach_and_astype_are_constants() -> None:
    x = Tensor(np.arange(3.0), requires_grad=True)
    d, f = x.detach(), (x * 1).astype(np.float32)
    assert d.data is x.data and not d.requires_grad
    assert f.dtype == np.float32 and not f.requires_grad and f.grad_fn is None


def test_reshape_and_permute_take_varargs_or_a_tuple() -> None:
    x = Tensor(np.arange(6.0))
    assert x.reshape(2, 3).shape == x.reshape((2, 3)).shape == x.view([2, 3]).shape == (2, 3)
    y = x.reshape(1, 2, 3)
    assert y.permute(2, 0, 1).shape == y.permute((2, 0, 1)).shape == (3, 1, 2)
    assert y.transpose(0, 2).shape == (3, 2, 1) and y.transpose().shape == (1, 3, 2)


def test_abs_builtin_is_the_abs_op() -> None:
    x = Tensor(np.array([-2.0, 0.5]), requires_grad=True)
    abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 1.0])


def test_squeeze_and_unsqueeze_follow_pytorch() -> None:
    x = Tensor(np.zeros((1, 3, 1)))
    assert x.squeeze().shape == (3,) and x.squeeze(0).shape == (3, 1) and x.squeeze(-1).shape == (1, 3)
    assert x.squeeze(1).shape == (1, 3, 1)  # an axis whose length is not 1 stays (numpy would raise)
    assert x.squeeze((0, 2)).shape == (3,)
    assert x.unsqueeze(-1).shape == (1, 3, 1, 1) and x.unsqueeze(0).shape == (1, 1, 3, 1)


@pytest.mark.parametrize("axis", [0, -1, (0,), ()])
def test_zero_dim_tensors_accept_axis_0_and_minus_1(axis) -> None:
    """As in PyTorch: a 0-d tensor reduces over "its one axis" to itself."""
    x = Tensor(np.float64(3.0), requires_grad=True)
    y = x.sum(axis) + x.amax(axis) + x.mean(axis) + x.unsqueeze(0).squeeze(0)
    assert y.shape == () and y.item() == 12.0
    y.backward()
    assert x.grad == 4.0


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        ([[0, 7, 200], [3, 0, 9]], np.uint8, [0, 0]),  # -x wraps around for unsigned integers
        ([[-128, 5, 3], [4, 127, -1]], np.int8, [-128, -1]),  # -(-128) is -128 in int8
        ([[True, False, True], [True, True, True]], np.bool_, [False, True]),
    ],
)
def test_min_of_integer_and_bool_tensors(values, dtype, expected) -> None:
    x = Tensor(np.array(values, dtype=dtype))
    np.testing.assert_array_equal(x.amin(axis=1).data, expected)
    np.testing.assert_array_equal(x.min(1).values.data, expected)
    assert x.min().item() == min(expected) and x.amin(axis=1).dtype == dtype


def test_flatten_merges_start_to_end_like_torch() -> None:
    x = Tensor(np.zeros((2, 3, 4, 5)))
    assert x.flatten().shape == (120,) and x.flatten(1).shape == (2, 60)
    assert x.flatten(1, 2).shape == (2, 12, 5) and x.flatten(-3, -2).shape == (2, 12, 5)
    assert x.flatten(2, 2).shape == (2, 3, 4, 5) and Tensor(np.float64(1.0)).flatten().shape == (1,)
    assert Tensor(np.zeros((0, 3))).flatten(0).shape == (0,)  # a size-0 axis is merged, not inferred
    assert tg.nn.Flatten()(x).shape == (2, 60) and tg.nn.Flatten(0, 1)(x).shape == (6, 4, 5)


def test_numpy_functions_refuse_a_tensor_that_requires_grad() -> None:
    """np.exp(x) would return a constant array: x would silently get no gradient through it."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match="requires grad"):
        np.exp(x)
    with pytest.raises(TypeError, match="requires grad"):
        np.maximum(x, 0)
    np.testing.assert_array_equal(np.exp(x.detach()), np.exp([1.0, 2.0]))  # explicit values work
    assert np.asarray(x.numpy()) is x.data


def test_negative_seeds_are_read_as_pytorch_reads_them() -> None:
    """torch 2.13 (run here): manual_seed(-1) gives the stream of seed 2**64 - 1 (its initial_seed()
    is 18446744073709551615), the 64-bit two's complement; numpy's generators take only seeds >= 0."""
    expected = np.random.default_rng(18446744073709551615).random(3)
    np.testing.assert_array_equal(tg.manual_seed(-1).random(3), expected)
    loader = tg.data.DataLoader(np.arange(10), batch_size=10, shuffle=True, seed=-1)
    np.testing.assert_array_equal(
        next(iter(loader)), np.random.default_rng(18446744073709551615).permutation(10)
    )
    with pytest.raises(ValueError, match="manual_seed: seed 18446744073709551616"):
        tg.manual_seed(2**64)
    with pytest.raises(TypeError, match="DataLoader: seed must be an int"):
        tg.data.DataLoader(np.arange(3), seed=1.5)
