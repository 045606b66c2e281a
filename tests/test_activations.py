"""Activations and the functions around them (dropout, one_hot, normalize, cosine_similarity).

Each function is checked by ONE hypothesis factory, `family_test`: its values against the
published formula written out here in numpy (math.erf for GELU), its first derivatives against
central differences in float64 (`tg.gradcheck`), and its second derivatives by gradchecking the
recorded first derivative x ↦ grad(Σ f(x) ⊙ v, create_graph=True) in x and v. Values are drawn
away from the kinks; the kinks get PyTorch's derivative, checked one by one below, and the
traps at large |x| are probed in float32 and float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu import functional as F
from tinygrad_edu.ops.nn import erf, erfc

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

# the published constants of SELU (Klambauer et al., 2017, eq. 14)
ALPHA_01 = 1.6732632423543772848170429916717
LAMBDA_01 = 1.0507009873554804934193349852946


def erf_ref(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def elu_ref(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def ref_norm(x: np.ndarray, p: float, axis: int) -> np.ndarray:
    return (np.abs(x) ** p).sum(axis=axis, keepdims=True) ** (1 / p)


# ---- the factory ---------------------------------------------------------------------------------
Params = Callable[[tuple[int, ...]], st.SearchStrategy[dict]]


def no_params(shape: tuple[int, ...]) -> st.SearchStrategy[dict]:
    return st.just({})


def choices(defaults: bool = False, **options: list[Any]) -> Params:
    """Keyword arguments drawn from `options` (or, with defaults, none at all: the defaults)."""
    drawn = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in options.items()})
    return lambda shape: st.just({}) | drawn if defaults else drawn


def one_dim(shape: tuple[int, ...]) -> st.SearchStrategy[int]:
    return st.integers(-len(shape), len(shape) - 1)


def away_from(x: np.ndarray, kinks: tuple[float, ...], margin: float = 0.1) -> np.ndarray:
    for k in kinks:
        x = np.where(np.abs(x - k) < margin, k + np.where(x >= k, margin, -margin), x)
    return x


def family_test(
    fn: Callable[..., Tensor],
    ref: Callable[..., np.ndarray],
    *,
    params: Params = no_params,
    kinks: Callable[[dict], tuple[float, ...]] = lambda kw: (),
    n: int = 1,
    lo: float = -6.0,
    hi: float = 6.0,
    min_dims: int = 0,
) -> Callable[..., None]:
    """A hypothesis test of `fn(*xs, **kw)` on n float64 tensors of one shape: values to 1e-10
    against `ref(*arrays, **kw)`, first and second derivatives against central differences.
    Values lie in [lo, hi], at least 0.1 away from each of `kinks(kw)`."""

    @settings(max_examples=25)
    @given(data=st.data())
    def test(data: st.DataObject) -> None:
        shape = data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=2, min_side=1, max_side=4), "shape")
        kw = data.draw(params(shape), "params")
        floats = st.floats(lo, hi, allow_nan=False, allow_subnormal=False)
        arrays = [
            away_from(data.draw(hnp.arrays(np.float64, shape, elements=floats)), kinks(kw)) for _ in range(n)
        ]
        xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = fn(*xs, **kw)
        expected = ref(*arrays, **kw)
        assert (out.shape, out.dtype) == (expected.shape, np.float64)
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        assert tg.gradcheck(lambda *ts: fn(*ts, **kw), xs)
        v = Tensor(np.random.default_rng(0).standard_normal(out.shape), requires_grad=True)

        def first_derivatives(*ts: Tensor) -> tuple[Tensor, ...]:
            return tg.grad((fn(*ts[:-1], **kw) * ts[-1]).sum(), list(ts[:-1]), create_graph=True)

        assert tg.gradcheck(first_derivatives, [*xs, v], fast_mode=True)

    return test


# ---- activations against their published formulas -----------------------------------------------
test_leaky_relu = family_test(
    F.leaky_relu,
    lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
    params=choices(True, negative_slope=[0.01, 0.2, -0.5, 1.5]),
    kinks=lambda kw: (0.0,),
)
test_elu = family_test(
    F.elu, elu_ref, params=choices(alpha=[1.0, 0.5, 2.0]), kinks=lambda kw: (0.0,), lo=-30.0, hi=30.0
)
test_selu = family_test(F.selu, lambda x: LAMBDA_01 * elu_ref(x, ALPHA_01), kinks=lambda kw: (0.0,))
test_celu = family_test(
    F.celu,
    lambda x, alpha: np.maximum(0, x) + np.minimum(0, alpha * (np.exp(x / alpha) - 1)),
    params=choices(alpha=[1.0, 0.5, 3.0]),
    kinks=lambda kw: (0.0,),
)
test_gelu = family_test(F.gelu, lambda x: 0.5 * x * (1 + erf_ref(x / math.sqrt(2))), lo=-10.0, hi=10.0)
test_gelu_tanh = family_test(
    lambda x: F.gelu(x, approximate="tanh"),
    lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    lo=-8.0,
    hi=8.0,
)
test_silu = family_test(F.silu, lambda x: x / (1 + np.exp(-x)), lo=-20.0, hi=20.0)
test_mish = family_test(F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), lo=-15.0, hi=15.0)
test_softplus = family_test(
    F.softplus,
    lambda x, beta=1.0, threshold=20.0: np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta),
    params=choices(True, beta=[1.0, 2.0, 0.5], threshold=[20.0, 1.0, 4.0]),
    kinks=lambda kw: (kw.get("threshold", 20.0) / kw.get("beta", 1.0),),
    lo=-12.0,
    hi=12.0,
)
test_softsign = family_test(F.softsign, lambda x: x / (1 + np.abs(x)), kinks=lambda kw: (0.0,))  # of f″
test_hardtanh = family_test(
    F.hardtanh,
    lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
    params=choices(True, min_val=[-1.0, -2.0, 0.5], max_val=[1.0, 3.0]),
    kinks=lambda kw: (kw.get("min_val", -1.0), kw.get("max_val", 1.0)),
)
test_relu6 = family_test(
    F.relu6, lambda x: np.minimum(np.maximum(x, 0), 6), kinks=lambda kw: (0.0, 6.0), hi=8.0
)
test_hardsigmoid = family_test(
    F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), kinks=lambda kw: (-3.0, 3.0)
)
test_hardswish = family_test(
    F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, kinks=lambda kw: (-3.0, 3.0)
)


# ---- normalize and cosine_similarity: the same factory, with a dimension --------------------------
def norm_params(shape: tuple[int, ...]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"p": st.sampled_from([2.0, 1.0, 3.0]), "dim": one_dim(shape)})


test_normalize = family_test(
    F.normalize,
    lambda x, p, dim: x / np.maximum(ref_norm(x, p, dim), 1e-12),
    params=norm_params,
    kinks=lambda kw: (0.0,),  # |x| has a kink at 0 for p = 1
    min_dims=1,
)
test_cosine_similarity = family_test(
    F.cosine_similarity,
    lambda a, b, dim: (a * b).sum(axis=dim) / (ref_norm(a, 2, dim) * ref_norm(b, 2, dim)).squeeze(dim),
    params=lambda shape: st.fixed_dictionaries({"dim": one_dim(shape)}),
    kinks=lambda kw: (0.0,),  # keeps each vector's norm away from 0
    n=2,
    min_dims=1,
)


# ---- kinks: PyTorch's derivative exactly at the boundary ------------------------------------------
# (the values torch 2.13 gives; benchmarks/compare_torch_functional.py checks them, and the
# second derivatives at the kinks, against torch itself)
KINKS = [
    ("leaky_relu", F.leaky_relu, 0.0, 0.01),
    ("leaky_relu(0.2)", lambda x: F.leaky_relu(x, 0.2), 0.0, 0.2),
    ("elu(alpha=2)", lambda x: F.elu(x, 2.0), 0.0, 2.0),
    ("selu", F.selu, 0.0, LAMBDA_01 * ALPHA_01),
    ("celu(alpha=2)", lambda x: F.celu(x, 2.0), 0.0, 1.0),
    ("hardtanh at min_val", F.hardtanh, -1.0, 0.0),
    ("hardtanh at max_val", F.hardtanh, 1.0, 0.0),
    ("relu6 at 0", F.relu6, 0.0, 0.0),
    ("relu6 at 6", F.relu6, 6.0, 0.0),
    ("hardsigmoid at -3", F.hardsigmoid, -3.0, 0.0),
    ("hardsigmoid at 3", F.hardsigmoid, 3.0, 0.0),
    ("hardswish at -3", F.hardswish, -3.0, 0.0),
    ("hardswish at 3", F.hardswish, 3.0, 1.0),
    ("softplus at the threshold", F.softplus, 20.0, 1 / (1 + math.exp(-20.0))),
    ("softplus above the threshold", F.softplus, 20.5, 1.0),
    ("softsign at 0", F.softsign, 0.0, 1.0),
    ("gelu at 0", F.gelu, 0.0, 0.5),
    ("mish at 0", F.mish, 0.0, 0.6),  # tanh(log 2) = 3/5
]


@pytest.mark.parametrize(("name", "fn", "x0", "slope"), KINKS, ids=[k[0] for k in KINKS])
def test_derivative_at_kinks(name: str, fn: Callable, x0: float, slope: float) -> None:
    for dtype in (np.float32, np.float64):
        x = Tensor(np.array([x0], dtype=dtype), requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad, [slope], rtol=1e-6)


SECOND_AT_KINKS = [
    ("elu at 0", F.elu, 0.0, -1.0),  # PyTorch's double backward takes the curve for x < 0 only
    ("softplus at the threshold", F.softplus, 20.0, 19.0),
    ("hardswish at -3", F.hardswish, -3.0, -2.5),
    ("hardswish at 3", F.hardswish, 3.0, 2.5),
]


@pytest.mark.parametrize(("name", "fn", "x0", "x1"), SECOND_AT_KINKS, ids=[k[0] for k in SECOND_AT_KINKS])
def test_second_derivative_at_kinks_is_zero_as_in_pytorch(
    name: str, fn: Callable, x0: float, x1: float
) -> None:
    x = Tensor(np.array([x0, x1]), requires_grad=True)  # at x1, on the curve beside it: nonzero
    (g,) = tg.grad(fn(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    assert h.data[0] == 0 and h.data[1] != 0


# ---- numerical traps ----------------------------------------------------------------------------
SMOOTH = {
    "elu": F.elu,
    "selu": F.selu,
    "celu": F.celu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "leaky_relu": F.leaky_relu,
    "hardtanh": F.hardtanh,
    "relu6": F.relu6,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
}
# the limits as x -> -inf and +inf, for |x| = 1e30 (every one of them is exact there in float32)
LIMITS = {
    "elu": (-1.0, 1e30),
    "selu": (-LAMBDA_01 * ALPHA_01, LAMBDA_01 * 1e30),
    "celu": (-1.0, 1e30),
    "gelu": (0.0, 1e30),
    "gelu_tanh": (0.0, 1e30),
    "silu": (0.0, 1e30),
    "mish": (0.0, 1e30),
    "softplus": (0.0, 1e30),
    "softsign": (-1.0, 1.0),
    "leaky_relu": (-1e28, 1e30),
    "hardtanh": (-1.0, 1.0),
    "relu6": (0.0, 6.0),
    "hardsigmoid": (0.0, 1.0),
    "hardswish": (0.0, 1e30),
}


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_stay_finite_in_their_dtype(name: str, dtype: type) -> None:
    """No overflow warning (they are errors here), no NaN or inf in values or gradients, the dtype
    kept, and the limits reached at ±1e30."""
    x = Tensor(
        np.array([-1e30, -1e4, -100.0, -30.0, 30.0, 100.0, 1e4, 1e30], dtype=dtype), requires_grad=True
    )
    y = SMOOTH[name](x)
    assert y.dtype == dtype
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    assert np.isfinite(y.data).all() and np.isfinite(g.data).all()
    if g.requires_grad:  # the piecewise-linear ones have a constant first derivative
        (h,) = tg.grad(g.sum(), x)
        assert np.isfinite(h.data).all()
    np.testing.assert_allclose(y.data[[0, -1]], LIMITS[name], rtol=1e-6)


def test_gelu_left_tail_keeps_relative_accuracy() -> None:
    """x Φ(x) for x = -10: Φ through erfc, so the tiny value is right to its last digits, where
    (1 + erf(x/√2))/2 would have cancelled to 0."""
    x = np.array([-10.0, -20.0, -30.0])
    expected = x * 0.5 * np.vectorize(math.erfc)(-x / math.sqrt(2))
    np.testing.assert_allclose(F.gelu(Tensor(x)).data, expected, rtol=1e-13)
    assert (expected != 0).all()


def test_softplus_is_one_half_slope_at_zero_for_any_beta() -> None:
    x = Tensor(np.zeros(3), requires_grad=True)
    F.softplus(x, beta=3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [0.5] * 3)


# ---- erf ---------------------------------------------------------------------------------------
def test_erf_and_erfc_against_math_on_a_grid() -> None:
    """The accuracy stated in ops/nn.py, against the C library's erf and erfc."""
    x = np.linspace(-9, 9, 36001)
    np.testing.assert_allclose(erf(x), erf_ref(x), rtol=1e-15, atol=1e-300)
    tail = np.linspace(2.5, 26, 20001)
    np.testing.assert_allclose(erfc(tail), np.vectorize(math.erfc)(tail), rtol=2e-14, atol=0)
    head = np.linspace(-9, 2.5, 20001)
    np.testing.assert_allclose(erfc(head), np.vectorize(math.erfc)(head), rtol=3e-12, atol=1e-15)
    assert erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert erfc(np.array([np.inf, -np.inf, 30.0])).tolist() == [0.0, 2.0, 0.0]
    assert np.isnan(erf(np.array([np.nan]))).all()


# ---- one_hot and dropout -------------------------------------------------------------------------
@given(
    y=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.integers(0, 5)),
    extra=st.integers(0, 2),
)
def test_one_hot_against_a_loop(y: np.ndarray, extra: int) -> None:
    for num_classes in (-1, 6 + extra):
        out = F.one_hot(Tensor(y, dtype=np.int64), num_classes)
        c = int(y.max()) + 1 if num_classes == -1 else num_classes
        expected = np.zeros(y.shape + (c,), dtype=np.int64)
        for idx in np.ndindex(y.shape):
            expected[idx + (y[idx],)] = 1
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.data, expected)


def test_dropout_scales_survivors_and_is_identity_out_of_training() -> None:
    tg.manual_seed(0)
    x = Tensor(np.ones((200, 100), dtype=np.float32), requires_grad=True)
    y = F.dropout(x, p=0.3)
    assert y.dtype == np.float32
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.01  # 20,000 draws: the standard deviation is 0.003
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7, rtol=1e-6)  # the mask, scaled, is the gradient
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).data == 0).all()


# ---- modules ---------------------------------------------------------------------------------------
# reprs as torch 2.13 prints them
MODULES = [
    (nn.ReLU(), "ReLU()", F.relu),
    (nn.ReLU(inplace=True), "ReLU(inplace=True)", F.relu),
    (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)", lambda x: F.leaky_relu(x)),
    (nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)", lambda x: F.leaky_relu(x, 0.2)),
    (nn.ELU(), "ELU(alpha=1.0)", F.elu),
    (nn.ELU(0.5, True), "ELU(alpha=0.5, inplace=True)", lambda x: F.elu(x, 0.5)),
    (nn.SELU(), "SELU()", F.selu),
    (nn.SELU(True), "SELU(inplace=True)", F.selu),
    (nn.CELU(2.0), "CELU(alpha=2.0)", lambda x: F.celu(x, 2.0)),
    (nn.GELU(), "GELU(approximate='none')", F.gelu),
    (nn.GELU("tanh"), "GELU(approximate='tanh')", lambda x: F.gelu(x, "tanh")),
    (nn.SiLU(), "SiLU()", F.silu),
    (nn.SiLU(True), "SiLU(inplace=True)", F.silu),
    (nn.Mish(), "Mish()", F.mish),
    (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)", F.softplus),
    (nn.Softplus(2, 10), "Softplus(beta=2, threshold=10)", lambda x: F.softplus(x, 2, 10)),
    (nn.Softsign(), "Softsign()", F.softsign),
    (nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)", F.hardtanh),
    (
        nn.Hardtanh(-2, 2, True),
        "Hardtanh(min_val=-2, max_val=2, inplace=True)",
        lambda x: F.hardtanh(x, -2, 2),
    ),
    (nn.ReLU6(), "ReLU6()", F.relu6),
    (nn.ReLU6(True), "ReLU6(inplace=True)", F.relu6),
    (nn.Hardsigmoid(True), "Hardsigmoid()", F.hardsigmoid),
    (nn.Hardswish(), "Hardswish()", F.hardswish),
]


@pytest.mark.parametrize(("module", "text", "fn"), MODULES, ids=[m[1] for m in MODULES])
def test_modules_repr_and_forward(module: nn.Module, text: str, fn: Callable) -> None:
    assert repr(module) == text
    x = Tensor(np.linspace(-8, 8, 33, dtype=np.float32))
    out = module(x)
    np.testing.assert_array_equal(out.data, fn(x).data)
    assert x.data[0] == -8  # inplace=True is accepted, but the input is left as it was
    assert list(module.parameters()) == [] and module.state_dict() == {}


def test_dropout_module_uses_f_dropout() -> None:
    layer = nn.Dropout(0.25)
    x = Tensor(np.ones((50, 40), dtype=np.float32))
    tg.manual_seed(1)
    a = layer(x).data
    tg.manual_seed(1)
    np.testing.assert_array_equal(a, F.dropout(x, 0.25).data)
    assert layer.eval()(x) is x


# ---- bad input -----------------------------------------------------------------------------------
ERRORS = [
    (lambda: F.celu(Tensor([1.0]), alpha=0.0), ValueError, "celu: alpha must not be 0"),
    (
        lambda: F.gelu(Tensor([1.0]), approximate="erf"),
        ValueError,
        "gelu: approximate must be 'none' or 'tanh'",
    ),
    (lambda: F.hardtanh(Tensor([1.0]), 2.0, 1.0), ValueError, "hardtanh: min_val 2.0 is above max_val 1.0"),
    (lambda: nn.Hardtanh(2.0, 1.0), ValueError, "Hardtanh: max_val 1.0 must be above min_val 2.0"),
    (lambda: nn.GELU("exact"), ValueError, "GELU: approximate must be 'none' or 'tanh'"),
    (
        lambda: F.leaky_relu(Tensor(np.arange(3))),
        TypeError,
        "leaky_relu: input of shape (3,) and dtype int64",
    ),
    (lambda: F.gelu(np.arange(4).reshape(2, 2)), TypeError, "gelu: input of shape (2, 2) and dtype int64"),
    (lambda: F.one_hot(np.array([0.0, 1.0])), TypeError, "one_hot: needs integer class indices"),
    (lambda: F.one_hot(np.array([0, 3]), 3), ValueError, "one_hot: class index 3 is outside [0, 3)"),
    (lambda: F.one_hot(np.array([0, -1])), ValueError, "one_hot: class index -1 is outside [0, 1)"),
    (lambda: F.one_hot(np.zeros(0, dtype=np.int64)), ValueError, "cannot infer the number of classes"),
    (lambda: F.one_hot(np.array([1]), -2), ValueError, "num_classes must be -1 or a non-negative int"),
    (lambda: F.normalize(Tensor([[1.0, 2.0]]), p=0), ValueError, "normalize: p must be positive"),
    (lambda: F.normalize(Tensor([1.0, 2.0])), ValueError, "normalize"),  # dim=1 of a 1-D input
    (
        lambda: F.cosine_similarity(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 4)))),
        ValueError,
        "cosine_similarity: x1 of shape (2, 3) and x2 of shape (2, 4) do not broadcast",
    ),
    (lambda: F.dropout(Tensor([1.0]), p=1.5), ValueError, "dropout: p must be in [0, 1], got 1.5"),
]


@pytest.mark.parametrize(("call", "kind", "says"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_name_the_function(call: Callable, kind: type, says: str) -> None:
    with pytest.raises(kind, match=None) as info:
        call()
    assert says in str(info.value)
