"""Convolution, pooling and padding against independent truth.

One hypothesis factory, `window_test`, draws a sliding-window configuration (batch, channels,
groups, sizes, kernel, stride, padding, dilation, ceil_mode) and checks an op three ways: its
values against a slow loop written here from the definition, its gradients against central
differences in float64 (`tg.gradcheck`), and its second derivatives by gradchecking the
gradient itself (taken with create_graph). Then the backward passes derived by hand, the
errors, and dtypes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import assume, given, settings
from splitting import split_into

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu import functional as F
from tinygrad_edu.ops import conv as conv_ops

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


class Seeded:
    """A drawn case whose arrays come from its own seed (hypothesis shrinks the seed too)."""

    seed: int
    threads = 1  # the ops split their work over this many threads (see splitting.py)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


@dataclass(frozen=True)
class Case(Seeded):
    """One sliding-window configuration; 1-D cases have 1-tuples."""

    n: int
    groups: int
    c_in: int
    c_out: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    output_padding: tuple[int, ...]
    seed: int
    threads: int = 1

    @property
    def dims(self) -> int:
        return len(self.size)


@st.composite
def cases(draw: st.DrawFn, pool: bool = False, dims: tuple[int, ...] = (1, 2)) -> Case:
    """Tiny configurations where the (dilated) kernel fits the padded input at least once; for
    pools, padding is at most half the kernel (PyTorch's rule)."""
    d = draw(st.sampled_from(dims))

    def per_axis(lo: int, hi: int) -> tuple[int, ...]:
        return draw(st.tuples(*[st.integers(lo, hi)] * d))

    kernel, stride, dilation = per_axis(1, 3), per_axis(1, 3), per_axis(1, 2)
    padding = tuple(draw(st.integers(0, k // 2 if pool else 2)) for k in kernel)
    if pool and draw(st.booleans()):  # windows side by side, as in max_pool2d(x, 2): its own fast path
        stride, dilation, padding = kernel, (1,) * d, (0,) * d
    span = [dl * (k - 1) + 1 for k, dl in zip(kernel, dilation)]
    size = tuple(max(1, e - 2 * p + draw(st.integers(0, 3))) for e, p in zip(span, padding))
    groups = draw(st.integers(1, 2))
    output_padding = tuple(draw(st.integers(0, max(s, dl) - 1)) for s, dl in zip(stride, dilation))
    return Case(
        n=draw(st.integers(1, 2)),
        groups=groups,
        c_in=groups * draw(st.integers(1, 2)),
        c_out=groups * draw(st.integers(1, 2)),
        size=size,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=draw(st.booleans()),
        output_padding=output_padding,
        seed=draw(st.integers(0, 2**16)),
        threads=draw(st.sampled_from([1, 3])),
    )


def distinct(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values at least 0.1 apart (a shuffled grid): no ties, so a max stays put under ±eps."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.1 - 1.0).reshape(shape)


def window_test(
    op: Callable[..., Tensor],
    reference: Callable[..., np.ndarray],
    inputs: Callable[[Any], list[np.ndarray]],
    pool: bool = False,
    dims: tuple[int, ...] = (1, 2),
    valid: Callable[[Any], bool] = lambda c: True,
    strategy: st.SearchStrategy[Any] | None = None,
    max_examples: int = 30,
) -> Callable[..., None]:
    """A hypothesis test of `op(*tensors, case)` against `reference(*arrays, case)`, in float64:
    values to 1e-10, first derivatives by gradcheck, second derivatives by gradchecking
    `x ↦ grad(Σ op(x) ⊙ v, inputs, create_graph=True)` in every input and in v. Cases come
    from `cases(pool, dims)` unless another `strategy` is given (of Seeded cases)."""

    @settings(max_examples=max_examples)
    @given(case=cases(pool=pool, dims=dims) if strategy is None else strategy)
    def test(case: Any) -> None:
        assume(valid(case))
        with split_into(case.threads):
            check(case)

    def check(case: Any) -> None:
        arrays = inputs(case)
        xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = op(*xs, case)
        expected = reference(*arrays, case)
        assert out.shape == expected.shape and out.dtype == np.float64
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        assert tg.gradcheck(lambda *ts: op(*ts, case), xs)
        v = Tensor(case.rng().standard_normal(out.shape), requires_grad=True)

        def first_derivatives(*ts: Tensor) -> tuple[Tensor, ...]:
            return tg.grad((op(*ts[:-1], case) * ts[-1]).sum(), list(ts[:-1]), create_graph=True)

        assert tg.gradcheck(first_derivatives, [*xs, v])

    return test


# ---- references: the definitions, written as loops ------------------------------------------------
def lift(a: np.ndarray, dims: int) -> np.ndarray:
    """A 1-D case as 2-D with height 1 (for the references only)."""
    return a[:, :, None] if dims == 1 else a


def pairs(t: tuple[int, ...], fill: int) -> tuple[int, int]:
    return (fill, *t) if len(t) == 1 else t


def conv_loop(x: np.ndarray, w: np.ndarray, b: np.ndarray, c: Case) -> np.ndarray:
    """y[n, o, i, j] = Σ x_padded[n, channels of o's group, window at (i, j)] · w[o] + b[o]."""
    x, w = lift(x, c.dims), lift(w, c.dims)
    (sh, sw), (ph, pw), (dh, dw) = pairs(c.stride, 1), pairs(c.padding, 0), pairs(c.dilation, 1)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    c_out, cg, kh, kw = w.shape
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], c_out, oh, ow))
    for n, o, i, j in itertools.product(range(x.shape[0]), range(c_out), range(oh), range(ow)):
        g = o // (c_out // c.groups)
        window = xp[n, g * cg : (g + 1) * cg, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw :: dw][
            ..., :kw
        ]
        y[n, o, i, j] = (window * w[o]).sum() + b[o]
    return y[:, :, 0] if c.dims == 1 else y


def conv_transpose_loop(x: np.ndarray, w: np.ndarray, b: np.ndarray, c: Case) -> np.ndarray:
    """Each input pixel adds x · w[c] onto the output pixels its window would have come from."""
    _, c_in, h, wd = x.shape
    _, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = c.stride, c.padding, c.dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + c.output_padding[0] + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + c.output_padding[1] + 1
    y = np.zeros((x.shape[0], cg * c.groups, oh, ow)) + b[:, None, None]
    for n, ci, i, j, o, a, e in itertools.product(*map(range, (x.shape[0], c_in, h, wd, cg, kh, kw))):
        r, q = i * sh - ph + a * dh, j * sw - pw + e * dw
        if 0 <= r < oh and 0 <= q < ow:
            y[n, ci // (c_in // c.groups) * cg + o, r, q] += x[n, ci, i, j] * w[ci, o, a, e]
    return y


def pool_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's documented output size; with ceil_mode the last window must start inside."""
    span = d * (k - 1) + 1
    out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def pool_loop(x: np.ndarray, c: Case, reduce: Callable[[list[float], list[int]], float], dilated: bool):
    """Apply `reduce(values inside the input, positions along each axis)` to every window."""
    x = lift(x, c.dims)
    k, s, p = pairs(c.kernel, 1), pairs(c.stride, 1), pairs(c.padding, 0)
    d = pairs(c.dilation, 1) if dilated else (1, 1)
    outs = [pool_size(n, *a, c.ceil_mode) for n, a in zip(x.shape[2:], zip(k, s, p, d))]
    y = np.zeros(x.shape[:2] + tuple(outs))
    for n, ch, i, j in itertools.product(*map(range, y.shape)):
        rows = [i * s[0] - p[0] + a * d[0] for a in range(k[0])]
        cols = [j * s[1] - p[1] + e * d[1] for e in range(k[1])]
        y[n, ch, i, j] = reduce(x[n, ch], rows, cols)
    return y[:, :, 0] if c.dims == 1 else y


def max_loop(x: np.ndarray, c: Case) -> np.ndarray:
    def window_max(plane: np.ndarray, rows: list[int], cols: list[int]) -> float:
        h, w = plane.shape
        return max([plane[r, q] for r in rows for q in cols if 0 <= r < h and 0 <= q < w], default=-np.inf)

    return pool_loop(x, c, window_max, dilated=True)


def avg_loop(x: np.ndarray, c: Case, count_include_pad: bool) -> np.ndarray:
    """Sum over the window's pixels inside the input, divided by the number of its positions
    inside the padded input (count_include_pad) or inside the input."""
    x2 = lift(x, c.dims)
    h, w = x2.shape[2:]
    ph, pw = pairs(c.padding, 0)

    def window_mean(plane: np.ndarray, rows: list[int], cols: list[int]) -> float:
        inside = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
        padded = [(r, q) for r in rows for q in cols if -ph <= r < h + ph and -pw <= q < w + pw]
        return sum(plane[r, q] for r, q in inside) / len(padded if count_include_pad else inside)

    return pool_loop(x, c, window_mean, dilated=False)


# ---- the family -------------------------------------------------------------------------------
def conv_inputs(transposed: bool) -> Callable[[Case], list[np.ndarray]]:
    """Input, weight and bias for a case; the transposed convolution's weight is (C_in, C_out/groups, ...)."""

    def make(c: Case) -> list[np.ndarray]:
        r = c.rng()
        first, second = (c.c_in, c.c_out) if transposed else (c.c_out, c.c_in)
        return [
            r.standard_normal((c.n, c.c_in, *c.size)),
            r.standard_normal((first, second // c.groups, *c.kernel)),
            r.standard_normal(c.c_out),
        ]

    return make


def conv(x: Tensor, w: Tensor, b: Tensor, c: Case) -> Tensor:
    fn = F.conv1d if c.dims == 1 else F.conv2d
    return fn(x, w, b, stride=c.stride, padding=c.padding, dilation=c.dilation, groups=c.groups)


def conv_transpose(x: Tensor, w: Tensor, b: Tensor, c: Case) -> Tensor:
    kw = {"stride": c.stride, "padding": c.padding, "output_padding": c.output_padding}
    return F.conv_transpose2d(x, w, b, groups=c.groups, dilation=c.dilation, **kw)


def pool_inputs(c: Case) -> list[np.ndarray]:
    return [distinct((c.n, c.c_in, *c.size), c.rng())]


def max_pool(x: Tensor, c: Case) -> Tensor:
    fn = F.max_pool1d if c.dims == 1 else F.max_pool2d
    return fn(x, c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode)


def avg_pool(count_include_pad: bool) -> Callable[[Tensor, Case], Tensor]:
    def fn(x: Tensor, c: Case) -> Tensor:
        pool = F.avg_pool1d if c.dims == 1 else F.avg_pool2d
        return pool(x, c.kernel, c.stride, c.padding, c.ceil_mode, count_include_pad)

    return fn


def transposable(c: Case) -> bool:
    """Whether the output of the transposed convolution, (n-1) s - 2p + d (k-1) + e + 1, is non-empty."""
    geometry = zip(c.size, c.stride, c.padding, c.dilation, c.kernel, c.output_padding)
    return min((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in geometry) >= 1


def has_real_pixel(c: Case) -> bool:
    """Whether every pooling window holds a pixel of the input (with dilation and padding a
    window can fall between them; its max is -inf, as in PyTorch)."""
    x = np.zeros((1, 1, *c.size))
    return bool(np.isfinite(max_loop(x, c)).all())


test_conv = window_test(conv, conv_loop, conv_inputs(transposed=False))
test_conv_transpose2d = window_test(
    conv_transpose, conv_transpose_loop, conv_inputs(transposed=True), dims=(2,), valid=transposable
)
test_max_pool = window_test(max_pool, max_loop, pool_inputs, pool=True, valid=has_real_pixel)
test_avg_pool_counting_padding = window_test(
    avg_pool(True), lambda x, c: avg_loop(x, c, True), pool_inputs, pool=True
)
test_avg_pool_not_counting_padding = window_test(
    avg_pool(False), lambda x, c: avg_loop(x, c, False), pool_inputs, pool=True
)


@dataclass(frozen=True)
class PadCase(Seeded):
    shape: tuple[int, ...]
    pad: tuple[int, ...]
    mode: str
    value: float | None
    seed: int


@st.composite
def pad_cases(draw: st.DrawFn) -> PadCase:
    """Amounts in [-2, 3] for 1 to 3 trailing axes (negative crops), within each mode's limits."""
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = draw(st.integers(1, 3))
    ndim = draw(st.integers(k, k + 1) if mode == "constant" else st.integers(k + 1, k + 2))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    pad: list[int] = []
    for n in reversed(shape[ndim - k :]):  # PyTorch's order: the last axis first
        most = min(3, {"reflect": n - 1, "circular": n}.get(mode, 3))
        before = draw(st.integers(-min(2, n - 1), most))
        kept = n - max(-before, 0)  # crops leave at least one element
        after = draw(st.integers(-min(2, kept - 1), most))
        if mode == "circular":  # it wraps around what the crops leave
            kept -= max(-after, 0)
            before, after = min(before, kept), min(after, kept)
        pad += [before, after]
    value = draw(st.sampled_from([None, 0.0, -1.5])) if mode == "constant" else None
    return PadCase(shape, tuple(pad), mode, value, draw(st.integers(0, 2**16)))


def pad_reference(x: np.ndarray, c: PadCase) -> np.ndarray:
    """np.pad with the matching mode. Negative amounts: PyTorch crops after padding in reflect and
    replicate (the mirror is taken about the uncropped edge), before padding in circular."""
    k = len(c.pad) // 2
    widths = [(0, 0)] * (x.ndim - k) + [(c.pad[2 * i], c.pad[2 * i + 1]) for i in reversed(range(k))]
    positive = [(max(b, 0), max(e, 0)) for b, e in widths]

    def crop(a: np.ndarray) -> np.ndarray:
        return a[tuple(slice(max(-b, 0), n - max(-e, 0)) for n, (b, e) in zip(a.shape, widths))]

    numpy_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[
        c.mode
    ]
    kw = {"constant_values": c.value or 0.0} if c.mode == "constant" else {}
    if c.mode == "circular":
        return np.pad(crop(x), positive, mode="wrap")
    return crop(np.pad(x, positive, mode=numpy_mode, **kw))


test_pad = window_test(
    lambda x, c: F.pad(x, c.pad, c.mode, c.value),
    pad_reference,
    lambda c: [c.rng().standard_normal(c.shape)],
    strategy=pad_cases(),
)


@dataclass(frozen=True)
class AdaptiveCase(Seeded):
    shape: tuple[int, ...]
    output_size: tuple[int | None, int | None]
    seed: int


def adaptive_loop(x: np.ndarray, c: AdaptiveCase) -> np.ndarray:
    """Window i of n inputs pooled to m outputs: [⌊i n / m⌋, ⌈(i + 1) n / m⌉) (PyTorch's)."""
    *lead, h, w = x.shape
    oh, ow = (n if o is None else o for o, n in zip(c.output_size, (h, w)))
    y = np.zeros((*lead, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        rows = slice(i * h // oh, -(-(i + 1) * h // oh))
        cols = slice(j * w // ow, -(-(j + 1) * w // ow))
        y[..., i, j] = x[..., rows, cols].mean(axis=(-2, -1))
    return y


test_adaptive_avg_pool2d = window_test(
    lambda x, c: F.adaptive_avg_pool2d(x, c.output_size),
    adaptive_loop,
    lambda c: [c.rng().standard_normal(c.shape)],
    strategy=st.builds(
        AdaptiveCase,
        st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 5)).map(lambda s: (1, *s)),
        st.tuples(st.none() | st.integers(1, 4), st.none() | st.integers(1, 4)),
        st.integers(0, 2**16),
    ),
)


# ---- backward passes derived by hand ----------------------------------------------------------
@pytest.mark.parametrize("stride", [1, 2])
def test_conv1d_backward_by_hand(stride: int) -> None:
    """y[t] = Σ_i w[i] x[s t + i]. Then dL/dx[u] = Σ_t dy[t] w[u - s t]: dy spread out with
    s - 1 zeros between its entries (s = 1: dy itself), then fully correlated with the flipped
    kernel; and dL/dw[i] = Σ_t dy[t] x[s t + i]: the valid correlation of x with that spread dy."""
    rng = np.random.default_rng(stride)
    x, w = rng.standard_normal(12), rng.standard_normal(4)
    y_len = (len(x) - len(w)) // stride + 1
    dy = rng.standard_normal(y_len)
    spread = np.zeros(stride * (y_len - 1) + 1)
    spread[::stride] = dy
    dx = np.correlate(np.pad(spread, len(w) - 1), w[::-1], mode="valid")
    dx = np.pad(dx, (0, len(x) - len(dx)))  # the tail that no window reaches gets no gradient
    dw = np.correlate(x[: len(spread) + len(w) - 1], spread, mode="valid")

    X, W = Tensor(x.reshape(1, 1, -1), requires_grad=True), Tensor(w.reshape(1, 1, -1), requires_grad=True)
    y = F.conv1d(X, W, stride=stride)
    np.testing.assert_allclose(y.data.ravel(), np.correlate(x, w, mode="valid")[::stride], rtol=0, atol=1e-12)
    y.backward(dy.reshape(1, 1, -1))
    np.testing.assert_allclose(X.grad.ravel(), dx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(W.grad.ravel(), dw, rtol=0, atol=1e-12)


def test_max_pool_routes_to_the_first_maximum() -> None:
    """Each window's gradient goes to its first maximum in row-major order (PyTorch's pick)."""
    x = np.array([[1, 3, 2, 2], [3, 0, 2, 1], [0, 5, 7, 7], [5, 1, 7, 0]], dtype=np.float64)
    X = Tensor(x.reshape(1, 1, 4, 4), requires_grad=True)
    y = F.max_pool2d(X, 2)
    np.testing.assert_array_equal(y.data.reshape(2, 2), [[3, 2], [5, 7]])
    y.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = [[0, 1, 2, 0], [0, 0, 0, 0], [0, 3, 4, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(X.grad.reshape(4, 4), expected)


def test_max_pool_sums_where_windows_overlap() -> None:
    """x = [1, 5, 2, 4, 3], windows of 3 with stride 1: 5 is the max of two windows, 4 of one."""
    X = Tensor(np.array([[[1.0, 5.0, 2.0, 4.0, 3.0]]]), requires_grad=True)
    y = F.max_pool1d(X, 3, stride=1)
    np.testing.assert_array_equal(y.data.ravel(), [5, 5, 4])
    y.backward(np.array([[[1.0, 10.0, 100.0]]]))
    np.testing.assert_array_equal(X.grad.ravel(), [0, 11, 0, 100, 0])


def first_max_loop(x: np.ndarray, g: np.ndarray, c: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Max-pooling by its definition with PyTorch's pick, and its gradient: going through the
    window's pixels in row-major order, a pixel takes the pick when it is greater than the pick so
    far or NaN (PyTorch's CPU kernel: `val > maxval || isnan(val)`), so the first maximum wins
    among ties and the last NaN among NaNs; that pixel alone gets the window's upstream gradient g
    (summed over the windows that pick it). Also the picked pixels' flat indices in their (H, W)
    planes."""
    x, g = lift(x, c.dims), lift(g, c.dims)
    k, s, p, d = pairs(c.kernel, 1), pairs(c.stride, 1), pairs(c.padding, 0), pairs(c.dilation, 1)
    h, w = x.shape[2:]
    y, gx, where = np.zeros(g.shape), np.zeros(x.shape), np.zeros(g.shape, dtype=np.int64)
    for n, ch, i, j in itertools.product(*map(range, g.shape)):
        rows = [i * s[0] - p[0] + a * d[0] for a in range(k[0])]
        cols = [j * s[1] - p[1] + e * d[1] for e in range(k[1])]
        taps = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
        values = [x[n, ch, r, q] for r, q in taps]
        pick = 0
        for t, v in enumerate(values):
            if v > values[pick] or v != v:
                pick = t
        y[n, ch, i, j] = values[pick]
        gx[(n, ch, *taps[pick])] += g[n, ch, i, j]
        where[n, ch, i, j] = taps[pick][0] * w + taps[pick][1]
    return (y[:, :, 0], gx[:, :, 0], where[:, :, 0]) if c.dims == 1 else (y, gx, where)


@settings(max_examples=60)
@given(case=cases(pool=True), nans=st.integers(0, 4), bad_g=st.sampled_from([None, np.inf, -np.inf, np.nan]))
def test_max_pool_routes_ties_and_nans_as_the_loop(case: Case, nans: int, bad_g: float | None) -> None:
    """Inputs with many ties (values -1, 0, 1) and maybe NaNs (several in one window: the last is
    picked), an upstream gradient maybe holding inf or NaN: max-pool's values, indices and gradient
    equal the loop's, on every path (windows side by side, overlapping, padded, dilated)."""
    assume(has_real_pixel(case))
    r = case.rng()
    x = r.integers(-1, 2, (case.n, case.c_in, *case.size)).astype(np.float64)
    x.flat[r.integers(x.size, size=nans)] = np.nan
    k, s, p, d = (
        pairs(a, fill)
        for a, fill in ((case.kernel, 1), (case.stride, 1), (case.padding, 0), (case.dilation, 1))
    )
    outs = [pool_size(n, *a, case.ceil_mode) for n, a in zip(lift(x, case.dims).shape[2:], zip(k, s, p, d))]
    g = r.standard_normal((case.n, case.c_in, *outs[2 - case.dims :]))
    if bad_g is not None:
        g.flat[r.integers(g.size)] = bad_g
    y_loop, gx_loop, where_loop = first_max_loop(x, g, case)
    X = Tensor(x, requires_grad=True)
    pool = F.max_pool1d if case.dims == 1 else F.max_pool2d
    y, where = pool(
        X, case.kernel, case.stride, case.padding, case.dilation, case.ceil_mode, return_indices=True
    )
    y.backward(g)
    np.testing.assert_array_equal(y.data, y_loop)
    np.testing.assert_array_equal(where.data, where_loop)
    np.testing.assert_allclose(X.grad, gx_loop, rtol=1e-14, atol=0)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_spreads_the_gradient(count_include_pad: bool) -> None:
    """Windows of 3, stride 2, padding 1 over 5 pixels: [-1, 1], [1, 3], [3, 5]. Each pixel gets
    g / count from every window that holds it; without counting padding, the first and last
    windows count 2 pixels, not 3."""
    g = np.array([3.0, 6.0, 12.0])
    n0, n1, n2 = (3, 3, 3) if count_include_pad else (2, 3, 2)
    expected = [g[0] / n0, g[0] / n0 + g[1] / n1, g[1] / n1, g[1] / n1 + g[2] / n2, g[2] / n2]
    X = Tensor(np.arange(5.0).reshape(1, 1, 5), requires_grad=True)
    y = F.avg_pool1d(X, 3, stride=2, padding=1, count_include_pad=count_include_pad)
    np.testing.assert_allclose(y.data.ravel(), [1 / n0, 6 / n1, 7 / n2], rtol=0, atol=1e-12)
    y.backward(g.reshape(1, 1, 3))
    np.testing.assert_allclose(X.grad.ravel(), expected, rtol=0, atol=1e-12)


# ---- errors -------------------------------------------------------------------------------------
def zeros(*shape: int) -> Tensor:
    return Tensor(np.zeros(shape, dtype=np.float32))


ERRORS = [
    (
        lambda: F.conv2d(zeros(8, 3, 28, 28), zeros(16, 1, 5, 5)),
        re.escape("conv2d: input of shape (8, 3, 28, 28) has 3 channels, ")
        + re.escape("the weight of shape (16, 1, 5, 5) expects 1"),
    ),
    (
        lambda: F.conv2d(zeros(28, 28), zeros(16, 1, 5, 5)),
        r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input, got input of shape \(28, 28\)",
    ),
    (
        lambda: F.conv1d(zeros(2, 3, 4, 4), zeros(1, 3, 2)),
        r"conv1d: expected a 2-D .* input of shape \(2, 3, 4, 4\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 3, 8, 8), zeros(4, 3, 3)),
        r"conv2d: the weight must be 4-D .* shape \(4, 3, 3\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 4, 8, 8), zeros(3, 2, 3, 3), groups=2),
        r"conv2d: groups=2 does not divide the output channels \(3\) of input of shape \(1, 4, 8, 8\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 3, 8, 8), zeros(4, 1, 3, 3), groups=3),
        r"conv2d: groups=3 does not divide the output channels \(4\)",
    ),
    (
        lambda: F.conv_transpose2d(zeros(1, 3, 8, 8), zeros(3, 1, 3, 3), groups=2),
        r"conv_transpose2d: groups=2 does not divide the input channels \(3\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 7, 7), padding=1),
        r"conv2d: the kernel of size \(7, 7\) .* larger than the padded input of size \(6, 6\) "
        r"\(input of shape \(1, 1, 4, 4\)\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 1, 9, 9), zeros(1, 1, 3, 3), dilation=(1, 5)),
        r"conv2d: the kernel of size \(3, 3\) \(spanning \(3, 11\) with dilation\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), stride=0),
        r"conv2d: stride must be at least 1, got \(0, 0\)",
    ),
    (
        lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), dilation=(1, 0)),
        "conv2d: dilation must be at least 1",
    ),
    (
        lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), padding=-1),
        "conv2d: padding must be at least 0",
    ),
    (
        lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), padding="full"),
        "conv2d: padding must be an int",
    ),
    (lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), stride=2, padding="same"), "needs stride 1"),
    (lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), groups=0), "conv2d: groups must be a positive"),
    (
        lambda: F.conv2d(zeros(1, 1, 4, 4), zeros(2, 1, 3, 3), zeros(3)),
        r"conv2d: bias of shape \(3,\) does not match the 2 output channels \(weight of shape \(2, 1, 3, 3",
    ),
    (
        lambda: F.conv_transpose2d(zeros(1, 1, 1, 1), zeros(1, 1, 1, 1), padding=1),
        r"conv_transpose2d: the output size \(-1, -1\) is empty for input of shape \(1, 1, 1, 1\)",
    ),
    (
        lambda: F.conv_transpose2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=2, output_padding=2),
        r"conv_transpose2d: output_padding \(2, 2\) must be smaller than the stride \(2, 2\)",
    ),
    (
        lambda: F.max_pool2d(zeros(1, 1, 4, 4), 2, padding=2),
        r"max_pool2d: padding \(2, 2\) must be at most half",
    ),
    (
        lambda: F.max_pool2d(zeros(1, 1, 2, 2), 3),
        r"max_pool2d: the kernel of size \(3, 3\) .* input of size \(2, 2\) \(input of shape \(1, 1, 2",
    ),
    (lambda: F.max_pool2d(zeros(4, 4), 2), r"max_pool2d: expected a 3-D .* got input of shape \(4, 4\)"),
    (lambda: F.avg_pool1d(zeros(1, 1, 4), 0), r"avg_pool1d: kernel_size must be at least 1, got \(0,\)"),
    (lambda: F.avg_pool2d(zeros(1, 1, 4, 4), 2, stride=0), "avg_pool2d: stride must be at least 1"),
    (
        lambda: F.adaptive_avg_pool2d(zeros(1, 1, 4, 4), 0),
        r"adaptive_avg_pool2d: output_size must be at least 1",
    ),
    (lambda: F.pad(zeros(2, 3), (1, 1, 1)), r"pad: needs an even number of amounts"),
    (
        lambda: F.pad(zeros(2, 3), (-2, -2)),
        r"pad: padding \(-2, -2\) crops more than the input of shape \(2, 3\)",
    ),
    (lambda: F.pad(zeros(1, 2, 3), (3, 0), mode="reflect"), r"pad: mode 'reflect' pads axis 2 .* \(3, 0\)"),
    (lambda: F.pad(zeros(1, 2, 3), (1, 0), mode="wrap"), r"pad: mode must be 'constant', 'reflect'"),
    (lambda: F.pad(zeros(1, 2, 3), (-2, -1), mode="reflect"), r"pad: padding \(-2, -1\) crops more than"),
    (
        lambda: F.pad(zeros(1, 2, 3), (1, 0), mode="replicate", value=1.0),
        r"pad: mode 'replicate' takes no value",
    ),
]


@pytest.mark.parametrize(("call", "message"), ERRORS, ids=range(len(ERRORS)))
def test_errors_name_the_op_and_the_shapes(call: Callable[[], Tensor], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_adaptive_output_size_is_two_sizes() -> None:
    """Three sizes for two axes are refused (they were cut to the first two), as in PyTorch."""
    with pytest.raises(
        TypeError, match=r"adaptive_avg_pool2d: output_size must be .* 2 ints, got \(2, 2, 7\)"
    ):
        F.adaptive_avg_pool2d(zeros(1, 1, 4, 4), (2, 2, 7))


def test_dtype_mismatch_and_integer_input_are_refused() -> None:
    with pytest.raises(TypeError, match="conv2d: input of dtype float64 and weight of dtype float32 differ"):
        F.conv2d(Tensor(np.zeros((1, 1, 3, 3))), zeros(1, 1, 2, 2))
    with pytest.raises(TypeError, match="max_pool2d: input of dtype int64 is not floating-point"):
        F.max_pool2d(Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)


# ---- dtypes, shapes, views -------------------------------------------------------------------------
OPS32 = {
    "conv2d": lambda x: F.conv2d(x, Tensor(np.ones((2, 3, 2, 2), np.float32), requires_grad=True), padding=1),
    "conv1d": lambda x: F.conv1d(x[:, :, 0], Tensor(np.ones((2, 3, 2), np.float32)), stride=2),
    "conv_transpose2d": lambda x: F.conv_transpose2d(x, Tensor(np.ones((3, 2, 2, 2), np.float32)), stride=2),
    "max_pool2d": lambda x: F.max_pool2d(x, 2),
    "avg_pool2d": lambda x: F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    "max_pool1d": lambda x: F.max_pool1d(x[:, :, 0], 2),
    "avg_pool1d": lambda x: F.avg_pool1d(x[:, :, 0], 2, ceil_mode=True),
    "pad": lambda x: F.pad(x, (1, -1, 2, 2), mode="reflect"),
}


@pytest.mark.parametrize("name", OPS32)
def test_float32_stays_float32(name: str) -> None:
    """Outputs, gradients and second derivatives keep float32 (constants must not promote)."""
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(np.float32), requires_grad=True)
    y = OPS32[name](x)
    assert y.dtype == np.float32
    (gx,) = tg.grad((y * y).sum(), x, create_graph=True)
    assert gx.dtype == np.float32
    (ggx,) = tg.grad(gx.sum(), x)
    assert ggx.dtype == np.float32


def test_unbatched_input_is_one_sample() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    np.testing.assert_array_equal(
        F.conv2d(Tensor(x), Tensor(w)).data, F.conv2d(Tensor(x[None]), Tensor(w)).data[0]
    )
    np.testing.assert_array_equal(F.max_pool2d(Tensor(x), 2).data, F.max_pool2d(Tensor(x[None]), 2).data[0])


def test_patches_are_a_read_only_view() -> None:
    """The patches share the input's memory, so writing through them would corrupt it: refused."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    patches = conv_ops.Window((2, 2)).patches(x)
    assert np.shares_memory(patches, x) and not patches.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        patches[0, 0, 0, 0, 0, 0] = 1.0


def test_same_padding_keeps_the_size() -> None:
    """padding='same' with an even kernel: the extra row and column go after (PyTorch's choice)."""
    x = Tensor(np.arange(25.0).reshape(1, 1, 5, 5))
    y = F.conv2d(x, Tensor(np.ones((1, 1, 2, 2))), padding="same")
    assert y.shape == (1, 1, 5, 5)
    assert y.data[0, 0, 0, 0] == 0 + 1 + 5 + 6 and y.data[0, 0, 4, 4] == 24


def test_max_pool_return_indices() -> None:
    """Each maximum's flat index in its (H, W) plane, the padding not counted."""
    x = Tensor(np.array([[[[1.0, 9.0, 2.0], [8.0, 3.0, 7.0], [4.0, 5.0, 6.0]]]]))
    y, idx = F.max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(y.data[0, 0], [[1, 9, 9, 2], [8, 9, 9, 7], [8, 8, 7, 7], [4, 5, 6, 6]])
    np.testing.assert_array_equal(idx.data[0, 0], [[0, 1, 1, 2], [3, 1, 1, 5], [3, 3, 5, 5], [6, 7, 8, 8]])


# ---- layers ---------------------------------------------------------------------------------------
def test_layer_parameters_have_pytorchs_names_shapes_and_init() -> None:
    """PyTorch's documented init: U(-√k, √k) with k = groups / (C_in·kH·kW) for Conv2d, and
    k = groups / (C_out·kH·kW) for ConvTranspose2d (its weight is (C_in, C_out/groups, kH, kW))."""
    conv = tg.nn.Conv2d(16, 32, (5, 3), groups=2)
    convt = tg.nn.ConvTranspose2d(16, 24, 3, groups=4, bias=False)
    conv1 = tg.nn.Conv1d(4, 6, 7, dtype=np.float64)
    shapes = {k: (v.shape, v.dtype) for k, v in conv.state_dict().items()}
    assert shapes == {"weight": ((32, 8, 5, 3), np.float32), "bias": ((32,), np.float32)}
    assert {k: v.shape for k, v in convt.state_dict().items()} == {"weight": (16, 6, 3, 3)}
    assert conv1.weight.dtype == np.float64 and conv1.weight.shape == (6, 4, 7)
    for layer, k in ((conv, 2 / (16 * 15)), (convt, 4 / (24 * 9)), (conv1, 1 / (4 * 7))):
        for p in layer.parameters():
            assert np.abs(p.data).max() <= np.sqrt(k)
        assert np.abs(layer.weight.data).max() > 0.9 * np.sqrt(k)  # the whole interval is used


def test_layer_reprs_are_pytorchs() -> None:
    """The strings torch 2.13 prints for the same layers."""
    nn = tg.nn
    layers = {
        nn.Conv2d(1, 6, 5, padding=2): "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))",
        nn.Conv2d(
            4, 8, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False, padding_mode="reflect"
        ): (
            "Conv2d(4, 8, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), dilation=(2, 2), groups=2, "
            "bias=False, padding_mode=reflect)"
        ),
        nn.Conv2d(1, 2, 3, padding="same"): "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=same)",
        nn.Conv1d(2, 4, 3): "Conv1d(2, 4, kernel_size=(3,), stride=(1,))",
        nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1): (
            "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))"
        ),
        nn.MaxPool2d(2): "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        nn.MaxPool1d(3): "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)",
        nn.AvgPool2d(3, 1, 1, True, False, 2): "AvgPool2d(kernel_size=3, stride=1, padding=1)",
        nn.AvgPool1d(3): "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))",
        nn.AdaptiveAvgPool2d((None, 3)): "AdaptiveAvgPool2d(output_size=(None, 3))",
        nn.ZeroPad2d(2): "ZeroPad2d((2, 2, 2, 2))",
    }
    for layer, expected in layers.items():
        assert repr(layer) == expected


def test_padding_mode_circular() -> None:
    """Kernel [1, 1, 1] over [1, 2, 3, 4] wrapped around: [4+1+2, 1+2+3, 2+3+4, 3+4+1]."""
    conv = tg.nn.Conv1d(1, 1, 3, padding=1, bias=False, padding_mode="circular")
    conv.weight.data[...] = 1
    np.testing.assert_array_equal(
        conv(Tensor(np.array([[[1.0, 2, 3, 4]]], np.float32))).data.ravel(), [7, 6, 9, 8]
    )


def test_conv_transpose_output_size_picks_the_output_padding() -> None:
    """Stride 2 maps both 7 and 8 pixels to 4 (kernel 3, padding 1): output_size says which."""
    up = tg.nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    x = Tensor(np.ones((1, 1, 4, 4), np.float32))
    assert up(x).shape == (1, 1, 7, 7) and up(x, output_size=(8, 7)).shape == (1, 1, 8, 7)
    with pytest.raises(ValueError, match=r"output_size \(9, 9\) is not between \(7, 7\) and \(8, 8\)"):
        up(x, output_size=(9, 9))


def test_layer_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"):
        tg.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        tg.nn.Conv2d(3, 4, 3, padding_mode="wrap")
    with pytest.raises(ValueError, match="Conv1d: out_channels must be a positive integer"):
        tg.nn.Conv1d(3, 0, 3)


LAYER_ERRORS = [
    (lambda: tg.nn.Conv2d(1, 1, 0), r"Conv2d: kernel_size must be at least 1, got \(0, 0\)"),
    (lambda: tg.nn.Conv1d(1, 1, 3, stride=-1), r"Conv1d: stride must be at least 1, got \(-1,\)"),
    (lambda: tg.nn.Conv2d(1, 1, 3, stride=2, padding="same"), "Conv2d: padding='same' needs stride 1"),
    (
        lambda: tg.nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2),
        r"ConvTranspose2d: output_padding \(2, 2\) must be smaller than the stride \(2, 2\)",
    ),
    (lambda: tg.nn.MaxPool2d(0), r"MaxPool2d: kernel_size must be at least 1, got \(0, 0\)"),
    (lambda: tg.nn.MaxPool1d(2, padding=2), r"MaxPool1d: padding \(2,\) must be at most half"),
    (lambda: tg.nn.AvgPool2d(2, stride=0), r"AvgPool2d: stride must be at least 1, got \(0, 0\)"),
    (lambda: tg.nn.AvgPool2d(2, divisor_override=0), "AvgPool2d: divisor_override must be at least 1"),
    (lambda: tg.nn.AvgPool1d(2, padding=-1), r"AvgPool1d: padding must be at least 0, got \(-1,\)"),
    (lambda: tg.nn.AdaptiveAvgPool2d((None, 0)), r"AdaptiveAvgPool2d: output_size must be at least 1"),
]


@pytest.mark.parametrize(("make", "message"), LAYER_ERRORS, ids=range(len(LAYER_ERRORS)))
def test_layer_sizes_are_checked_in_the_constructor(make: Callable[[], Any], message: str) -> None:
    """A bad size raises where it is given, naming the layer, not at the first forward."""
    with pytest.raises(ValueError, match=message):
        make()


class SmallCNN(tg.nn.Module):
    def __init__(self) -> None:
        nn = tg.nn
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU()
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def test_cnn_checkpoint_round_trip(tmp_path) -> None:
    """A trained CNN saved and loaded into a fresh one (other init) computes the same outputs."""
    tg.manual_seed(0)
    model = SmallCNN()
    x = Tensor(np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32))
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), np.array([0, 1, 2, 0, 1])).backward()
        opt.step()
    tg.save(model.state_dict(), tmp_path / "cnn.npz")
    tg.manual_seed(1)
    fresh = SmallCNN()
    assert not np.array_equal(fresh(x).data, model(x).data)
    fresh.load_state_dict(tg.load(tmp_path / "cnn.npz"))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    keys = ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias"]
    assert list(fresh.state_dict()) == [*keys, "head.2.weight", "head.2.bias"]
