"""Property tests for every op: the forward equals the numpy expression, and the gradient equals
central finite differences in float64 (`tg.gradcheck`, which compares the whole Jacobian entry
by entry: one row by tg.grad per output element, one column by central differences per input
element).

One factory, `op_test`, turns (op, numpy reference, input domains, number of inputs, whether
they broadcast, whether to check second derivatives) into a hypothesis test, in the spirit of
MyGrad's test factories. Values are drawn away from kinks and singularities; tests/test_traps.py
probes the kinks themselves.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu import functional as F

# Any RuntimeWarning (overflow, invalid value, divide by zero) inside an op is a failure here.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

Shape = tuple[int, ...]
Shapes = tuple[Shape, ...]
MAX_SIDE = 4


@dataclass(frozen=True)
class Domain:
    """Values in [lo, hi], at least `margin` away from each point of `avoid` (kinks, poles);
    with `distinct`, spread evenly in the drawn order so that no two are within eps (no ties);
    with `grid`, rounded to its multiples, so that two values are equal or `grid` apart (exact
    ties, never near ones)."""

    lo: float = -3.0
    hi: float = 3.0
    avoid: tuple[float, ...] = ()
    margin: float = 0.1
    distinct: bool = False
    grid: float | None = None


KINK0 = Domain(avoid=(0.0,))
POSITIVE = Domain(0.1, 5.0)
NONZERO = Domain(avoid=(0.0,), margin=0.5)
PROBABILITY = Domain(0.05, 0.95)
DISTINCT = Domain(distinct=True)


def values(shape: Shape, dom: Domain) -> st.SearchStrategy[np.ndarray]:
    floats = st.floats(dom.lo, dom.hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=floats).map(lambda x: _into(x, dom))


def _into(x: np.ndarray, dom: Domain) -> np.ndarray:
    if dom.distinct:
        rank = np.argsort(np.argsort(x, axis=None, kind="stable")).reshape(x.shape)
        x = dom.lo + rank * (dom.hi - dom.lo) / max(x.size, 1)
    for k in dom.avoid:
        x = np.where(np.abs(x - k) < dom.margin, k + np.where(x >= k, dom.margin, -dom.margin), x)
    return x if dom.grid is None else np.round(x / dom.grid) * dom.grid


def same_shapes(n: int, min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[Shapes]:
    shape = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE)
    return shape.map(lambda s: (s,) * n)


def broadcastable_shapes(n: int, min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[Shapes]:
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE
    ).map(lambda b: b.input_shapes)


def no_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    return st.just({})


def check_op(
    fn: Callable[..., Tensor],
    ref: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    kw: dict,
    second: bool = False,
) -> None:
    """fn on float64 tensors equals ref on the arrays, and its gradients pass gradcheck; with
    `second`, so do its second derivatives: the gradcheck of (xs, v) ↦ d(Σ fn(xs) ⊙ v)/dxs, the
    gradient taken with create_graph."""
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*xs, **kw)
    expected = np.asarray(ref(*arrays, **kw))
    assert (out.shape, out.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda *ts: fn(*ts, **kw), xs)
    if second:
        v = Tensor(np.random.default_rng(0).standard_normal(out.shape), requires_grad=True)

        def vjp(*ts: Tensor) -> tuple[Tensor | None, ...]:
            return tg.grad((fn(*ts[:-1], **kw) * ts[-1]).sum(), list(ts[:-1]), create_graph=True)

        assert tg.gradcheck(vjp, [*xs, v])


def op_test(
    fn: Callable[..., Tensor],
    ref: Callable[..., Any] | None = None,
    *,
    n: int = 1,
    broadcast: bool = False,
    domain: Domain | Sequence[Domain] = Domain(),
    shapes: st.SearchStrategy[Shapes] | None = None,
    params: Callable[[Shapes], st.SearchStrategy[dict]] = no_params,
    min_dims: int = 0,
    max_dims: int = 3,
    second: bool = False,
) -> Callable[..., None]:
    """A hypothesis test of `fn(*xs, **params)` on n float64 tensors against `ref` on their arrays.

    `ref=None` evaluates the same expression on numpy arrays (operators, methods, indexing).
    Shapes are equal, or mutually broadcastable with `broadcast`, unless `shapes` is given;
    `params(shapes)` draws the non-differentiable arguments (axes, indices, targets); `second`
    checks second derivatives too.
    """
    ref = fn if ref is None else ref
    doms = [domain] * n if isinstance(domain, Domain) else list(domain)
    if shapes is None:
        shapes = (broadcastable_shapes if broadcast else same_shapes)(n, min_dims, max_dims)

    @given(data=st.data())
    def test(data: st.DataObject) -> None:
        shps = data.draw(shapes, label="shapes")
        kw = data.draw(params(shps), label="params")
        arrays = [data.draw(values(s, d), label=f"x{i}") for i, (s, d) in enumerate(zip(shps, doms))]
        check_op(fn, ref, arrays, kw, second)

    return test


# ---- parameter strategies ------------------------------------------------------------------------
def axes(ndim: int) -> st.SearchStrategy[Any]:
    """None, one axis (negative too) or a tuple of distinct axes, each written either way."""
    if ndim == 0:
        return st.sampled_from([None, ()])
    many = st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
        lambda ax: st.tuples(*[st.sampled_from([a, a - ndim]) for a in ax])
    )
    return st.none() | st.integers(-ndim, ndim - 1) | many


def reduce_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"axis": axes(len(shapes[0])), "keepdims": st.booleans()})


def one_axis(shapes: Shapes, extra: int = 0) -> st.SearchStrategy[dict]:
    ndim = len(shapes[0]) + extra
    return st.fixed_dictionaries({"axis": st.integers(-ndim, ndim - 1)})


def reshape_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """A new shape with the same size: the size's prime factors dealt into 1 to 3 axes."""
    size, factors, p = math.prod(shapes[0]), [], 2
    while size > 1:
        while size % p == 0:
            factors.append(p)
            size //= p
        p += 1

    def deal(k: int) -> st.SearchStrategy[Shape]:
        bins = st.lists(st.integers(0, k - 1), min_size=len(factors), max_size=len(factors))
        return bins.map(lambda b: tuple(math.prod(f for f, i in zip(factors, b) if i == j) for j in range(k)))

    return st.integers(1, 3).flatmap(deal).map(lambda shape: {"shape": shape})


def index_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """Ints, slices, None and Ellipsis; boolean masks; integer arrays, lists and tuples (with
    repeats, e.g. x[:, (2, 0, 2)]); mixtures."""
    shape = shapes[0]
    options = [
        hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True),
        hnp.arrays(np.bool_, shape),
    ]
    if shape:
        many = hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)
        rows = hnp.integer_array_indices(shape[:1], result_shape=many)
        cols = hnp.integer_array_indices(shape[-1:], result_shape=many)
        options += [
            hnp.integer_array_indices(shape, result_shape=many),
            rows.map(lambda ix: ix[0].ravel().tolist()),  # a Python list of ints
            cols.map(lambda ix: (slice(None, None, -1),) * (len(shape) - 1) + ix),  # x[::-1, [2, 0, 2]]
            cols.map(lambda ix: (slice(None),) * (len(shape) - 1) + (tuple(ix[0].ravel().tolist()),)),
        ]
    return st.one_of(options).map(lambda idx: {"idx": idx})


def join_shapes(n: int) -> st.SearchStrategy[Shapes]:
    """n shapes that agree on every axis but one."""

    def vary(shape: Shape) -> st.SearchStrategy[Shapes]:
        sizes = st.lists(st.integers(1, MAX_SIDE), min_size=n, max_size=n)
        return st.tuples(st.integers(0, len(shape) - 1), sizes).map(
            lambda a: tuple(shape[: a[0]] + (k,) + shape[a[0] + 1 :] for k in a[1])
        )

    return hnp.array_shapes(min_dims=1, max_dims=3, max_side=MAX_SIDE).flatmap(vary)


def join_axes(shapes: Shapes) -> st.SearchStrategy[dict]:
    """The axes (either sign) along which these shapes can be concatenated."""
    ndim = len(shapes[0])
    ok = [a for a in range(-ndim, ndim) if len({s[: a % ndim] + s[a % ndim + 1 :] for s in shapes}) == 1]
    return st.fixed_dictionaries({"axis": st.sampled_from(ok)})


def class_targets(shapes: Shapes) -> st.SearchStrategy[dict]:
    n, c = shapes[0]
    target = hnp.arrays(np.int64, n, elements=st.integers(0, c - 1))
    return st.fixed_dictionaries({"target": target, "reduction": REDUCTIONS})


def reduction(shapes: Shapes) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"reduction": REDUCTIONS})


def constants(*choices: Any) -> Callable[[Shapes], st.SearchStrategy[dict]]:
    return lambda shapes: st.fixed_dictionaries({"c": st.sampled_from(choices)})


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
MATRICES = st.tuples(hnp.array_shapes(min_dims=2, max_dims=2, max_side=5))


def reduce_ref(loss: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](loss)


def log_softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def sigmoid_ref(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# ---- arithmetic ----------------------------------------------------------------------------------
test_add = op_test(lambda x, y: x + y, n=2, broadcast=True)
test_sub = op_test(lambda x, y: x - y, n=2, broadcast=True)
test_mul = op_test(lambda x, y: x * y, n=2, broadcast=True)
test_div = op_test(lambda x, y: x / y, n=2, broadcast=True, domain=[Domain(), NONZERO])
test_pow_base_and_exponent = op_test(
    lambda x, p: x**p, n=2, broadcast=True, domain=[Domain(0.5, 2.5), Domain(-2.0, 2.0)]
)
test_neg = op_test(lambda x: -x)
test_named_arithmetic = op_test(
    lambda x, y: x.add(y).mul(y).sub(x).div(y.pow(2.0) + 1),
    lambda x, y: ((x + y) * y - x) / (y**2.0 + 1),
    n=2,
    broadcast=True,
)

# Scalars (Python and numpy) and arrays on either side; the left-hand ones go through the
# reflected operators (__radd__, __rsub__, ...). Constants take the tensor's dtype.
SCALARS = (2, -1.5, np.float64(2.5), np.float32(0.5), np.int64(3))
ARITHMETIC = st.sampled_from([operator.add, operator.sub, operator.mul, operator.truediv])


def constant_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    array = hnp.arrays(np.float64, shapes[0][-1:], elements=st.floats(0.5, 2.0))
    return st.fixed_dictionaries({"c": st.sampled_from(SCALARS) | array, "op": ARITHMETIC})


test_constant_right = op_test(lambda x, c, op: op(x, c), params=constant_params)
test_constant_left = op_test(lambda x, c, op: op(c, x), params=constant_params, domain=NONZERO)
test_pow_integer_exponent = op_test(
    lambda x, c: x**c, params=constants(2, 3, -1, np.int64(2), np.float64(3.0)), domain=NONZERO
)
test_pow_fractional_exponent = op_test(lambda x, c: x**c, params=constants(0.5, -0.5, 1.5), domain=POSITIVE)
test_rpow = op_test(lambda x, c: c**x, params=constants(2, 0.5, np.e, np.float64(3.0), np.int64(2)))


# ---- matmul --------------------------------------------------------------------------------------
test_matmul = op_test(
    lambda x, y: x @ y,
    n=2,
    shapes=hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=2, max_side=MAX_SIDE
    ).map(lambda b: b.input_shapes),
)


@pytest.mark.parametrize(
    "shapes",
    [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 2)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (5, 3, 4)),
        ((2, 1, 2, 3), (4, 3, 2)),
        ((3,), (2, 3, 4)),
        ((2, 3, 4), (4,)),
    ],
)
def test_matmul_cases(shapes: Shapes) -> None:
    rng = np.random.default_rng(0)
    check_op(operator.matmul, operator.matmul, [rng.standard_normal(s) for s in shapes], {})


# ---- reductions ----------------------------------------------------------------------------------
test_sum = op_test(lambda x, **kw: x.sum(**kw), params=reduce_params)
test_mean = op_test(lambda x, **kw: x.mean(**kw), params=reduce_params)
test_amax = op_test(
    lambda x, **kw: x.amax(**kw), lambda x, **kw: x.max(**kw), params=reduce_params, domain=DISTINCT
)
test_amin = op_test(
    lambda x, **kw: x.amin(**kw), lambda x, **kw: x.min(**kw), params=reduce_params, domain=DISTINCT
)

# ---- elementwise ---------------------------------------------------------------------------------
test_exp = op_test(lambda x: x.exp(), np.exp)
test_log = op_test(lambda x: x.log(), np.log, domain=POSITIVE)
test_sqrt = op_test(lambda x: x.sqrt(), np.sqrt, domain=POSITIVE)
test_tanh = op_test(lambda x: x.tanh(), np.tanh)
test_sigmoid = op_test(lambda x: x.sigmoid(), sigmoid_ref, domain=Domain(-10.0, 10.0))
test_relu = op_test(lambda x: x.relu(), lambda x: np.maximum(x, 0), domain=KINK0)
test_abs = op_test(lambda x: x.abs(), np.abs, domain=KINK0)
test_clip = op_test(
    lambda x, bounds: x.clip(*bounds),
    lambda x, bounds: np.clip(x, *bounds),
    params=lambda s: st.fixed_dictionaries({"bounds": st.sampled_from([(-1, 1), (-1, None), (None, 1)])}),
    domain=Domain(avoid=(-1.0, 1.0)),
)
test_functional_relu = op_test(F.relu, lambda x: np.maximum(x, 0), domain=KINK0)
test_functional_sigmoid = op_test(F.sigmoid, sigmoid_ref, domain=Domain(-10.0, 10.0))
test_functional_tanh = op_test(F.tanh, np.tanh)


# ---- shape ops -----------------------------------------------------------------------------------
test_reshape = op_test(lambda x, shape: x.reshape(shape), params=reshape_params)
test_transpose = op_test(
    lambda x, d0, d1: x.transpose(d0, d1),
    lambda x, d0, d1: np.swapaxes(x, d0, d1),
    params=lambda s: st.fixed_dictionaries(
        {"d0": st.integers(-len(s[0]), len(s[0]) - 1), "d1": st.integers(-len(s[0]), len(s[0]) - 1)}
    ),
    min_dims=1,
)


def permutations(shapes: Shapes) -> st.SearchStrategy[dict]:
    """An order of the axes, each written as a non-negative or a negative axis."""
    ndim = len(shapes[0])
    order = st.permutations(range(ndim)).flatmap(
        lambda p: st.tuples(*[st.sampled_from([a, a - ndim]) for a in p])
    )
    return order.map(lambda axes: {"axes": axes})


test_permute = op_test(
    lambda x, axes: x.permute(axes),
    lambda x, axes: np.transpose(x, axes),
    params=permutations,
)
test_dot_t = op_test(lambda x: x.T)  # `.T` reverses all axes, as in numpy
test_unsqueeze = op_test(
    lambda x, axis: x.unsqueeze(axis),
    lambda x, axis: np.expand_dims(x, axis),
    params=lambda s: one_axis(s, 1),
)


def squeeze_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    ones = [a for a, n in enumerate(shapes[0]) if n == 1]
    ndim = len(shapes[0])
    return st.fixed_dictionaries({"axis": st.sampled_from([None] + ones + [a - ndim for a in ones])})


test_squeeze = op_test(
    lambda x, axis: x.squeeze(axis),
    lambda x, axis: np.squeeze(x, axis),
    shapes=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2).map(lambda s: (s,)),
    params=squeeze_params,
)


def flatten_dims(shapes: Shapes) -> st.SearchStrategy[dict]:
    """start <= end, each written as a non-negative or a negative axis."""
    ndim = len(shapes[0])
    pair = st.tuples(st.integers(0, ndim - 1), st.integers(0, ndim - 1)).map(sorted)
    either = pair.flatmap(lambda se: st.tuples(*[st.sampled_from([a, a - ndim]) for a in se]))
    return either.map(lambda se: {"start": se[0], "end": se[1]})


def flatten_ref(x: np.ndarray, start: int, end: int) -> np.ndarray:
    start, end = range(x.ndim)[start], range(x.ndim)[end]  # Python's own negative indexing
    return x.reshape(x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :])


test_flatten = op_test(
    lambda x, start, end: x.flatten(start, end), flatten_ref, params=flatten_dims, min_dims=1
)
test_index = op_test(lambda x, idx: x[idx], params=index_params)
test_concatenate = op_test(
    lambda *xs, axis: tg.concatenate(list(xs), axis=axis),
    lambda *xs, axis: np.concatenate(xs, axis=axis),
    n=3,
    shapes=join_shapes(3),
    params=join_axes,
)
test_stack = op_test(
    lambda *xs, axis: tg.stack(list(xs), axis=axis),
    lambda *xs, axis: np.stack(xs, axis=axis),
    n=2,
    params=lambda s: one_axis(s, 1),
)
test_where = op_test(
    lambda x, y, cond: tg.where(cond, x, y),
    lambda x, y, cond: np.where(cond, x, y),
    n=2,
    broadcast=True,
    params=lambda s: st.fixed_dictionaries({"cond": hnp.arrays(np.bool_, np.broadcast_shapes(*s))}),
)
test_where_constant_branch = op_test(
    lambda x, cond: tg.where(cond, 0.5, x),
    lambda x, cond: np.where(cond, 0.5, x),
    params=lambda s: st.fixed_dictionaries({"cond": hnp.arrays(np.bool_, s[0])}),
)


# ---- functional: linear, softmax family and losses -----------------------------------------------
def linear_shapes(n: int) -> st.SearchStrategy[Shapes]:
    """x (*batch, in) with 0 to 2 batch axes, W (out, in) and, for n = 3, b (out,)."""
    batch = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=MAX_SIDE)
    side = st.integers(1, MAX_SIDE)
    return st.tuples(batch, side, side).map(lambda s: ((*s[0], s[1]), (s[2], s[1]), (s[2],))[:n])


test_linear = op_test(F.linear, lambda x, w, b: x @ w.T + b, n=3, shapes=linear_shapes(3))
test_linear_without_bias = op_test(F.linear, lambda x, w: x @ w.T, n=2, shapes=linear_shapes(2))
test_softmax = op_test(
    lambda x, axis: F.softmax(x, axis),
    lambda x, axis: np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True),
    params=one_axis,
    min_dims=1,
)
test_log_softmax = op_test(
    lambda x, axis: F.log_softmax(x, axis), log_softmax_ref, params=one_axis, min_dims=1
)
test_logsumexp = op_test(
    lambda x, axis, keepdims: F.logsumexp(x, axis, keepdims),
    lambda x, axis, keepdims: np.log(np.exp(x).sum(axis=axis, keepdims=keepdims)),
    params=lambda s: st.fixed_dictionaries(
        {"axis": st.integers(-len(s[0]), len(s[0]) - 1), "keepdims": st.booleans()}
    ),
    min_dims=1,
)
test_cross_entropy = op_test(
    F.cross_entropy,
    lambda z, target, reduction: reduce_ref(
        -log_softmax_ref(z, 1)[np.arange(len(target)), target], reduction
    ),
    shapes=MATRICES,
    params=class_targets,
)
test_nll_loss = op_test(
    F.nll_loss,
    lambda x, target, reduction: reduce_ref(-x[np.arange(len(target)), target], reduction),
    shapes=MATRICES,
    params=class_targets,
)
test_mse_loss = op_test(
    F.mse_loss, lambda x, y, reduction: reduce_ref((x - y) ** 2, reduction), n=2, params=reduction
)
test_binary_cross_entropy = op_test(
    F.binary_cross_entropy,
    lambda p, y, reduction: reduce_ref(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction),
    n=2,
    params=reduction,
    domain=[PROBABILITY, Domain(0.0, 1.0)],
)
test_binary_cross_entropy_with_logits = op_test(
    F.binary_cross_entropy_with_logits,
    lambda z, y, reduction: reduce_ref(
        -(y * np.log(sigmoid_ref(z)) + (1 - y) * np.log(1 - sigmoid_ref(z))), reduction
    ),
    n=2,
    params=reduction,
    domain=[Domain(-5.0, 5.0), Domain(0.0, 1.0)],
)


# ---- the ops PyTorch users reach for (issue 12) --------------------------------------------------
INTEGERS = Domain(avoid=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0), margin=0.05)  # floor, ceil, trunc jump there
HALVES = Domain(avoid=(-2.5, -1.5, -0.5, 0.5, 1.5, 2.5), margin=0.05)  # round jumps there

test_sin = op_test(lambda x: x.sin(), np.sin, second=True)
test_cos = op_test(lambda x: x.cos(), np.cos, second=True)
test_tan = op_test(lambda x: x.tan(), np.tan, domain=Domain(-1.2, 1.2), second=True)
test_log2 = op_test(lambda x: x.log2(), np.log2, domain=POSITIVE, second=True)
test_log10 = op_test(lambda x: x.log10(), np.log10, domain=POSITIVE, second=True)
test_log1p = op_test(lambda x: x.log1p(), np.log1p, domain=Domain(-0.9, 3.0), second=True)
test_exp2 = op_test(lambda x: x.exp2(), np.exp2, second=True)
test_expm1 = op_test(lambda x: x.expm1(), np.expm1, second=True)
test_rsqrt = op_test(lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), domain=POSITIVE, second=True)
test_square = op_test(lambda x: x.square(), lambda x: x * x, second=True)
test_reciprocal = op_test(lambda x: x.reciprocal(), lambda x: 1 / x, domain=NONZERO, second=True)
test_floor = op_test(lambda x: x.floor(), np.floor, domain=INTEGERS)
test_ceil = op_test(lambda x: x.ceil(), np.ceil, domain=INTEGERS)
test_trunc = op_test(lambda x: x.trunc(), np.trunc, domain=INTEGERS)
test_round = op_test(lambda x: x.round(), np.round, domain=HALVES)
test_sign = op_test(lambda x: x.sign(), np.sign, domain=KINK0)
# ties share the gradient, which is what central differences see at a tie of two (the gradient
# jumps there, so there are no second derivatives to check)
test_maximum = op_test(lambda x, y: x.maximum(y), np.maximum, n=2, broadcast=True, domain=Domain(grid=0.5))
test_minimum = op_test(
    lambda x, y: tg.minimum(x, y), np.minimum, n=2, broadcast=True, domain=Domain(grid=0.5)
)


def spread_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """dim (not the empty tuple: a variance needs two values), keepdim, and correction or unbiased."""
    dims = axes(len(shapes[0])).filter(lambda a: a != ())
    bias = st.fixed_dictionaries({"correction": st.sampled_from([0, 1])}) | st.fixed_dictionaries(
        {"unbiased": st.booleans()}
    )
    return st.tuples(st.fixed_dictionaries({"dim": dims, "keepdim": st.booleans()}), bias).map(
        lambda d: {**d[0], **d[1]}
    )


def var_ref(
    x: np.ndarray, dim: Any, keepdim: bool, correction: int = 1, unbiased: bool | None = None
) -> np.ndarray:
    ddof = correction if unbiased is None else int(unbiased)
    return np.var(x, axis=dim, ddof=ddof, keepdims=keepdim)


SPREAD_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=MAX_SIDE).map(lambda s: (s,))
test_var = op_test(
    lambda x, **kw: x.var(**kw),
    var_ref,
    shapes=SPREAD_SHAPES,
    params=spread_params,
    domain=DISTINCT,
    second=True,
)
test_std = op_test(
    lambda x, **kw: x.std(**kw),
    lambda x, **kw: np.sqrt(var_ref(x, **kw)),
    shapes=SPREAD_SHAPES,
    params=spread_params,
    domain=DISTINCT,
    second=True,
)


def norm_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """p, dim and keepdim, and signs for the values (drawn distinct and positive: no ties of |x|
    for the inf-norm, no zero for the 1-norm's kink)."""
    signs = hnp.arrays(np.float64, shapes[0], elements=st.sampled_from([-1.0, 1.0]))
    return st.fixed_dictionaries(
        {
            "p": st.sampled_from([1, 2, 3, 1.5, "fro", math.inf, -math.inf]),
            "dim": axes(len(shapes[0])),
            "keepdim": st.booleans(),
            "signs": signs,
        }
    )


def norm_ref(x: np.ndarray, p: Any, dim: Any, keepdim: bool, signs: np.ndarray) -> np.ndarray:
    a = np.abs(x * signs)
    if p in (math.inf, -math.inf):
        return (a.max if p > 0 else a.min)(axis=dim, keepdims=keepdim)
    p = 2 if p == "fro" else p
    return (a**p).sum(axis=dim, keepdims=keepdim) ** (1 / p)


test_norm = op_test(
    lambda x, p, dim, keepdim, signs: (x * signs).norm(p, dim, keepdim),
    norm_ref,
    params=norm_params,
    domain=Domain(0.2, 3.0, distinct=True),
    second=True,
)
test_cumsum = op_test(
    lambda x, axis: x.cumsum(axis),
    lambda x, axis: np.cumsum(x, axis),
    params=one_axis,
    min_dims=1,
    second=True,
)


def dims_to_flip(shapes: Shapes) -> st.SearchStrategy[dict]:
    ndim = len(shapes[0])
    return st.lists(st.integers(-ndim, ndim - 1), max_size=ndim, unique_by=lambda a: a % ndim).map(
        lambda d: {"dims": tuple(d)}
    )


test_flip = op_test(
    lambda x, dims: x.flip(dims), lambda x, dims: np.flip(x, dims), params=dims_to_flip, min_dims=1
)


def repeat_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """One count per dim and up to two more in front (repeat), or fewer (tile's leading ones)."""
    ndim = len(shapes[0])
    counts = st.lists(st.integers(1, 3), min_size=max(ndim, 1) if ndim else 0, max_size=ndim + 2)
    return st.fixed_dictionaries({"sizes": counts.map(tuple), "tile": st.booleans()})


def repeat_ref(x: np.ndarray, sizes: Shape, tile: bool) -> np.ndarray:
    return np.tile(x, sizes)  # numpy's tile is PyTorch's repeat, and pads short counts as tile does


test_repeat = op_test(
    lambda x, sizes, tile: x.tile(sizes) if tile else x.repeat(sizes),
    repeat_ref,
    params=lambda s: repeat_params(s).filter(lambda d: d["tile"] or len(d["sizes"]) >= len(s[0])),
)


def expand_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """A size for each dim (-1 keeps it; a dim of 1 may grow) and up to two new ones in front."""
    each = [st.sampled_from([-1, n]) if n != 1 else st.sampled_from([-1, 1, 2, 3]) for n in shapes[0]]
    lead = st.lists(st.integers(1, 3), max_size=2)
    return st.tuples(lead, st.tuples(*each)).map(lambda ls: {"sizes": (*ls[0], *ls[1])})


def expand_ref(x: np.ndarray, sizes: Shape) -> np.ndarray:
    lead = len(sizes) - x.ndim
    shape = tuple(n if s == -1 else s for s, n in zip(sizes, (0,) * lead + x.shape))
    return np.broadcast_to(x, shape)


test_expand = op_test(
    lambda x, sizes: x.expand(sizes),
    expand_ref,
    shapes=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3).map(lambda s: (s,)),
    params=expand_params,
)


def piece_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """A dim, a piece count or size, and which piece to take."""
    ndim = len(shapes[0])
    return st.fixed_dictionaries(
        {
            "dim": st.integers(-ndim, ndim - 1),
            "k": st.integers(1, 5),
            "i": st.integers(0, 4),
            "chunk": st.booleans(),
        }
    )


def piece(x: Any, dim: int, k: int, i: int, chunk: bool) -> Any:
    """Piece i (modulo their number) of x.chunk(k, dim) or x.split(k, dim)."""
    pieces = x.chunk(k, dim) if chunk else x.split(k, dim)
    return pieces[i % len(pieces)]


def piece_ref(x: np.ndarray, dim: int, k: int, i: int, chunk: bool) -> np.ndarray:
    """PyTorch's rule written out: split pieces of k; chunk pieces of ⌈n / k⌉."""
    n = x.shape[dim]
    size = -(-n // k) if chunk else k
    starts = list(range(0, n, size))
    start = starts[i % len(starts)]
    return np.take(x, range(start, min(start + size, n)), axis=dim)


test_chunk_and_split = op_test(piece, piece_ref, params=piece_params, min_dims=1)


def diagonal(shapes: Shapes) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"diagonal": st.integers(-2, 2), "upper": st.booleans()})


test_tril_triu = op_test(
    lambda x, diagonal, upper: x.triu(diagonal) if upper else x.tril(diagonal),
    lambda x, diagonal, upper: np.triu(x, diagonal) if upper else np.tril(x, diagonal),
    params=diagonal,
    min_dims=2,
)


def gather_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    """A dim, and an index no larger than x off that dim, with values (repeats too) along it."""
    shape = shapes[0]
    ndim = len(shape)

    def index(dim: int) -> st.SearchStrategy[dict]:
        sides = st.tuples(
            *[st.integers(1, 4) if a == dim else st.integers(1, n) for a, n in enumerate(shape)]
        )
        idx = sides.flatmap(lambda s: hnp.arrays(np.int64, s, elements=st.integers(0, shape[dim] - 1)))
        return idx.map(lambda i: {"dim": dim - ndim if dim % 2 else dim, "index": i})

    return st.integers(0, ndim - 1).flatmap(index)


def gather_ref(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """out[i, j, k] = x[index[i, j, k], j, k] for dim 0, and so on: a loop, slowly."""
    out = np.empty(index.shape)
    for pos in np.ndindex(index.shape):
        src = list(pos)
        src[dim] = index[pos]
        out[pos] = x[tuple(src)]
    return out


test_gather = op_test(
    lambda x, dim, index: x.gather(dim, index), gather_ref, params=gather_params, min_dims=1
)


def fill_params(shapes: Shapes) -> st.SearchStrategy[dict]:
    masks = hnp.broadcastable_shapes(shapes[0], max_dims=len(shapes[0])).flatmap(
        lambda s: hnp.arrays(np.bool_, s)
    )
    return st.fixed_dictionaries({"mask": masks, "value": st.sampled_from([0.0, -1.5, 1e9])})


test_masked_fill = op_test(
    lambda x, mask, value: x.masked_fill(mask, value),
    lambda x, mask, value: np.where(mask, value, x),
    params=fill_params,
)
test_t = op_test(lambda x: x.t(), lambda x: x.T, max_dims=2)
test_clone = op_test(lambda x: x.clone(), np.copy)
