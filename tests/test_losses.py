"""Losses with PyTorch's options against slow references written here from PyTorch's documented
definitions, one sample at a time: cross_entropy and nll_loss with class weights, ignore_index,
label smoothing, every reduction, (N, C, d1, d2) inputs and class-probability targets; l1,
smooth L1, Huber and KL divergence. One hypothesis factory, `loss_test`, checks each: the value
against its reference, first derivatives against central differences in float64, and second
derivatives by gradchecking the recorded gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu import functional as F

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
IGNORE = 2  # the ignore_index the drawn cases use (a real class, so it must be skipped)


# ---- the references: one sample at a time ---------------------------------------------------------
def log_softmax_ref(z: np.ndarray) -> np.ndarray:
    return z - np.log(np.sum(np.exp(z)))


def positions(x: np.ndarray) -> list[tuple]:
    """Each sample's position: (n, d1, ...) of an (N, C, d1, ...) input, () of a (C,) one."""
    return [()] if x.ndim == 1 else list(np.ndindex(x.shape[:1] + x.shape[2:]))


def classes_at(x: np.ndarray, pos: tuple) -> np.ndarray:
    """The C values of the sample at `pos`: x[n, :, d1, ...]."""
    return x if x.ndim == 1 else x[(pos[0], slice(None), *pos[1:])]


def reduced(losses: dict[tuple, float], shape: tuple, reduction: str, divisor: float) -> np.ndarray:
    if reduction == "none":
        out = np.zeros(shape)
        for pos, value in losses.items():
            out[pos] = value
        return out
    total = sum(losses.values())
    return np.asarray(total if reduction == "sum" else (total / divisor if divisor else np.nan))


def cross_entropy_ref(x, y, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, log=True):
    """PyTorch's definition: l = -Σ_c w_c t_c log softmax(x)_c with t = (1 - ε) onehot(y) + ε/C,
    0 for an ignored target; the mean divides by Σ w_{y} over the targets not ignored."""
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    w = np.ones(c) if weight is None else weight
    losses, total_weight = {}, 0.0
    for pos in positions(x):
        logp = classes_at(x, pos)
        logp = log_softmax_ref(logp) if log else logp
        target = int(y[pos])
        if target == ignore_index:
            losses[pos] = 0.0
            continue
        t = np.full(c, label_smoothing / c)
        t[target] += 1 - label_smoothing
        losses[pos] = -np.sum(w * t * logp)
        total_weight += w[target]
    return reduced(losses, y.shape, reduction, total_weight)


def probability_cross_entropy_ref(x, t, weight=None, reduction="mean", label_smoothing=0.0):
    """l = -Σ_c w_c t_c log softmax(x)_c, t smoothed to (1 - ε) t + ε/C; the mean divides by the
    number of samples."""
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    w = np.ones(c) if weight is None else weight
    losses = {}
    for pos in positions(x):
        tc = classes_at(t, pos) * (1 - label_smoothing) + label_smoothing / c
        losses[pos] = -np.sum(w * tc * log_softmax_ref(classes_at(x, pos)))
    shape = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
    return reduced(losses, shape, reduction, len(losses))


def nll_loss_ref(x, y, weight=None, ignore_index=-100, reduction="mean"):
    return cross_entropy_ref(x, y, weight, ignore_index, reduction, 0.0, log=False)


def elementwise_ref(term: Callable[[float, float], float]) -> Callable[..., np.ndarray]:
    """A pointwise loss summed or averaged element by element (a loop over the elements)."""

    def ref(x: np.ndarray, t: np.ndarray, reduction: str = "mean", **kw: Any) -> np.ndarray:
        values = np.array([term(a, b, **kw) for a, b in zip(x.ravel(), t.ravel())]).reshape(x.shape)
        if reduction == "batchmean":
            return np.asarray(values.sum() / (x.shape[0] if x.ndim else 1))
        return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](values)

    return ref


def smooth_l1_term(a: float, b: float, beta: float = 1.0) -> float:
    d = abs(a - b)
    return 0.5 * d * d / beta if d < beta else d - 0.5 * beta


def huber_term(a: float, b: float, delta: float = 1.0) -> float:
    d = abs(a - b)
    return 0.5 * d * d if d < delta else delta * (d - 0.5 * delta)


def kl_term(q_log: float, p: float, log_target: bool = False) -> float:
    if log_target:
        return math.exp(p) * (p - q_log)
    return 0.0 if p == 0 else p * (math.log(p) - q_log)


# ---- the factory ---------------------------------------------------------------------------------
def loss_test(
    fn: Callable[..., Tensor],
    ref: Callable[..., np.ndarray],
    case: Callable[[st.DataObject], tuple[list[np.ndarray], list[bool], dict]],
    max_examples: int = 30,
) -> Callable[..., None]:
    """`case(data)` draws the arrays (a flag per array: differentiate in it or not) and the keyword
    arguments. The loss equals `ref` to 1e-10; first derivatives and (fast-mode) second
    derivatives in every differentiable array pass gradcheck."""

    @settings(max_examples=max_examples)
    @given(data=st.data())
    def test(data: st.DataObject) -> None:
        arrays, differentiable, kw = case(data)
        xs = [Tensor(a.copy(), requires_grad=d) if d else a for a, d in zip(arrays, differentiable)]
        out = fn(*xs, **kw)
        expected = ref(*arrays, **kw)
        assert out.shape == expected.shape and out.dtype == np.float64
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        if not np.isfinite(expected).all():
            return  # every target ignored: NaN, as in PyTorch (its gradient: test below)
        wrt = [x for x in xs if isinstance(x, Tensor)]

        def call(*ts: Tensor) -> Tensor:
            it = iter(ts)
            return fn(*[next(it) if isinstance(x, Tensor) else x for x in xs], **kw)

        assert tg.gradcheck(call, wrt)
        v = Tensor(np.random.default_rng(0).standard_normal(out.shape), requires_grad=True)

        def first_derivatives(*ts: Tensor) -> tuple[Tensor, ...]:
            return tg.grad((call(*ts[:-1]) * ts[-1]).sum(), list(ts[:-1]), create_graph=True)

        assert tg.gradcheck(first_derivatives, [*wrt, v], fast_mode=True)

    return test


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def class_shape(data: st.DataObject) -> tuple[int, ...]:
    """(N, C), (N, C, d1), (N, C, d1, d2) or an unbatched (C,), with C >= 3 (IGNORE is a class)."""
    extra = data.draw(st.lists(st.integers(1, 3), max_size=2), "spatial")
    if data.draw(st.booleans(), "unbatched") and not extra:
        return (data.draw(st.integers(3, 5), "C"),)
    return (data.draw(st.integers(1, 4), "N"), data.draw(st.integers(3, 5), "C"), *extra)


def logits(data: st.DataObject, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(data.draw(st.integers(0, 2**16), "seed")).standard_normal(shape) * 2


def class_case(smoothing: bool) -> Callable[[st.DataObject], tuple]:
    def case(data: st.DataObject) -> tuple:
        shape = class_shape(data)
        c = shape[0] if len(shape) == 1 else shape[1]
        y_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16), "targets"))
        y = rng.integers(0, c, y_shape)  # about one in C is IGNORE
        kw: dict = {"reduction": data.draw(REDUCTIONS, "reduction")}
        if data.draw(st.booleans(), "weighted"):
            kw["weight"] = rng.uniform(0.2, 2.0, c)
        if data.draw(st.booleans(), "ignore"):
            kw["ignore_index"] = IGNORE
        if smoothing:
            kw["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]), "smoothing")
        return [logits(data, shape), y], [True, False], kw

    return case


def probability_case(data: st.DataObject) -> tuple:
    shape = class_shape(data)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), "targets"))
    c = shape[0] if len(shape) == 1 else shape[1]
    t = rng.dirichlet(np.ones(c), size=shape[:1] + shape[2:] if len(shape) > 1 else ())
    t = np.moveaxis(t, -1, 1) if len(shape) > 1 else t  # the classes along axis 1
    kw: dict = {
        "reduction": data.draw(REDUCTIONS, "reduction"),
        "label_smoothing": data.draw(st.sampled_from([0.0, 0.2]), "smoothing"),
    }
    if data.draw(st.booleans(), "weighted"):
        kw["weight"] = rng.uniform(0.2, 2.0, c)
    return [logits(data, shape), t], [True, True], kw  # differentiable in the target too


def pointwise_case(kink: Callable[[dict], float], params: dict, lo: float = -3.0, positive: bool = False):
    """Input and target of one shape, their difference at least 0.05 away from ±kink(kw)."""

    def case(data: st.DataObject) -> tuple:
        shape = tuple(data.draw(st.lists(st.integers(1, 4), max_size=3), "shape"))
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16), "seed"))
        kw = {"reduction": data.draw(REDUCTIONS, "reduction")}
        kw.update({k: data.draw(st.sampled_from(v), k) for k, v in params.items()})
        x = rng.uniform(lo, 3.0, shape)
        t = rng.uniform(0.05, 1.0, shape) if positive else rng.uniform(-3.0, 3.0, shape)
        k = kink(kw)
        if k is not None:
            d = x - t
            for edge in {k, -k}:
                d = np.where(np.abs(d - edge) < 0.05, edge + np.where(d >= edge, 0.05, -0.05), d)
            x = t + d
        return [x, t], [True, True], kw

    return case


# ---- the tests -----------------------------------------------------------------------------------
test_cross_entropy = loss_test(F.cross_entropy, cross_entropy_ref, class_case(smoothing=True))
test_cross_entropy_probabilities = loss_test(F.cross_entropy, probability_cross_entropy_ref, probability_case)
test_nll_loss = loss_test(F.nll_loss, nll_loss_ref, class_case(smoothing=False))
test_l1_loss = loss_test(
    F.l1_loss, elementwise_ref(lambda a, b: abs(a - b)), pointwise_case(lambda kw: 0.0, {})
)
test_smooth_l1_loss = loss_test(
    F.smooth_l1_loss,
    elementwise_ref(smooth_l1_term),
    pointwise_case(lambda kw: kw["beta"], {"beta": [1.0, 0.5, 2.0]}),
)
test_huber_loss = loss_test(
    F.huber_loss,
    elementwise_ref(huber_term),
    pointwise_case(lambda kw: kw["delta"], {"delta": [1.0, 0.5, 2.0]}),
)
test_kl_div = loss_test(
    F.kl_div,
    elementwise_ref(kl_term),
    pointwise_case(
        lambda kw: None,
        {"reduction": ["mean", "batchmean", "sum", "none"], "log_target": [False, True]},
        positive=True,
    ),
)


def test_smooth_l1_with_beta_zero_is_l1() -> None:
    x, t = np.array([-1.0, 0.5, 2.0]), np.array([0.0, 0.0, 0.0])
    np.testing.assert_allclose(F.smooth_l1_loss(Tensor(x), t, beta=0.0).item(), np.abs(x).mean())


def test_kl_div_where_the_target_is_zero() -> None:
    """0 log 0 = 0: a finite loss, and the input's gradient there is -target = 0."""
    q = Tensor(np.log(np.array([0.5, 0.25, 0.25])), requires_grad=True)
    p = np.array([0.0, 0.5, 0.5])
    loss = F.kl_div(q, p, reduction="sum")
    expected = 0.5 * (math.log(0.5) - math.log(0.25)) * 2
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    loss.backward()
    np.testing.assert_array_equal(q.grad, -p)


def test_every_target_ignored_gives_nan_and_a_zero_gradient() -> None:
    """PyTorch's answer: the mean over no weight is NaN, and nothing flows back."""
    for loss in (F.cross_entropy, F.nll_loss):
        x = Tensor(np.zeros((2, 3)), requires_grad=True)
        out = loss(x, np.array([1, 1]), ignore_index=1)
        assert np.isnan(out.item())
        out.backward()
        np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))
        np.testing.assert_array_equal(loss(x, np.array([1, 1]), ignore_index=1, reduction="sum").data, 0.0)


def test_plain_case_takes_the_fused_op_and_agrees_with_the_general_path() -> None:
    """The MNIST case runs one fused op; the general path (here through a weight of ones, which
    changes nothing) gives the same loss and gradient."""
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((8, 5)).astype(np.float32), rng.integers(0, 5, 8)
    fast_x, slow_x = Tensor(z, requires_grad=True), Tensor(z.copy(), requires_grad=True)
    fast = F.cross_entropy(fast_x, y)
    slow = F.cross_entropy(slow_x, y, np.ones(5, dtype=np.float32))
    assert type(fast.grad_fn).__name__ == "CrossEntropy" and type(slow.grad_fn).__name__ != "CrossEntropy"
    assert fast.dtype == slow.dtype == np.float32
    np.testing.assert_allclose(fast.item(), slow.item(), rtol=1e-6)
    fast.backward()
    slow.backward()
    np.testing.assert_allclose(fast_x.grad, slow_x.grad, rtol=1e-5, atol=1e-7)


# ---- modules -------------------------------------------------------------------------------------
def test_loss_modules_pass_their_arguments() -> None:
    rng = np.random.default_rng(1)
    z, y, w = rng.standard_normal((4, 3, 2)), rng.integers(0, 3, (4, 2)), np.array([0.5, 1.0, 2.0])
    module = nn.CrossEntropyLoss(weight=w, ignore_index=1, reduction="sum", label_smoothing=0.1)
    np.testing.assert_allclose(
        module(Tensor(z), y).item(), cross_entropy_ref(z, y, w, 1, "sum", 0.1), rtol=1e-12
    )
    np.testing.assert_array_equal(module.state_dict()["weight"], w)  # a buffer, as in PyTorch
    assert list(module.parameters()) == [] and "weight" not in nn.CrossEntropyLoss().state_dict()
    logp = F.log_softmax(Tensor(z), 1)
    np.testing.assert_allclose(
        nn.NLLLoss(w, ignore_index=0)(logp, y).item(), nll_loss_ref(logp.data, y, w, 0), rtol=1e-12
    )
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for module, fn in [
        (nn.L1Loss(reduction="sum"), lambda: F.l1_loss(Tensor(x), t, "sum")),
        (nn.SmoothL1Loss(beta=0.5), lambda: F.smooth_l1_loss(Tensor(x), t, beta=0.5)),
        (nn.HuberLoss(delta=2.0), lambda: F.huber_loss(Tensor(x), t, delta=2.0)),
    ]:
        assert module(Tensor(x), t).item() == fn().item()
    p = rng.dirichlet(np.ones(4), 3)
    kl = nn.KLDivLoss(reduction="batchmean", log_target=True)
    np.testing.assert_allclose(
        kl(Tensor(x), np.log(p)).item(), elementwise_ref(kl_term)(x, np.log(p), "batchmean", log_target=True)
    )


# ---- bad input -----------------------------------------------------------------------------------
def ones(*shape: int) -> Tensor:
    return Tensor(np.ones(shape))


ERRORS = [
    (
        lambda: F.cross_entropy(ones(2, 3), np.array([0, 1]), np.ones(4)),
        "cross_entropy: weight of shape (4,)",
    ),
    (lambda: F.nll_loss(ones(2, 3), np.array([0, 1]), np.ones((3, 1))), "nll_loss: weight of shape (3, 1)"),
    (
        lambda: F.cross_entropy(ones(2, 3, 4), np.zeros((2, 3), dtype=np.int64)),
        "cross_entropy: target of shape (2, 3) does not match input of shape (2, 3, 4)",
    ),
    (
        lambda: F.cross_entropy(ones(3), np.array([0])),
        "target of shape (1,) does not match input of shape (3,)",
    ),
    (
        lambda: F.cross_entropy(ones(2, 3), np.array([0, 5]), ignore_index=5 - 1),
        "cross_entropy: class index 5 is outside [0, 3)",
    ),
    (
        lambda: F.cross_entropy(ones(2, 3), np.array([0, 1]), label_smoothing=1.5),
        "label_smoothing must be in [0, 1]",
    ),
    (
        lambda: F.cross_entropy(ones(2, 3), np.full((2, 3), 1 / 3), ignore_index=0),
        "cross_entropy: ignore_index=0 has no meaning for class-probability targets",
    ),
    (lambda: F.cross_entropy(Tensor(1.0), np.array(0)), "cross_entropy: input must have shape (N, C)"),
    (lambda: F.nll_loss(ones(2, 3), np.array([0, 1]), reduction="avg"), "nll_loss: reduction must be"),
    (lambda: F.l1_loss(ones(2, 3), np.ones(3)), "l1_loss: input shape (2, 3) and target shape (3,) differ"),
    (lambda: F.smooth_l1_loss(ones(2), np.ones(2), beta=-1.0), "smooth_l1_loss: beta must be non-negative"),
    (lambda: F.huber_loss(ones(2), np.ones(2), delta=0.0), "huber_loss: delta must be positive, got 0.0"),
    (lambda: F.kl_div(ones(2), np.ones(2), reduction="avg"), "kl_div: reduction must be 'mean', 'batchmean'"),
    (lambda: F.kl_div(ones(2, 2), np.ones(4)), "kl_div: input shape (2, 2) and target shape (4,) differ"),
    (
        lambda: nn.KLDivLoss(reduction="avg"),
        "KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none'",
    ),
    (lambda: nn.L1Loss(reduction="batchmean"), "L1Loss: reduction must be 'mean', 'sum' or 'none'"),
]


@pytest.mark.parametrize(("call", "says"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_errors_name_the_function_and_shapes(call: Callable, says: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert says in str(info.value)
