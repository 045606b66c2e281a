"""The checks of 05_exercises.ipynb: each says what is wrong, not only that something is.

A check compares the student's answer with a truth computed without it: numpy written out by
hand (an explicit Jacobian, a slow loop), central finite differences (`tg.gradcheck`, or
`central_differences` below), a closed form. It prints "correct" or raises `ExerciseError` with the
reason and, for the usual mistakes, a hint; an answer cell that still raises NotImplementedError
(or holds None) is "not done yet". The test suite runs every check against the solutions in
solutions/ and against typical mistakes (tests/test_exercises.py).
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Sequence

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.functional as F


class ExerciseError(AssertionError):
    """What is wrong with an answer, and a hint."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows: the verdict, after the traceback of the student's own error if there
        was one, never the frames of this module."""
        cause = traceback.format_exception(self.__cause__) if self.__cause__ else []
        return [*cause, f"{type(self).__name__}: {self}"]


def exercise(number: int, title: str) -> Callable:
    """Wrap a check: name the exercise in its verdict, and turn the student's errors into one."""

    def wrap(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(*answers):
            name = f"Exercise {number} ({title})"
            if any(a is None for a in answers):
                raise ExerciseError(
                    f"{name}: not done yet: fill in the answer cell above (it still holds None)"
                )
            try:
                check(*answers)
            except NotImplementedError:
                raise ExerciseError(
                    f"{name}: not done yet: the answer cell above still raises NotImplementedError; "
                    "replace that line with your code and run the cell again"
                ) from None
            except ExerciseError as e:
                raise ExerciseError(f"{name}: {e}") from None
            except Exception as e:
                raise ExerciseError(f"{name}: your code raised {type(e).__name__}: {e}") from e
            print(f"{name}: correct.")

        return run

    return wrap


# ---- helpers ------------------------------------------------------------------------------------
def _array(x) -> np.ndarray:
    return np.asarray(x.numpy() if isinstance(x, tg.Tensor) else x, dtype=np.float64)


def _close(a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol)


def _compare(what: str, got, want: np.ndarray, mistakes: Sequence[tuple[str, np.ndarray]] = ()) -> None:
    """Raise unless `got` equals `want`; a known mistake (its hint, what it gives) is named."""
    got = _array(got)
    if got.shape != want.shape:
        raise ExerciseError(f"{what} has shape {got.shape}, it should have shape {want.shape}")
    if _close(got, want):
        return
    for hint, wrong in mistakes:
        if _close(got, wrong):
            raise ExerciseError(f"{what} is wrong: {hint}")
    i = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
    at = f"at index {tuple(int(k) for k in i)} " if want.ndim else ""
    raise ExerciseError(
        f"{what} is wrong: {at}it is {got[i]:.6g}, the right value is {want[i]:.6g} "
        f"(largest difference {np.abs(got - want).max():.2g})"
    )


def central_differences(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a numpy function, element by element (the independent truth)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def _gradcheck(apply: Callable, x: tg.Tensor) -> None:
    try:
        tg.gradcheck(apply, [x])
    except tg.GradcheckError as e:
        raise ExerciseError(f"backward disagrees with finite differences.\n{e}") from None


def _backward(function: type, x: np.ndarray, upstream: np.ndarray) -> np.ndarray:
    """x.grad after `function.apply(x).backward(upstream)`, in float64."""
    t = tg.Tensor(x.copy(), requires_grad=True)
    function.apply(t).backward(upstream)
    return t.grad


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# ---- the exercises ------------------------------------------------------------------------------
@exercise(1, "adjoints by hand")
def adjoints(df_dx: float, df_dy: float) -> None:
    x, y = 3.0, -1.0
    f = lambda v: (v[0] + v[1]) * v[0]  # noqa: E731
    want = central_differences(f, np.array([x, y]))
    one_path = (
        "it follows one path from x to f; x feeds both the sum and the product, and adjoints add over paths"
    )
    _compare("df/dx", df_dx, np.array(want[0]), [(one_path, np.array(x + y)), (one_path, np.array(x))])
    _compare("df/dy", df_dy, np.array(want[1]))


@exercise(2, "Tanh's backward")
def tanh_backward(Tanh: type) -> None:
    rng = _rng()
    x = rng.standard_normal((3, 4))
    v = rng.standard_normal((3, 4))  # an upstream gradient that is not all ones
    t = np.tanh(x)
    _compare(
        "x.grad",
        _backward(Tanh, x, v),
        v * (1 - t**2),
        [
            ("it ignores g, the gradient coming in: multiply the local derivative by g", 1 - t**2),
            ("it uses x where tanh(x) belongs: ctx.output is tanh(x)", v * (1 - x**2)),
        ],
    )
    _gradcheck(Tanh.apply, tg.Tensor(x, requires_grad=True))
    xt = tg.Tensor(x, requires_grad=True)
    try:
        (g,) = tg.grad(Tanh.apply(xt).sum(), xt, create_graph=True)
    except RuntimeError as e:  # the engine refuses a rule that leaves the graph under create_graph
        raise ExerciseError(
            "first derivatives are right, but the rule cannot be differentiated again: write it in "
            "Tensor ops on g and ctx.output (no .numpy(), .data or np.*), so create_graph=True records it"
        ) from e
    (gg,) = tg.grad(g.sum(), xt)
    _compare("the second derivative", gg, -2 * t * (1 - t**2))


def _check_softmax_family(function: type, jacobian: Callable, mistakes: Callable) -> None:
    """An op on rows of 5 (softmax or log-softmax): its backward against the explicit Jacobian,
    `jacobian(s)` with s = softmax(z) row by row, then gradcheck; `mistakes(s, v)` as for _compare."""
    rng = _rng()
    z, v = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))  # v: the upstream gradient
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    _compare("z.grad", _backward(function, z, v), np.einsum("ni,nij->nj", v, jacobian(s)), mistakes(s, v))
    _gradcheck(function.apply, tg.Tensor(z, requires_grad=True))


@exercise(3, "softmax's backward")
def softmax_backward(Softmax: type) -> None:
    diagonal_only = (
        "it keeps only the diagonal of the Jacobian, s_i(1 - s_i); every output s_i also depends "
        "on every other input z_j (∂s_i/∂z_j = -s_i s_j)"
    )
    _check_softmax_family(
        Softmax,
        lambda s: np.einsum("ni,ij->nij", s, np.eye(5)) - np.einsum("ni,nj->nij", s, s),  # ∂s_i/∂z_j
        lambda s, v: [(diagonal_only, v * s * (1 - s))],
    )


@exercise(4, "find the bug in LogSoftmax")
def logsoftmax_bug(LogSoftmax: type) -> None:
    own_input_only = (
        "the rule treats output i as depending on input i only. log_softmax(z)_i depends on "
        "every z_j through the normalising sum: input j collects -s_j·g_i from every output i "
        "of its row"
    )
    _check_softmax_family(
        LogSoftmax,
        lambda s: np.eye(5) - s[:, None, :],  # ∂ log s_i / ∂z_j = δ_ij - s_j
        lambda s, v: [(own_input_only, v - s * v)],
    )


SUM_TO_CASES = (((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)), ((2, 3, 4), (2, 1, 4)), ((2, 3, 4), ()))
SUM_TO_CASES += (((3, 4), (3, 4)), ((2, 3, 4), (1, 3, 1)), ((5,), (1,)))


@exercise(5, "un-broadcasting")
def sum_to(sum_to: Callable) -> None:
    rng = _rng()
    for big, small in SUM_TO_CASES:
        g = rng.standard_normal(big)
        # the truth: element k of the small array was copied to every place its index lands on
        owner = np.broadcast_to(np.arange(int(np.prod(small))).reshape(small), big)
        want = np.bincount(owner.ravel(), weights=g.ravel(), minlength=int(np.prod(small))).reshape(small)
        got = _array(sum_to(g.copy(), small))
        if got.shape != want.shape:
            raise ExerciseError(
                f"sum_to(g of shape {big}, {small}) returned shape {got.shape}: the result must have "
                f"exactly the shape {small} (axes broadcasting prepended are summed away; axes of size 1 "
                "that it stretched are summed and kept, keepdims=True)"
            )
        _compare(f"sum_to(g of shape {big}, {small})", got, want)


def _layernorm(x: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=1, keepdims=True) + eps)


@exercise(6, "LayerNorm's backward")
def layernorm_backward(layernorm_backward: Callable) -> None:
    rng = _rng()
    eps = 1e-5
    x = rng.standard_normal((4, 6)) * 2 + 1
    g = rng.standard_normal((4, 6))
    want = central_differences(lambda x: float((g * _layernorm(x, eps)).sum()), x.copy())
    sigma = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    _compare(
        "dx",
        layernorm_backward(x.copy(), g.copy(), eps),
        want,
        [
            (
                "it treats the mean and the variance as constants; both are functions of every x in the row",
                g / sigma,
            ),
            (
                "the mean's dependence on x is there, the variance's is missing",
                (g - g.mean(axis=1, keepdims=True)) / sigma,
            ),
        ],
    )


def _patches(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """The slow reference: one loop over output positions."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.zeros((n, c * kh * kw, oh * ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            cols[:, :, i * ow + j] = patch.reshape(n, -1)
    return cols


@exercise(7, "im2col")
def im2col(im2col: Callable) -> None:
    rng = _rng()
    for shape, kh, kw, stride in (((2, 3, 5, 6), 2, 3, 1), ((1, 2, 7, 7), 3, 3, 2)):
        x = rng.standard_normal(shape)
        want = _patches(x, kh, kw, stride)
        got = _array(im2col(x.copy(), kh, kw, stride))
        call = f"im2col(x of shape {shape}, {kh}, {kw}, stride={stride})"
        if got.shape != want.shape:
            raise ExerciseError(
                f"{call} has shape {got.shape}, it should be (N, C·kh·kw, OH·OW) = {want.shape}, with "
                "OH = (H - kh) // stride + 1 and OW = (W - kw) // stride + 1"
            )
        if not _close(got, want):
            if _close(np.sort(got, axis=1), np.sort(want, axis=1)):
                raise ExerciseError(
                    f"{call}: every column holds the right patch, in the wrong order: rows go by channel, "
                    "then kernel row, then kernel column (the order of x[n, :, i:i+kh, j:j+kw].ravel())"
                )
            if _close(np.sort(got, axis=2), np.sort(want, axis=2)):
                raise ExerciseError(
                    f"{call}: the right patches at the wrong output positions: column p = i·OW + j is "
                    "the patch under output position (i, j), output row by output row"
                )
            _compare(call, got, want)
    # and it makes a convolution: weights (F, C, kh, kw) against every patch
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 2, 3))
    out = (w.reshape(4, -1) @ _array(im2col(x, 2, 3, 1))).reshape(2, 4, 4, 4)
    direct = np.zeros((2, 4, 4, 4))
    for i in range(4):
        for j in range(4):
            direct[:, :, i, j] = np.einsum("ncij,fcij->nf", x[:, :, i : i + 2, j : j + 3], w)
    _compare("the convolution through your im2col", out, direct)


@exercise(8, "find the bug in the training loop")
def training_loop_bug(train: Callable) -> None:
    rng = _rng()
    X = rng.standard_normal((20, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(20)
    steps, lr = 30, 0.1
    right, accumulated, total = np.zeros(3), np.zeros(3), np.zeros(3)
    for _ in range(steps):  # gradient descent on mean((Xw - y)²), gradient written out by hand
        right -= lr * 2 * X.T @ (X @ right - y) / len(y)
        total += 2 * X.T @ (X @ accumulated - y) / len(y)
        accumulated -= lr * total
    _compare(
        f"w after {steps} steps",
        train(X.copy(), y.copy(), steps, lr),
        right,
        [
            (
                "the gradients pile up: backward() adds into w.grad (as in PyTorch), so each step "
                "used the sum of every gradient so far (what do optimizers' zero_grad() do?)",
                accumulated,
            )
        ],
    )


@exercise(9, "Hessian-vector product")
def hvp(hvp: Callable) -> None:
    rng = _rng()
    A = rng.standard_normal((4, 4))
    A = A + A.T
    x0, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x: tg.Tensor) -> tg.Tensor:  # log Σ exp(x) + ½ xᵀA x
        return F.logsumexp(x) + 0.5 * (x @ tg.Tensor(A) @ x)

    p = np.exp(x0) / np.exp(x0).sum()
    hessian = np.diag(p) - np.outer(p, p) + A  # written out by hand
    try:
        got = hvp(f, tg.Tensor(x0.copy(), requires_grad=True), v.copy())
    except RuntimeError as e:
        if "does not require grad" not in str(e):
            raise
        raise ExerciseError(
            "the second tg.grad finds no graph to differentiate: the first one needs create_graph=True, "
            "so that the gradient it returns is itself recorded"
        ) from e
    _compare(
        "H v",
        got,
        hessian @ v,
        [("that is the gradient ∇f, not H v: differentiate ∇f · v once more", p + A @ x0)],
    )
