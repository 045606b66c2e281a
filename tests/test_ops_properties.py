"""Property tests for every op: the forward equals the numpy expression, and the gradient equals
central finite differences in float64 (`tg.gradcheck`, which projects on a random upstream
gradient, so one check covers the whole vector-Jacobian product).

One factory, `op_test`, turns (op, numpy reference, input domains, number of inputs, whether
they broadcast) into a hypothesis test, in the spirit of MyGrad's test factories. Values are
drawn away from kinks and singularities; tests/test_traps.py probes the kinks themselves.
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
    with `distinct`, spread evenly in the drawn order so that no two are within eps (no ties)."""

    lo: float = -3.0
    hi: float = 3.0
    avoid: tuple[float, ...] = ()
    margin: float = 0.1
    distinct: bool = False


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
    return x


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
    fn: Callable[..., Tensor], ref: Callable[..., Any], arrays: Sequence[np.ndarray], kw: dict
) -> None:
    """fn on float64 tensors equals ref on the arrays, and its gradients pass gradcheck."""
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*xs, **kw)
    expected = np.asarray(ref(*arrays, **kw))
    assert (out.shape, out.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda *ts: fn(*ts, **kw), xs)


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
) -> Callable[..., None]:
    """A hypothesis test of `fn(*xs, **params)` on n float64 tensors against `ref` on their arrays.

    `ref=None` evaluates the same expression on numpy arrays (operators, methods, indexing).
    Shapes are equal, or mutually broadcastable with `broadcast`, unless `shapes` is given;
    `params(shapes)` draws the non-differentiable arguments (axes, indices, targets).
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
        check_op(fn, ref, arrays, kw)

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
