"""Check analytic gradients against finite differences.

For an output y = f(x) of any shape and a fixed random upstream gradient v, both sides compute
the gradient of the scalar L = Σ v ⊙ f(x): the analytic one by `backward(v)`, the numerical one
by perturbing one element of x at a time. A random v exercises every output element at once, so
one backward pass checks the whole vector-Jacobian product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinygrad_edu.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree; the message has the per-input report."""


def _as_list(inputs: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _projected(fn: Callable[..., Tensor], xs: list[Tensor], v: np.ndarray | None) -> float:
    out = fn(*xs).data
    return float(np.sum(out if v is None else out * v))


def numerical_grad(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    method: str = "central",
    v: np.ndarray | None = None,
) -> list[np.ndarray | None]:
    """Finite-difference gradient of L = Σ v ⊙ fn(*inputs) (v = ones by default) for each input
    that requires grad (None for the others). `fn` is evaluated in the inputs' own dtype (so
    float32 round-off shows); the differences are returned as float64 arrays.

    central: (L(x + eps) - L(x - eps)) / (2 eps), error O(eps²) from truncation;
    forward: (L(x + eps) - L(x)) / eps, error O(eps). Both add round-off ~ machine eps / eps.
    `fn` runs with recording on, so it may itself call `tg.grad` (to check second derivatives).
    """
    if method not in ("central", "forward"):
        raise ValueError(f"numerical_grad: method must be 'central' or 'forward', got {method!r}")
    xs = _as_list(inputs)
    grads: list[np.ndarray | None] = []
    base = _projected(fn, xs, v) if method == "forward" else 0.0
    for x in xs:
        if not x.requires_grad:
            grads.append(None)
            continue
        grad = np.zeros(x.shape, dtype=np.float64)
        for j in np.ndindex(x.shape):  # perturb x in place, one element at a time
            orig = x.data[j]
            x.data[j] = orig + eps
            plus = _projected(fn, xs, v)
            if method == "central":
                x.data[j] = orig - eps
                grad[j] = (plus - _projected(fn, xs, v)) / (2 * eps)
            else:
                grad[j] = (plus - base) / eps
            x.data[j] = orig
        grads.append(grad)
    return grads


def _report(i: int, x: Tensor, analytic: np.ndarray, numeric: np.ndarray) -> str:
    err = np.abs(analytic - numeric)
    k = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
    scale = max(abs(analytic[k]), abs(numeric[k]), 1e-300) if err.size else 1.0
    return (
        f"  input {i} (shape {x.shape}): worst element {tuple(int(j) for j in k)}: "
        f"analytic {analytic[k]:.10g}, numerical {numeric[k]:.10g}, "
        f"relative error {err[k] / scale:.3g}"
    )


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """True if the analytic gradient of `fn` matches central differences for every input that
    requires grad, within |analytic - numerical| <= atol + rtol |numerical| elementwise.

    The check runs in float64 on copies of the inputs: eps = 1e-6 balances the O(eps²)
    truncation error of central differences against the ~1e-16/eps round-off of float64.
    On a mismatch it raises `GradcheckError` reporting, per input, the worst element, both
    values and the relative error (or returns False with raise_exception=False).
    """
    xs = [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) and x.data.dtype.kind == "f"
        else x
        for x in _as_list(inputs)
    ]
    out = fn(*xs)
    v = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(v)
    numeric = numerical_grad(fn, xs, eps=eps, method="central", v=v)
    lines = []
    for i, (x, num) in enumerate(zip(xs, numeric)):
        if num is None:
            continue
        ana = x.grad if x.grad is not None else np.zeros(x.shape)
        if not np.allclose(ana, num, rtol=rtol, atol=atol, equal_nan=False):
            lines.append(_report(i, x, ana, num))
    if not lines:
        return True
    if raise_exception:
        raise GradcheckError("gradcheck: analytic and numerical gradients differ\n" + "\n".join(lines))
    return False
