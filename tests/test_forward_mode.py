"""tg.jvp (forward mode), tg.vjp and tg.jacobian against two independent truths: the full Jacobian
built row by row with tg.grad (reverse mode, checked by gradcheck everywhere else), and central
finite differences in float64. One hypothesis test draws shapes, values, tangents and cotangents
for a family of functions (elementwise, broadcasting, matmul, reductions, softmax, two outputs)."""

from __future__ import annotations

from collections.abc import Callable

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import tinygrad_edu as tg
from tinygrad_edu import Tensor

Shapes = tuple[tuple[int, ...], ...]
MAX_SIDE = 3


def same(n: int, min_dims: int = 0) -> st.SearchStrategy[Shapes]:
    shape = hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=MAX_SIDE)
    return shape.map(lambda s: (s,) * n)


def broadcast(n: int) -> st.SearchStrategy[Shapes]:
    return hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=MAX_SIDE).map(
        lambda b: b.input_shapes
    )


def matmul() -> st.SearchStrategy[Shapes]:
    side = st.integers(1, 4)
    return st.tuples(side, side, st.sampled_from([(), (1,), (2,)])).map(
        lambda s: ((s[0], s[1]), (s[1],) + s[2])
    )


# (name, function of float64 Tensors -> Tensor or tuple of Tensors, input shapes): smooth everywhere
FAMILY: list[tuple[str, Callable, st.SearchStrategy[Shapes]]] = [
    ("elementwise", lambda x: (x.tanh() * x.sigmoid() + 0.1 * x * x).exp(), same(1)),
    ("broadcast", lambda a, b: a * b + a / (1 + b * b), broadcast(2)),
    ("matmul", lambda W, x: (W @ x).tanh(), matmul()),
    ("softmax", lambda x: x.softmax(axis=-1), same(1, min_dims=1)),
    ("reduce", lambda x: (x * x).sum(axis=0) + x.mean(), same(1, min_dims=1)),
    ("two outputs", lambda a, b: ((a.exp() * b).sigmoid(), (a * b).sum()), same(2)),
]


def as_tuple(out) -> tuple[Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def jacobian_by_grad(fn, arrays: list[np.ndarray]) -> list[list[np.ndarray]]:
    """J[k][i] of shape out_k.shape + x_i.shape: one tg.grad per output element (reverse mode)."""
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    outs = as_tuple(fn(*xs))
    J = []
    for o in outs:
        rows = []
        for j in range(o.numel()):
            e = np.zeros(o.numel())
            e[j] = 1
            rows.append(tg.grad(o, xs, e.reshape(o.shape), retain_graph=True, allow_unused=True))
        J.append(
            [
                np.stack([np.zeros(x.shape) if r[i] is None else r[i].numpy() for r in rows]).reshape(
                    o.shape + x.shape
                )
                for i, x in enumerate(xs)
            ]
        )
    return J


def apply(J: np.ndarray, t: np.ndarray) -> np.ndarray:
    """J t, for J of shape out.shape + x.shape and t of shape x.shape."""
    return np.tensordot(J, t, axes=t.ndim)


def central_differences(fn, arrays, tangents, eps: float = 1e-6) -> list[np.ndarray]:
    """(f(x + εt) - f(x - εt)) / 2ε for each output: the directional derivative along t."""
    plus = as_tuple(fn(*(Tensor(a + eps * t) for a, t in zip(arrays, tangents))))
    minus = as_tuple(fn(*(Tensor(a - eps * t) for a, t in zip(arrays, tangents))))
    return [(p.numpy() - m.numpy()) / (2 * eps) for p, m in zip(plus, minus)]


def _arrays(data, shapes: Shapes, label: str) -> list[np.ndarray]:
    floats = st.floats(-2, 2, allow_nan=False, allow_subnormal=False)
    return [
        data.draw(hnp.arrays(np.float64, s, elements=floats), label=f"{label}{i}")
        for i, s in enumerate(shapes)
    ]


@pytest.mark.parametrize(("name", "fn", "shapes"), FAMILY, ids=[case[0] for case in FAMILY])
@given(data=st.data())
def test_modes_match_the_jacobian_and_finite_differences(name, fn, shapes, data):
    in_shapes = data.draw(shapes, label="shapes")
    arrays = _arrays(data, in_shapes, "x")
    tangents = _arrays(data, in_shapes, "t")
    J = jacobian_by_grad(fn, arrays)
    single_in = len(arrays) == 1
    outs, jv = tg.jvp(fn, arrays[0] if single_in else arrays, tangents[0] if single_in else tangents)
    outs, jv = as_tuple(outs), as_tuple(jv)
    expected_outs = as_tuple(fn(*(Tensor(a) for a in arrays)))
    fd = central_differences(fn, arrays, tangents)
    for k, (o, d) in enumerate(zip(outs, jv)):
        np.testing.assert_array_equal(o.numpy(), expected_outs[k].numpy())
        assert d.shape == o.shape and d.dtype == np.float64 and not d.requires_grad
        np.testing.assert_allclose(
            d.numpy(), sum(apply(J[k][i], t) for i, t in enumerate(tangents)), rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(d.numpy(), fd[k], rtol=1e-6, atol=1e-8)
    cotangents = _arrays(data, [o.shape for o in outs], "v")
    _, vj = tg.vjp(fn, arrays[0] if single_in else arrays, cotangents[0] if len(outs) == 1 else cotangents)
    for i, g in enumerate(as_tuple(vj)):
        expected = sum(np.tensordot(v, J[k][i], axes=v.ndim) for k, v in enumerate(cotangents))
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-10, atol=1e-12)
    if single_in and len(outs) == 1:
        for strategy in ("reverse-mode", "forward-mode"):
            np.testing.assert_allclose(
                tg.jacobian(fn, arrays[0], strategy).numpy(), J[0][0], rtol=1e-10, atol=1e-12
            )


def test_jvp_by_hand_and_leaves_grad_alone():
    # f(x, y) = (x·y, x²): J = [[y, x], [2x, 0]]; along t = (1, 0) that is (y, 2x)
    x = Tensor(np.float64(3.0), requires_grad=True)
    y = Tensor(np.float64(-2.0))
    (fxy, fx2), (d1, d2) = tg.jvp(lambda a, b: (a * b, a * a), [x, y], [1.0, 0.0])
    assert (fxy.item(), fx2.item(), d1.item(), d2.item()) == (-6.0, 9.0, -2.0, 6.0)
    assert x.grad is None and y.grad is None
    _, (gx, gy) = tg.vjp(lambda a, b: a * b, [x, y])  # v = 1 for one element: the gradient (y, x)
    assert (gx.item(), gy.item()) == (-2.0, 3.0)


def test_float32_stays_float32_and_no_grad_outside_does_not_matter():
    x = np.array([0.5, -1.0], dtype=np.float32)
    with tg.no_grad():
        out, d = tg.jvp(lambda a: a.tanh(), x, np.ones(2))
    assert out.dtype == d.dtype == np.float32
    np.testing.assert_allclose(d.numpy(), 1 - np.tanh(x) ** 2, rtol=1e-6)


def test_outputs_that_do_not_depend_on_the_inputs_have_zero_derivatives():
    const = Tensor(np.array([1.0, 2.0]))
    _, (d_used, d_const) = tg.jvp(lambda a: (a * 2, const * 3), np.ones(3), np.full(3, 0.5))
    np.testing.assert_array_equal(d_used.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(d_const.numpy(), [0.0, 0.0])
    _, (ga, gb) = tg.vjp(lambda a, b: a.sum(), [np.ones(2), np.ones(3)])
    np.testing.assert_array_equal(ga.numpy(), np.ones(2))
    np.testing.assert_array_equal(gb.numpy(), np.zeros(3))
    _, d = tg.jvp(lambda a: const.sum(), np.ones(3), np.ones(3))
    assert d.item() == 0.0


def test_jacobian_of_a_linear_map_is_its_matrix():
    A = np.arange(6.0).reshape(2, 3)
    for strategy in ("reverse-mode", "forward-mode"):
        np.testing.assert_array_equal(tg.jacobian(lambda x: Tensor(A) @ x, np.ones(3), strategy).numpy(), A)
    assert tg.jacobian(lambda x: x * 2, np.ones(0)).shape == (0, 0)


def test_bad_arguments_name_the_function_and_the_shapes():
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2,\), its tensor has shape \(3,\)"):
        tg.jvp(lambda a: a, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: 1 tangents for 2 inputs"):
        tg.jvp(lambda a, b: a * b, [np.ones(3), np.ones(3)], [np.ones(3)])
    with pytest.raises(TypeError, match=r"jvp: input 0 has dtype int64"):
        tg.jvp(lambda a: a, np.arange(3), np.ones(3))
    with pytest.raises(
        TypeError, match=r"vjp: the function must return a Tensor or a tuple of Tensors, got ndarray"
    ):
        tg.vjp(lambda a: a.numpy(), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"vjp: v is needed for outputs of shapes \(3,\)"):
        tg.vjp(lambda a: a * 2, np.ones(3))
    with pytest.raises(ValueError, match="jacobian: strategy must be"):
        tg.jacobian(lambda a: a, np.ones(3), "sideways")
