"""Graph semantics: accumulation, reuse, no_grad/detach, deep graphs, memory, graph freeing,
higher-order gradients with `tg.grad`, dtypes and the independence of leaf gradients."""

import gc
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, hooks
from tinygrad_edu import functional as F


def leaf(*values: float) -> Tensor:
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- accumulation and reuse ----------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls() -> None:
    x = leaf(1.0, -2.0, 3.0)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0, 6.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 6 + 2 * x.data)


def test_diamond() -> None:
    """d = (2a) · exp(a): both paths from a meet again at d, dd/da = 2 exp(a) + 2a exp(a)."""
    a = leaf(-1.0, 0.5, 2.0)
    b, c = a * 2, a.exp()
    (b * c).sum().backward()
    np.testing.assert_allclose(a.grad, 2 * np.exp(a.data) * (1 + a.data), rtol=1e-15)


def test_intermediate_reused() -> None:
    a = leaf(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad[0] == 4.0
    p = leaf(1.5)
    q = p * p
    (q * q + q).backward()  # p⁴ + p²
    np.testing.assert_allclose(p.grad, 4 * 1.5**3 + 2 * 1.5, rtol=1e-15)


def test_tensor_used_many_times() -> None:
    a = leaf(2.0)
    s = a
    for _ in range(50):
        s = s + a * a
    s.backward()  # a + 50 a², derivative 1 + 100 a
    assert a.grad[0] == 201.0


# ---- no_grad, detach, leaves without grad --------------------------------------------------------
def test_no_grad_records_nothing() -> None:
    x = leaf(1.0, 2.0)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2 + 1
        with tg.enable_grad():
            z = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_no_grad_as_decorator_and_after_an_exception() -> None:
    @tg.no_grad()
    def infer(x: Tensor) -> Tensor:
        return x.exp()

    x = leaf(1.0)
    assert not infer(x).requires_grad
    assert not infer(x).requires_grad  # the decorator works on every call
    assert tg.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert tg.is_grad_enabled()


def test_no_grad_decorator_survives_recursion() -> None:
    @tg.no_grad()
    def depth(n: int) -> int:  # re-enters the same decorator instance
        assert not tg.is_grad_enabled()
        return depth(n - 1) + 1 if n else 0

    assert depth(3) == 3
    assert tg.is_grad_enabled()


def test_grad_mode_is_per_thread() -> None:
    """As in PyTorch: no_grad in one thread leaves the others recording; a new thread records."""
    inside, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def infer() -> None:
        with tg.no_grad():
            seen.append((leaf(1.0) * 2).requires_grad)
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=infer)
    worker.start()
    try:
        assert inside.wait(10)
        assert tg.is_grad_enabled() and (leaf(1.0) * 2).requires_grad  # while the worker is in no_grad
    finally:
        release.set()
        worker.join(10)
    assert seen == [False]

    with tg.no_grad():
        fresh = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        fresh.start()
        fresh.join(10)
    assert seen == [False, True]


def test_no_grad_decorator_called_from_two_threads_at_once() -> None:
    """Each call restores its own thread's mode, even when the calls do not end in the order they
    began (a worker leaves first, while the main thread, inside no_grad, is still in the call)."""
    worker_in, main_in, worker_out = threading.Event(), threading.Event(), threading.Event()
    after: dict[str, bool] = {}

    @tg.no_grad()
    def infer(in_worker: bool) -> None:
        if in_worker:
            worker_in.set()
            main_in.wait(10)
        else:
            main_in.set()
            worker_out.wait(10)

    def worker() -> None:
        infer(True)
        after["worker"] = tg.is_grad_enabled()
        worker_out.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert worker_in.wait(10)
    with tg.no_grad():
        infer(False)
        after["main, in no_grad"] = tg.is_grad_enabled()
    thread.join(10)
    assert after == {"worker": True, "main, in no_grad": False}
    assert tg.is_grad_enabled()


def test_backward_rule_that_runs_its_own_backward() -> None:
    """The engine's grad modes nest: a rule may call tg.grad, and each pass restores the mode it found."""

    class ExpByAutograd(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return np.exp(x)

        @staticmethod
        def backward(ctx, g):
            """d exp(x)/dx = exp(x), obtained here by differentiating x.exp() inside this backward"""
            assert not tg.is_grad_enabled()  # the outer pass records nothing
            with tg.enable_grad():
                x = Tensor(ctx.inputs[0].data, requires_grad=True)
                y = x.exp().sum()
                (dx,) = tg.grad(y, x, create_graph=True, retain_graph=True)  # inner pass records
                assert tg.is_grad_enabled()
            (dx_again,) = tg.grad(y, x)  # re-enters the outer pass's own (non-recording) switch
            assert not tg.is_grad_enabled()
            np.testing.assert_array_equal(dx_again.data, dx.data)
            return g * dx.detach()

    x = leaf(1.0, -2.0, 0.5)
    ExpByAutograd.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, -2.0, 0.5]), rtol=1e-12)
    assert tg.is_grad_enabled()


def test_switches_closed_out_of_order_restore_only_their_own_flag() -> None:
    def suspended_in_no_grad():
        with tg.no_grad():
            yield

    gen = suspended_in_no_grad()
    next(gen)  # grad off, and the generator's no_grad stays open
    with tg.detect_anomaly():
        next(gen, None)  # the no_grad closes inside detect_anomaly
        assert tg.is_grad_enabled()
        assert tg.is_anomaly_enabled()  # detect_anomaly's flag survives
    assert tg.is_grad_enabled() and not tg.is_anomaly_enabled()


def test_detach_shares_data_and_cuts_the_graph() -> None:
    x = leaf(1.0, 2.0, 3.0)
    d = x.detach()
    assert np.shares_memory(d.data, x.data)
    assert not d.requires_grad and d.grad_fn is None
    (d * x).sum().backward()  # only the x factor is differentiated
    np.testing.assert_array_equal(x.grad, x.data)


def test_leaves_without_requires_grad_get_no_grad_and_no_work() -> None:
    w = Tensor(np.array([1.0, 2.0]))
    x = leaf(3.0, 4.0)
    c = w.exp().log()  # built from constants only: not recorded at all
    assert c.grad_fn is None and not c.requires_grad
    seen = []
    with hooks.register_hook(lambda t, node, g, in_grads: seen.append((type(node).__name__, in_grads))):
        (c * x).sum().backward()
    assert w.grad is None and c.grad is None
    np.testing.assert_allclose(x.grad, [1.0, 2.0], rtol=1e-15)
    assert [name for name, _ in seen] == ["Sum", "Mul"]
    assert seen[1][1][0] is None  # Mul computed no gradient for the constant factor


# ---- deep graphs and memory ----------------------------------------------------------------------
def test_deep_chain_has_no_recursion_limit() -> None:
    x = leaf(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad, [1.0001**10_000], rtol=1e-10)
    np.testing.assert_allclose(y.data, [0.5 * 1.0001**10_000], rtol=1e-10)


def test_deep_graph_is_freed_without_backward() -> None:
    y = leaf(1.0)
    for _ in range(10_000):
        y = y + 1.0
    del y  # dropping a 10,000-deep graph must not overflow the C stack either


def _live(cls: type) -> int:
    return sum(isinstance(o, cls) for o in gc.get_objects())


def test_memory_stays_flat_over_training_steps() -> None:
    """200 steps of a small MLP with the cyclic GC switched off: every graph, used by backward or
    not, must be freed by reference counting alone (no cycles), so live Tensors, graph nodes and
    traced memory stay flat."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 20)).astype(np.float32), rng.integers(0, 5, 32)
    params = [
        Tensor(rng.standard_normal(s).astype(np.float32) * 0.3, requires_grad=True)
        for s in ((20, 16), (16,), (16, 5), (5,))
    ]

    def loss() -> Tensor:
        w1, b1, w2, b2 = params
        return F.cross_entropy((Tensor(x) @ w1 + b1).relu() @ w2 + b2, y)

    def step() -> None:
        loss().backward()
        with tg.no_grad():
            for p in params:
                p.data -= 0.1 * p.grad
                p.grad = None
        loss().item()  # an evaluation outside no_grad: a recorded graph that backward never sees

    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        for _ in range(20):
            step()
        counts, mem = (_live(Tensor), _live(tg.Function)), tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            step()
        assert (_live(Tensor), _live(tg.Function)) == counts
        assert tracemalloc.get_traced_memory()[0] - mem < 64 * 1024
    finally:
        tracemalloc.stop()
        gc.enable()


# ---- graph lifetime ------------------------------------------------------------------------------
def test_backward_frees_the_graph() -> None:
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 4 * x.data)


# ---- tg.grad and higher order --------------------------------------------------------------------
def hessian(f, x: Tensor) -> np.ndarray:
    """Row i of the Hessian is the gradient of (∂f/∂x)_i."""
    (g,) = tg.grad(f(x), x, create_graph=True)
    return np.stack([tg.grad(g[i], x, retain_graph=True)[0].data for i in range(x.shape[0])])


def test_grad_returns_tensors_and_leaves_dot_grad_alone() -> None:
    x = leaf(1.0, -2.0)
    (g,) = tg.grad((x**3).sum(), x)
    assert isinstance(g, Tensor) and not g.requires_grad
    np.testing.assert_array_equal(g.data, 3 * x.data**2)
    assert x.grad is None


def test_second_and_third_derivatives_of_cubic() -> None:
    x = leaf(1.0, -2.0, 0.5)
    (g,) = tg.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = tg.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(h.data, 6 * x.data, rtol=1e-15)
    (t,) = tg.grad(h.sum(), x)
    np.testing.assert_allclose(t.data, [6.0, 6.0, 6.0], rtol=1e-15)
    np.testing.assert_allclose(hessian(lambda x: (x**3).sum(), x), np.diag(6 * x.data), rtol=1e-15)


def test_hessian_vector_product_of_quadratic_form() -> None:
    rng = np.random.default_rng(0)
    A, v = rng.standard_normal((4, 4)), rng.standard_normal(4)
    x = Tensor(rng.standard_normal(4), requires_grad=True)
    (g,) = tg.grad(x @ Tensor(A) @ x, x, create_graph=True)
    np.testing.assert_allclose(g.data, (A + A.T) @ x.data, rtol=1e-12)
    (hv,) = tg.grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, (A + A.T) @ v, rtol=1e-12)
    np.testing.assert_allclose(hessian(lambda x: x @ Tensor(A) @ x, x), A + A.T, rtol=1e-12)


@pytest.mark.parametrize(
    "f",
    [
        lambda z: F.logsumexp(z, axis=0),
        lambda z: F.cross_entropy(z.reshape(1, -1), np.array([2])),
        lambda z: -F.log_softmax(z)[2],
    ],
    ids=["logsumexp", "cross_entropy", "log_softmax"],
)
def test_softmax_family_hessian(f) -> None:
    """∇² logsumexp(z) = ∇² CE(z, y) = diag(p) - p pᵀ with p = softmax(z)."""
    z = Tensor(np.array([0.3, -1.2, 2.0, 0.7]), requires_grad=True)
    p = np.exp(z.data) / np.exp(z.data).sum()
    np.testing.assert_allclose(hessian(f, z), np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


_X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])  # batch of 2, 3 features
_W = np.array([[1.0, -2.0, 0.5], [0.2, 0.4, -1.1]])  # 3 -> 2


@pytest.mark.parametrize(
    "f, expected",
    [
        (lambda x: (F.linear(x.reshape(1, 3), Tensor(_W), Tensor(np.ones(2))) ** 2).sum(), 2 * _W.T @ _W),
        (lambda w: (F.linear(Tensor(_X), w.reshape(2, 3)) ** 2).sum(), 2 * np.kron(np.eye(2), _X.T @ _X)),
        (lambda b: (F.linear(Tensor(_X), Tensor(_W), b) ** 2).sum(), 2 * len(_X) * np.eye(2)),
    ],
    ids=["input", "weight", "bias"],
)
def test_linear_hessian(f, expected) -> None:
    """L = ||X Wᵀ + b||²: ∇²_x = 2 WᵀW, ∇²_vec(W) = 2 I ⊗ XᵀX (row-major vec), ∇²_b = 2N I."""
    n = expected.shape[0]
    arg = Tensor(np.linspace(-1.0, 1.0, n), requires_grad=True)
    np.testing.assert_allclose(hessian(f, arg), expected, rtol=1e-12, atol=1e-12)


def test_grad_with_grad_outputs_and_several_inputs() -> None:
    x, w = leaf(1.0, 2.0), leaf(3.0, -1.0)
    v = np.array([0.5, -2.0])
    gx, gw = tg.grad(x * w, [x, w], grad_outputs=v)
    np.testing.assert_array_equal(gx.data, v * w.data)
    np.testing.assert_array_equal(gw.data, v * x.data)


_V = np.array([1.5, -0.4, 0.8, -2.0])  # away from the kinks at 0 and at the clip bounds ±1


@pytest.mark.parametrize(
    "f, expected",
    [
        (lambda x: (x.relu() ** 3).sum(), np.diag(6 * np.maximum(_V, 0))),
        (lambda x: (x.abs() ** 3).sum(), np.diag(6 * np.abs(_V))),
        (lambda x: (x.clip(-1.0, 1.0) ** 3).sum(), np.diag(6 * _V * (np.abs(_V) <= 1))),
        (lambda x: x.max() ** 2, np.diag([2.0, 0.0, 0.0, 0.0])),  # the max is _V[0]
    ],
    ids=["relu", "abs", "clip", "max"],
)
def test_mask_rules_are_differentiable_again(f, expected) -> None:
    """(relu x)³: f'' = 6 relu(x); |x|³: 6|x|; clip(x)³: 6x inside the bounds, 0 outside;
    (max x)²: 2 on the argmax. Each first derivative ends in g ⊙ mask, recorded under create_graph."""
    x = Tensor(_V.copy(), requires_grad=True)
    np.testing.assert_allclose(hessian(f, x), expected, rtol=1e-12, atol=1e-15)


def test_index_with_repeats_is_differentiable_again() -> None:
    """f = Σ x[[0, 2, 2]]³ = x₀³ + 2x₂³: f' = (3x₀², 0, 6x₂²), and d(Σ f')/dx = (6x₀, 0, 12x₂).
    The second pass goes back through IndexAdd, the first derivative's scatter."""
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (g,) = tg.grad((x[[0, 2, 2]] ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, [3.0, 0.0, 54.0], rtol=1e-15)
    np.testing.assert_allclose(tg.grad(g.sum(), x)[0].data, [6.0, 0.0, 36.0], rtol=1e-15)


def test_grad_of_an_intermediate_is_its_summed_gradient() -> None:
    x = leaf(1.0, -2.0)
    h = x * 3  # used twice below: grad must return the sum of both contributions
    (gh,) = tg.grad((h * h + h).sum(), h)
    np.testing.assert_array_equal(gh.data, 2 * h.data + 1)


def test_grad_of_an_output_that_is_also_a_leaf() -> None:
    x = leaf(2.0)
    # d(x)/dx = 1 from the first output, d(3x)/dx = 3 from the second: 4 in all
    (g,) = tg.grad([x, x * 3], x, grad_outputs=[np.ones(1), np.ones(1)])
    np.testing.assert_array_equal(g.data, [4.0])


def test_grad_allow_unused() -> None:
    x, unused = leaf(1.0), leaf(2.0)
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.data[0] == 2.0 and gu is None


# ---- dtypes --------------------------------------------------------------------------------------
def test_float32_graph_gets_float32_gradients() -> None:
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    loss = F.sigmoid((x * 2.0) @ w).sum() * np.float64(0.5) + (x**2).mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x * 2.0,
        lambda x: x * np.float64(2),
        lambda x: np.float64(2) * x,
        lambda x: x / np.float64(3),
        lambda x: 1.0 - x,
        lambda x: x**2,
        lambda x: 2.0**x,
    ],
)
def test_python_and_numpy_scalars_keep_float32(op) -> None:
    assert op(Tensor([1.0, 2.0])).dtype == np.float32


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x * np.array(2.0),  # a 0-d array is a number, as a 0-d tensor is in PyTorch
        lambda x: np.array(2.0) * x,
        lambda x: x ** np.array(2),
        lambda x: x + np.arange(2),  # integer arrays take the float tensor's dtype
        lambda x: x * np.array([True, False]),
    ],
)
def test_zero_dim_and_integer_arrays_keep_float32(op) -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = op(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_grad_returns_gradients_in_the_input_dtype() -> None:
    """A float64 constant makes the graph float64; the gradient of a float32 input is float32,
    from tg.grad as from backward (as in PyTorch), and stays differentiable under create_graph."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x * np.ones((3, 1))).sum()
    assert y.dtype == np.float64
    (gx,) = tg.grad(y, x, create_graph=True)
    assert gx.dtype == np.float32
    np.testing.assert_array_equal(gx.data, [6.0, 12.0])
    (hx,) = tg.grad(gx.sum(), x)
    assert hx.dtype == np.float32
    np.testing.assert_array_equal(hx.data, [6.0, 6.0])


def test_mixed_precision_grads_take_each_leaf_dtype() -> None:
    a = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    out = (a * b).sum()
    assert out.dtype == np.float64  # numpy's promotion
    out.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_seed_gradient_takes_the_output_dtype() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(np.array([1.0, 1.0], dtype=np.float64))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "make",
    [
        lambda: Tensor(np.arange(3), requires_grad=True),
        lambda: Tensor([1, 2], dtype=np.int32, requires_grad=True),
        lambda: Tensor(np.array([True, False]), requires_grad=True),
        lambda: Tensor(np.arange(3)).requires_grad_(),
    ],
)
def test_integer_tensors_cannot_require_grad(make) -> None:
    with pytest.raises(TypeError, match=r"int|bool"):
        make()


# ---- leaf gradients are independent, writable arrays ---------------------------------------------
def test_leaf_grads_do_not_alias() -> None:
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (a + b).sum().backward()
    a.grad += 1
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    c, d = leaf(1.0, 2.0), leaf(3.0, 4.0)
    ((c + d) * 2).sum().backward()  # Add hands one writable array to both: the second is a copy
    c.grad += 1
    np.testing.assert_array_equal(d.grad, [2.0, 2.0])


def test_grad_results_with_create_graph_do_not_alias() -> None:
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    ga, gb = tg.grad(((a + b) ** 2).sum(), [a, b], create_graph=True)
    assert ga is not gb and ga.requires_grad and gb.requires_grad
    with tg.no_grad():
        gb *= 0
    np.testing.assert_array_equal(ga.data, [8.0, 12.0])  # 2(a + b)
    (gga,) = tg.grad(ga.sum(), a)  # still differentiable: d Σ 2(a+b) / da = 2
    np.testing.assert_array_equal(gga.data, [2.0, 2.0])


def test_grad_results_do_not_alias() -> None:
    """Add hands one gradient to both inputs; changing one result in place leaves the other."""
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    ga, gb = tg.grad((a + b).sum(), [a, b])
    gs = tg.grad(a.sum(), a)[0]  # a broadcast (read-only) view before the copy
    with tg.no_grad():
        ga += 1
        gs += 1
    np.testing.assert_array_equal(gb.data, [1.0, 1.0])
    np.testing.assert_array_equal(ga.data, [2.0, 2.0])
    np.testing.assert_array_equal(gs.data, [2.0, 2.0])


@pytest.mark.parametrize(
    "f", [lambda x: x.sum(), lambda x: x.mean(), lambda x: x.reshape(2, 3).sum(), lambda x: (x + 0).sum()]
)
def test_leaf_grad_is_writable(f) -> None:
    x = Tensor(np.ones(6), requires_grad=True)
    f(x).backward()
    assert x.grad.flags.writeable
    x.grad += 1
    assert x.grad.shape == x.shape


def test_leaf_grad_does_not_alias_the_seed() -> None:
    x = leaf(1.0, 2.0)
    seed = np.array([5.0, 7.0])
    (x + 0).backward(seed)
    x.grad *= 0
    np.testing.assert_array_equal(seed, [5.0, 7.0])


def test_retained_cross_entropy_graph_gives_the_same_gradient_twice():
    rng = np.random.default_rng(3)
    z = tg.Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    y = np.array([0, 3, 1, 1, 2, 0])
    loss = F.cross_entropy(z, y)
    loss.backward(retain_graph=True)
    first = z.grad.copy()
    loss.backward()
    e = np.exp(z.data - z.data.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    p[np.arange(6), y] -= 1
    np.testing.assert_allclose(first, p / 6, atol=1e-15)
    np.testing.assert_allclose(z.grad, 2 * p / 6, atol=1e-15)


def test_grad_of_an_output_listed_twice_counts_it_twice() -> None:
    """As torch.autograd.grad: d(L + L + M)/da with L = Σ a², M = Σ a is 4a + 1."""
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    L, M = (a * a).sum(), a.sum()
    np.testing.assert_array_equal(tg.grad([L, L, M], a)[0].data, [5.0, 9.0])
    L = (a * a).sum()  # the first call freed the graph
    np.testing.assert_array_equal(tg.grad([L, L], a)[0].data, [4.0, 8.0])


# ---- in-place changes -----------------------------------------------------------------------------
def test_manual_sgd_step_in_place_under_no_grad() -> None:
    """The loop users bring from PyTorch: `p -= lr * p.grad` must change the parameter itself."""
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    params = [w]
    for _ in range(3):
        (w * w).sum().backward()  # gradient 2w
        with tg.no_grad():
            for p in params:
                p -= 0.25 * p.grad
        w.grad = None
    assert params[0] is w and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.data, np.array([1.0, -2.0]) * 0.5**3)  # w <- w - 0.25 * 2w, thrice


def test_in_place_operators_change_a_constant_in_place() -> None:
    t = Tensor(np.array([1.0, 2.0]))
    same, data = t, t.data
    t += 1
    t *= np.array([2.0, 3.0])
    t -= Tensor(np.array([1.0, 1.0]))
    t /= 2
    assert t is same and t.data is data
    np.testing.assert_array_equal(t.data, [1.5, 4.0])  # ((x + 1) * [2, 3] - 1) / 2


def test_in_place_on_a_leaf_that_requires_grad_raises_while_recording() -> None:
    w = Tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf .* requires grad.*no_grad"):
        w -= 1.0
    np.testing.assert_array_equal(w.data, [1.0])


def test_in_place_on_a_recorded_tensor_is_recorded() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 2
    h += x  # h = 3x, as a new recorded tensor
    acc = Tensor(np.zeros(2))
    acc += h * h  # a constant accumulating a recorded tensor
    acc.sum().backward()
    np.testing.assert_array_equal(x.grad, 18 * np.array([1.0, 2.0]))  # d Σ 9x² / dx = 18x


def test_backward_refuses_an_input_changed_in_place_after_the_forward() -> None:
    """PyTorch's "modified by an inplace operation": the gradient would use the new values."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (w * x).sum()
    w.grad = np.ones(2)
    tg.optim.SGD([w], lr=1.0).step()  # w changes before y's backward
    with pytest.raises(
        RuntimeError, match=r"Mul\.backward: its input 0 \(shape \(2,\)\) was changed in place"
    ):
        y.backward()


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.weight.__isub__(1.0),
        lambda m: m.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)}),
        lambda m: tg.nn.init.zeros_(m.weight),
    ],
    ids=["isub", "load_state_dict", "init"],
)
def test_every_in_place_writer_marks_the_change(change) -> None:
    m = tg.nn.Linear(2, 1)
    y = m(Tensor(np.ones((1, 2), dtype=np.float32))).sum()
    with tg.no_grad():
        change(m)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


@pytest.mark.parametrize(
    "alias",
    [lambda w: w.detach(), lambda w: w.reshape(2, 1), lambda w: w.T, lambda w: tg.nn.Parameter(w.data[::1])],
    ids=["detach", "reshape", "T", "Parameter over a view"],
)
def test_a_change_through_another_tensor_sharing_the_memory_is_seen(alias) -> None:
    """PyTorch's views and detach() share one version counter; here the clock is kept per memory."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    other = alias(w)
    with tg.no_grad():
        other -= 0.5
    np.testing.assert_array_equal(w.data, [0.5, 1.5])  # the same memory
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_backward_refuses_an_output_changed_in_place() -> None:
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = x.exp()  # exp's backward uses its output
    with tg.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match=r"Exp\.backward: its output .* changed in place"):
        y.sum().backward()


def test_in_place_on_a_recorded_tensor_keeps_its_dtype() -> None:
    """As PyTorch's in-place ops: x32 += w64 stays float32 (out of place, numpy would give float64)."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = Tensor(np.ones(2, dtype=np.float32))
    x += w * 2
    assert x.dtype == np.float32
    x.sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


def test_changes_to_other_tensors_and_after_backward_are_fine() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    other = Tensor(np.array([5.0]))
    y = (x * x).sum()
    other += 1  # not used by y's graph
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    with tg.no_grad():
        x -= 1  # after backward: the next forward sees the new values
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0])
