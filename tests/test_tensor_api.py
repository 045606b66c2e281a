"""The Tensor API with PyTorch's meaning (issue 12): dim/axis aliases, max/min returning (values,
indices), size()/numel()/dim(), PyTorch's type promotion, integer and bool inputs of float ops
(issue 14, item 2), empty softmax axes (issue 14, item 13), casts, in-place fills and creation.

Expected values are numpy written out here, or PyTorch's documented rules written as tables
(checked against torch 2.13.0 when this was written); the gradients of the new ops are checked
against finite differences in tests/test_ops_properties.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu import functional as F

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 7 - 2.5  # distinct along dim 1 and 2


def lse(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


def softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


# ---- 1. dim and axis, keepdim and keepdims --------------------------------------------------------
# (name, call taking the alias keywords, numpy reference taking axis/keepdims, takes keepdim)
REDUCTIONS = [
    ("sum", Tensor.sum, np.sum),
    ("mean", Tensor.mean, np.mean),
    ("amax", Tensor.amax, np.max),
    ("amin", Tensor.amin, np.min),
    ("argmax", Tensor.argmax, np.argmax),
    ("argmin", Tensor.argmin, np.argmin),
    ("var", Tensor.var, lambda x, axis, keepdims: np.var(x, axis=axis, ddof=1, keepdims=keepdims)),
    ("std", Tensor.std, lambda x, axis, keepdims: np.std(x, axis=axis, ddof=1, keepdims=keepdims)),
    ("logsumexp", Tensor.logsumexp, lse),
    ("logsumexp", F.logsumexp, lse),
    (
        "norm",
        lambda x, **kw: x.norm(2, **kw),
        lambda x, axis, keepdims: np.sqrt((x * x).sum(axis, keepdims=keepdims)),
    ),
    ("max", lambda x, **kw: x.max(**kw).values, np.max),
    ("min", lambda x, **kw: x.min(**kw).values, np.min),
]


@pytest.mark.parametrize(("op", "call", "ref"), REDUCTIONS)
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_take_dim_or_axis_and_keepdim_or_keepdims(op, call, ref, keep) -> None:
    expected = ref(X, axis=1, keepdims=keep)
    for kw in ({"dim": 1, "keepdim": keep}, {"axis": 1, "keepdims": keep}, {"dim": 1, "keepdims": keep}):
        out = call(Tensor(X), **kw)
        assert out.shape == expected.shape, kw
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    with pytest.raises(TypeError, match=f"{op}: got both dim"):
        call(Tensor(X), dim=1, axis=1)
    with pytest.raises(TypeError, match=f"{op}: got both keepdim"):
        call(Tensor(X), dim=1, keepdim=True, keepdims=True)


# (name, call, numpy reference): ops over one dim, with no keepdim
ONE_DIM = [
    ("softmax", Tensor.softmax, softmax_ref),
    ("softmax", F.softmax, softmax_ref),
    ("log_softmax", Tensor.log_softmax, lambda x, axis: np.log(softmax_ref(x, axis))),
    ("log_softmax", F.log_softmax, lambda x, axis: np.log(softmax_ref(x, axis))),
    ("cumsum", Tensor.cumsum, np.cumsum),
    ("unsqueeze", Tensor.unsqueeze, np.expand_dims),
    ("squeeze", lambda x, **kw: x[:, :1].squeeze(**kw), lambda x, axis: np.squeeze(x[:, :1], axis)),
    ("cat", lambda x, **kw: tg.cat([x, x * 2], **kw), lambda x, axis: np.concatenate([x, x * 2], axis)),
    (
        "concatenate",
        lambda x, **kw: tg.concatenate([x, -x], **kw),
        lambda x, axis: np.concatenate([x, -x], axis),
    ),
    ("stack", lambda x, **kw: tg.stack([x, x * 2], **kw), lambda x, axis: np.stack([x, x * 2], axis)),
]


@pytest.mark.parametrize(("op", "call", "ref"), ONE_DIM)
def test_ops_over_one_dim_take_dim_or_axis(op, call, ref) -> None:
    expected = ref(X, axis=1)
    for kw in ({"dim": 1}, {"axis": 1}):
        np.testing.assert_allclose(call(Tensor(X), **kw).data, expected, rtol=1e-12)
    with pytest.raises(TypeError, match=f"{op}: got both dim"):
        call(Tensor(X), dim=1, axis=2)


def test_cat_refuses_numpys_flattening_axis_none() -> None:
    with pytest.raises(TypeError, match="cat: axis must be an int"):
        tg.cat([Tensor(X), Tensor(X)], axis=None)


def test_positional_dim_and_keepdim_as_pytorch() -> None:
    x = Tensor(X)
    assert x.sum(1, True).shape == (2, 1, 4) and x.mean((0, 2)).shape == (3,)
    assert x.var(1, False, True).shape == (2, 1, 4)  # (dim, unbiased, keepdim)
    np.testing.assert_allclose(x.var(1, False).data, X.var(axis=1), rtol=1e-12)


# ---- 2. max and min: (values, indices) ---------------------------------------------------------
def test_max_over_a_dim_unpacks_as_values_and_indices() -> None:
    out = Tensor(np.array([[0.1, 0.7, 0.2], [0.9, 0.0, 0.9]]))  # a batch of 2: no silent unpacking of rows
    _, pred = out.max(1)
    assert pred.dtype == np.int64 and pred.tolist() == [1, 0]  # the first of tied maxima
    values, indices = out.min(dim=1, keepdim=True)
    assert values.tolist() == [[0.1], [0.0]] and indices.tolist() == [[0], [1]]
    result = out.max(0)
    assert isinstance(result, tuple) and result.values.tolist() == [0.9, 0.7, 0.9]
    assert result.indices.tolist() == [1, 0, 1]


def test_max_without_dim_is_the_maximum_and_with_a_tensor_the_elementwise_maximum() -> None:
    x = Tensor(np.array([[1.0, 5.0], [3.0, 2.0]]))
    assert x.max().item() == 5.0 and x.min().item() == 1.0 and x.max().shape == ()
    np.testing.assert_array_equal(x.max(Tensor(np.array([2.0, 2.0]))).data, [[2, 5], [3, 2]])
    np.testing.assert_array_equal(x.min(Tensor(np.array([2.0, 2.0]))).data, [[1, 2], [2, 2]])
    assert x.max(keepdims=True).tolist() == [[5.0]]  # numpy's spelling keeps every dim, as 1
    v, i = Tensor(np.float64(3.0)).max(0)  # a 0-d tensor has "one dim", as in PyTorch
    assert (v.shape, i.shape, v.item(), i.item()) == ((), (), 3.0, 0)


def test_max_over_a_dim_sends_the_gradient_to_the_first_maximum_amax_shares_it() -> None:
    rows = np.array([[1.0, 5.0, 5.0], [7.0, 7.0, 7.0]])
    x = Tensor(rows, requires_grad=True)
    x.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])  # as PyTorch's max(dim)
    y = Tensor(rows, requires_grad=True)
    y.amax(1).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])  # as torch.amax
    z = Tensor(rows, requires_grad=True)
    z.min(dim=1).values.sum().backward()
    np.testing.assert_array_equal(z.grad, [[1, 0, 0], [1, 0, 0]])


def test_amax_and_amin_over_several_dims() -> None:
    np.testing.assert_array_equal(Tensor(X).amax((0, 2)).data, X.max(axis=(0, 2)))
    np.testing.assert_array_equal(
        Tensor(X).amin((0, -1), keepdim=True).data, X.min(axis=(0, 2), keepdims=True)
    )
    with pytest.raises(TypeError, match="max: dim must be one int"):
        Tensor(X).max((0, 1))


def test_argmax_and_argmin_as_pytorch() -> None:
    x = Tensor(np.array([[1.0, 3.0], [3.0, 2.0]]))
    assert x.argmax().dtype == np.int64 and x.argmax().item() == 1  # the flat index of the first maximum
    assert x.argmax(keepdim=True).shape == (1, 1)  # no dim: every dim kept, as 1
    assert x.argmax(dim=1).tolist() == [1, 0] and x.argmin(1, keepdim=True).tolist() == [[0], [1]]
    with pytest.raises(ValueError, match="argmax"):
        Tensor(np.zeros((0, 2))).argmax()


def test_max_of_an_empty_dim_names_the_op() -> None:
    with pytest.raises(ValueError, match=r"max: dim 1 of input of shape \(2, 0\)"):
        Tensor(np.zeros((2, 0))).max(1)


# ---- 3. size, numel, dim ---------------------------------------------------------------------------
def test_size_numel_and_dim() -> None:
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple) and x.size() == x.shape
    assert x.size(0) == 2 and x.size(-1) == 4 and x.numel() == 24 and x.dim() == 3
    assert x.size().numel() == 24 and repr(x.size()) == "Size([2, 3, 4])"
    assert Tensor(np.float64(1.0)).size() == () and Tensor(np.float64(1.0)).numel() == 1
    with pytest.raises(IndexError, match="size"):
        Tensor(np.float64(1.0)).size(0)
    with pytest.raises(ValueError, match="size: dim 3 is out of range"):
        x.size(3)


# ---- 4. type promotion ----------------------------------------------------------------------------
def t(dtype, values=(1, 2, 3)) -> Tensor:
    return Tensor(np.array(values, dtype=dtype))


# PyTorch's rule (torch.result_type), written out: the higher kind (bool < int < float) wins whole,
# within a kind the wider type; Python numbers and 0-d tensors count only when their kind is higher,
# and then Python numbers take the kind's default dtype (int64, float32).
PROMOTION = [
    (t(np.float32), t(np.int64), np.float32),
    (t(np.float32), t(np.bool_, [True, False, True]), np.float32),
    (t(np.float64), t(np.float32), np.float64),
    (t(np.float16), t(np.int64), np.float16),
    (t(np.uint8), t(np.int8), np.int16),
    (t(np.int32), t(np.int64), np.int64),
    (t(np.int64), 1, np.int64),
    (t(np.uint8), 1, np.uint8),
    (t(np.int64), 1.5, np.float32),
    (t(np.uint8), 1.5, np.float32),
    (t(np.bool_, [True, False, True]), 2, np.int64),
    (t(np.bool_, [True, False, True]), 2.5, np.float32),
    (t(np.bool_, [True, False, True]), True, np.bool_),
    (t(np.float32), np.float64(2.0), np.float32),
    (t(np.float16), 2.0, np.float16),
    (t(np.float32), Tensor(np.float64(2.0)), np.float32),  # a 0-d tensor of the same kind counts less
    (t(np.int64), Tensor(np.float64(2.0)), np.float64),  # ... unless its kind is higher
    (t(np.float32), np.arange(3), np.float32),  # an array meets the tensor as a tensor
]


@pytest.mark.parametrize(("a", "b", "dtype"), PROMOTION)
def test_type_promotion_as_pytorch(a, b, dtype) -> None:
    bv = b.data if isinstance(b, Tensor) else np.asarray(b)
    for out, ref in ((a + b, a.data + bv), (b * a, bv * a.data), (a.maximum(b), np.maximum(a.data, bv))):
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.data, ref.astype(dtype))


def test_an_integer_array_meeting_a_float32_tensor_in_an_op_that_does_not_promote() -> None:
    out = Tensor(np.ones((2, 3), np.float32)) @ np.arange(3)
    assert out.dtype == np.float32 and out.tolist() == [3.0, 3.0]


def test_true_division_of_integers_gives_float32() -> None:
    out = t(np.int64, (1, 2, 3)) / t(np.int64, (2, 2, 2))
    assert out.dtype == np.float32 and out.tolist() == [0.5, 1.0, 1.5]
    assert (t(np.uint8) / 2).dtype == np.float32 and (3 / t(np.int8)).dtype == np.float32


def test_a_float32_gradient_stays_float32_next_to_an_int64_tensor() -> None:
    w = Tensor(np.array([0.5, 2.0], dtype=np.float32), requires_grad=True)
    y = w * t(np.int64, (3, 4))
    assert y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 4.0]


def test_tensor_infers_the_dtype_as_torch_tensor_and_Tensor_makes_float32() -> None:
    assert tg.tensor([0, 1, 2]).dtype == np.int64 and tg.tensor([0.5]).dtype == np.float32
    assert tg.tensor([True]).dtype == np.bool_ and tg.tensor([1, 2.5]).dtype == np.float32
    assert tg.tensor(np.arange(3, dtype=np.int16)).dtype == np.int16
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == np.float64
    assert Tensor([0, 1, 2]).dtype == np.float32 and Tensor([True]).dtype == np.float32
    a = np.zeros(2)
    tg.tensor(a).data[0] = 1  # tg.tensor copies, as torch.tensor
    assert a[0] == 0


def test_an_integer_that_does_not_fit_is_refused_not_wrapped() -> None:
    with pytest.raises(OverflowError, match="add: 300 does not fit in the uint8"):
        _ = t(np.uint8) + 300  # PyTorch gives 45: wrapped around
    with pytest.raises(OverflowError, match="sub: -200 does not fit in the int8"):
        _ = t(np.int8) - (-200)


# ---- 5. integer and bool tensors in float ops ----------------------------------------------------
INT_VALUES = {
    np.uint8: [[2, 4, 8]],
    np.int8: [[-3, 0, 5]],
    np.int64: [[1, 7, 30]],
    np.bool_: [[True, False, True]],
}
FLOAT_OPS = {  # float-valued: integer and bool inputs compute in float32, as in PyTorch
    "exp": (Tensor.exp, np.exp),
    "log": (Tensor.log, np.log),
    "sqrt": (Tensor.sqrt, np.sqrt),
    "sigmoid": (Tensor.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (Tensor.tanh, np.tanh),
    "sin": (Tensor.sin, np.sin),
    "cos": (Tensor.cos, np.cos),
    "tan": (Tensor.tan, np.tan),
    "log2": (Tensor.log2, np.log2),
    "log10": (Tensor.log10, np.log10),
    "log1p": (Tensor.log1p, np.log1p),
    "exp2": (Tensor.exp2, np.exp2),
    "expm1": (Tensor.expm1, np.expm1),
    "rsqrt": (Tensor.rsqrt, lambda x: 1 / np.sqrt(x)),
    "reciprocal": (Tensor.reciprocal, lambda x: 1 / x),
    "softmax": (lambda x: x.softmax(1), lambda x: softmax_ref(x, 1)),
    "log_softmax": (lambda x: F.log_softmax(x, 1), lambda x: np.log(softmax_ref(x, 1))),
    "logsumexp": (lambda x: x.logsumexp(1), lambda x: lse(x, 1)),
}


@pytest.mark.parametrize("dtype", list(INT_VALUES))
@pytest.mark.parametrize("name", list(FLOAT_OPS))
def test_float_ops_of_integer_and_bool_tensors_compute_in_float32(name, dtype) -> None:
    fn, ref = FLOAT_OPS[name]
    values = np.array(INT_VALUES[dtype], dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0), 1/0 and sqrt(-3) are in the table
        out = fn(Tensor(values))
        expected = ref(values.astype(np.float64))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=2e-6, atol=1e-7)


def test_sigmoid_and_softmax_of_uint8_pixels() -> None:
    """issue 14: these were [[0, 0, 0]] and [[nan, nan, 0]]."""
    x = Tensor(np.array([[2, 4, 8]], np.uint8))
    np.testing.assert_allclose(x.sigmoid().data, 1 / (1 + np.exp(-np.array([[2.0, 4.0, 8.0]]))), rtol=1e-6)
    e = np.exp([2.0, 4.0, 8.0])
    np.testing.assert_allclose(x.softmax().data, [e / e.sum()], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64, np.bool_])
def test_losses_of_integer_inputs_compute_in_float32(dtype) -> None:
    logits = np.array([[1, 0, 1], [0, 1, 1]], dtype=dtype)
    z = logits.astype(np.float64)
    target = np.array([2, 0])
    expected = -np.mean(np.log(softmax_ref(z, 1))[[0, 1], target])
    ce = F.cross_entropy(Tensor(logits), target)
    assert ce.dtype == np.float32
    np.testing.assert_allclose(ce.item(), expected, rtol=1e-6)
    nll = F.nll_loss(Tensor(logits), target)
    np.testing.assert_allclose(nll.item(), -np.mean(z[[0, 1], target]), rtol=1e-6)
    mse = F.mse_loss(Tensor(logits), np.full((2, 3), 20.0))
    np.testing.assert_allclose(mse.item(), np.mean((z - 20.0) ** 2), rtol=1e-6)
    bce = F.binary_cross_entropy_with_logits(Tensor(logits), np.full((2, 3), 0.25))
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(bce.item(), np.mean(-(0.25 * np.log(p) + 0.75 * np.log(1 - p))), rtol=1e-6)


def test_mse_loss_of_uint8_input_keeps_the_float_target() -> None:
    """issue 14: the target [20.] was cast to uint8, and (0 - 20)² wrapped to 144."""
    assert F.mse_loss(Tensor(np.array([0], np.uint8)), [20.0]).item() == 400.0


def test_integer_sums_are_int64_and_do_not_wrap() -> None:
    x = Tensor(np.full(300, 255, dtype=np.uint8))
    assert x.sum().dtype == np.int64 and x.sum().item() == 300 * 255
    assert Tensor(np.ones(3, dtype=bool)).sum().item() == 3
    c = x.cumsum(0)
    assert c.dtype == np.int64 and c.data[-1] == 300 * 255


def test_bool_arithmetic_is_refused_naming_the_op() -> None:
    b = Tensor(np.array([True, False]))
    with pytest.raises(TypeError, match=r"sub: inputs of dtypes bool and bool: .*x\.float\(\)"):
        _ = b - b
    with pytest.raises(TypeError, match="neg: inputs of dtypes bool"):
        _ = -b


@pytest.mark.parametrize("op", ["mean", "var", "std", "norm"])
def test_mean_var_std_norm_of_integers_are_refused_as_pytorch_does(op) -> None:
    with pytest.raises(TypeError, match=rf"{op}: input of dtype int64 is not floating-point.*x\.float\(\)"):
        getattr(Tensor(np.arange(3)), op)()
    assert getattr(Tensor(np.arange(3)).float(), op)().dtype == np.float32


# ---- 6. an empty axis ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 0), (0, 3, 0)])
def test_softmax_family_over_an_empty_axis_is_empty_as_pytorch(shape) -> None:
    x = Tensor(np.zeros(shape, np.float32), requires_grad=True)
    for f in (F.softmax, F.log_softmax, Tensor.softmax):
        out = f(x, -1)
        assert out.shape == shape and out.dtype == np.float32
    out = F.logsumexp(x, -1)
    assert out.shape == shape[:-1] and np.all(out.data == -np.inf)  # log of an empty sum, as PyTorch
    x.softmax(-1).sum().backward()
    assert x.grad.shape == shape


# ---- 7. casts, copies and in-place fills -------------------------------------------------------------
@pytest.mark.parametrize(
    "cast",
    [
        Tensor.double,
        Tensor.half,
        lambda x: x.to(np.float64),
        lambda x: x.to("cpu", tg.float16),
        lambda x: x.type(tg.float64),
    ],
)
def test_float_casts_are_differentiable_and_the_gradient_comes_back_in_the_leafs_dtype(cast) -> None:
    x = Tensor(np.array([0.5, -1.25], dtype=np.float32), requires_grad=True)
    y = cast(x)
    assert y.dtype != np.float32 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, -2.5]


def test_integer_casts_are_constants_and_to_names_what_it_refuses() -> None:
    x = Tensor(np.array([1.7, -2.2]), requires_grad=True)
    assert x.long().tolist() == [1, -2] and not x.long().requires_grad and x.int().dtype == np.int32
    assert x.bool().dtype == np.bool_ and x.float().dtype == np.float32 and x.type() == "float64"
    assert x.to("cpu") is x and x.to(x) is x and x.to(Tensor(np.zeros(1, np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match="to: the only device here is 'cpu', got 'cuda'"):
        x.to("cuda")
    with pytest.raises(TypeError, match="to: 'banana' is not a dtype"):
        x.to("banana")


def test_clone_copies_and_stays_in_the_graph() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.clone()
    y.data[0] = 5.0
    assert x.data[0] == 1.0
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_fill_and_zero_change_the_tensor_in_place_and_tick_the_version_clock() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="fill_: a leaf tensor of shape"):
        x.fill_(2.0)
    y = x * 2
    with tg.no_grad():
        assert x.fill_(4.0) is x and x.tolist() == [4.0, 4.0, 4.0]
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()  # Mul saved the old x
    c = Tensor(np.arange(3.0))
    assert c.zero_().tolist() == [0.0, 0.0, 0.0] and x.requires_grad_(False).requires_grad is False


def test_item_tolist_t_and_view() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.t().shape == (3, 2) and x[0].t().shape == (3,) and x.view(3, 2).shape == (3, 2)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]] and x[1, 2].item() == 5.0
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dimensions"):
        Tensor(X).t()


def test_flip_returns_a_copy_as_pytorch() -> None:
    x = Tensor(np.arange(3.0))
    y = x.flip(0)
    y.data[0] = 9
    assert x.tolist() == [0, 1, 2] and x.flip(dims=(0,)).tolist() == [2, 1, 0]


def test_split_and_chunk_as_pytorch() -> None:
    x = Tensor(np.arange(10.0))
    assert [p.tolist() for p in x.chunk(4)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert [len(p) for p in Tensor(np.arange(6.0)).chunk(4)] == [2, 2, 2]  # fewer chunks, as PyTorch
    assert [len(p) for p in x.split(4)] == [4, 4, 2] and [len(p) for p in x.split([3, 7])] == [3, 7]
    with pytest.raises(ValueError, match=r"split: sizes \[3, 3\] do not add up"):
        x.split([3, 3])


def test_repeat_tile_and_expand_shapes_as_pytorch() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.repeat(2, 1, 2).shape == (2, 2, 6) and x.tile((2,)).shape == (2, 6)
    np.testing.assert_array_equal(x.repeat(2, 2).data, np.tile(x.data, (2, 2)))
    assert Tensor(np.zeros((3, 1))).expand(2, -1, 4).shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"expand: a tensor of shape \(2, 3\) cannot be expanded"):
        x.expand(2, 4)


def test_gather_and_masked_fill_check_their_arguments() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.gather(1, np.array([[2, 0], [1, 1]])).data, [[2, 0], [4, 4]])
    with pytest.raises(ValueError, match=r"gather: index values must be in \[0, 3\)"):
        x.gather(1, np.array([[3]]))
    with pytest.raises(ValueError, match="gather: index must be an integer tensor with 2 dims"):
        x.gather(1, np.array([0.0]))
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(4,\) does not broadcast"):
        x.masked_fill(np.ones(4, bool), 0.0)
    with pytest.raises(TypeError, match="masked_fill: mask must be bool"):
        x.masked_fill(np.array([1, 0, 1]), 0.0)
    np.testing.assert_array_equal(
        x.masked_fill(np.array([True, False, True]), -1.0).data, [[-1, 1, -1], [-1, 4, -1]]
    )


def test_tril_and_triu_leave_no_nan_where_they_zero() -> None:
    x = Tensor(np.full((3, 3), np.inf))
    assert not np.isnan(x.tril().data).any() and x.triu(1).data[2, 0] == 0


def test_norm_and_its_gradient_at_zero() -> None:
    x = Tensor(np.zeros(3), requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # as PyTorch, not 0/0
    v = np.array([[3.0, -4.0], [1.0, 0.0]])
    np.testing.assert_allclose(Tensor(v).norm(dim=1).data, [5.0, 1.0])
    assert Tensor(v).norm(1).item() == 8.0 and Tensor(v).norm(math.inf).item() == 4.0
    with pytest.raises(ValueError, match="norm: p must be"):
        Tensor(v).norm("nuc")


def test_var_correction_and_unbiased() -> None:
    v = np.array([1.0, 2.0, 4.0])
    assert Tensor(v).var().item() == pytest.approx(np.var(v, ddof=1))
    assert Tensor(v).var(unbiased=False).item() == pytest.approx(np.var(v))
    assert Tensor(v).std(correction=2).item() == pytest.approx(np.sqrt(((v - v.mean()) ** 2).sum()))
    assert np.isnan(Tensor(np.array([1.0])).var().item())  # no degrees of freedom: NaN, as PyTorch
    with pytest.raises(TypeError, match="var: got both unbiased and correction"):
        Tensor(v).var(unbiased=True, correction=1)


# ---- 8. creation ------------------------------------------------------------------------------------
def test_creation_functions_dtypes_and_values_as_pytorch() -> None:
    assert tg.zeros(2, 3).dtype == np.float32 and tg.ones((2,), dtype=tg.float64).dtype == np.float64
    assert tg.empty(2).shape == (2,) and tg.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert tg.full((2,), 7).dtype == np.int64 and tg.full((2,), 0.5).dtype == np.float32
    assert tg.full((1,), True).dtype == np.bool_
    assert tg.arange(4).tolist() == [0, 1, 2, 3] and tg.arange(4).dtype == np.int64
    assert tg.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75] and tg.arange(0.0, 3).dtype == np.float32
    assert tg.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert tg.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    like = Tensor(np.zeros((2, 2), np.float64))
    for made in (
        tg.zeros_like(like),
        tg.ones_like(like),
        tg.full_like(like, 3),
        tg.rand_like(like),
        tg.randn_like(like),
    ):
        assert made.shape == (2, 2) and made.dtype == np.float64
    assert tg.zeros(2, requires_grad=True).requires_grad and tg.rand(3, 4).dtype == np.float32
    tg.manual_seed(0)
    r = tg.randint(3, 7, (1000,))
    assert r.dtype == np.int64 and r.data.min() == 3 and r.data.max() == 6
    assert tg.randint(2, (3,)).data.max() <= 1
    with pytest.raises(TypeError, match="cannot require grad"):
        tg.arange(3, requires_grad=True)
