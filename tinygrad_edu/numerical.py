"""Check analytic gradients against finite differences.

`gradcheck` compares the whole Jacobian of f, entry by entry, as PyTorch's default does: the
analytic one row by row (one backward pass per output element, with a unit upstream gradient),
the numerical one column by column (f at x ± eps for one input element at a time). With
`fast_mode=True` both sides compute only a random projection v·J (one backward pass): cheaper,
but an error confined to a few entries can hide in the sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.engine import grad


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree; the message has the per-input report."""


def _as_list(inputs: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _outputs(out: Any) -> list[Tensor]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(out).__name__}")
    return outs


def _flat(fn: Callable[..., Any], xs: list[Any]) -> np.ndarray:
    """All of fn's outputs as one float64 vector."""
    return np.concatenate([np.asarray(o.data, dtype=np.float64).ravel() for o in _outputs(fn(*xs))])


def _at(fn: Callable[..., Any], xs: list[Any], x: Tensor, j: tuple, value: Any) -> np.ndarray:
    """`_flat(fn, xs)` with x[j] set to `value`; x[j] is restored even if fn raises."""
    orig = x.data[j]
    x.data[j] = value
    try:
        return _flat(fn, xs)
    finally:
        x.data[j] = orig


def _needs_grad(x: Any) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def _check_writable(xs: list[Any], what: str) -> None:
    """Inputs are perturbed in place (so closures see the change): their arrays must be writable."""
    for i, x in enumerate(xs):
        if _needs_grad(x) and not x.data.flags.writeable:
            raise ValueError(
                f"{what}: input {i} (shape {x.shape}) is read-only, and finite differences change it in "
                "place; pass a writable copy, e.g. Tensor(x.data.copy(), requires_grad=True)"
            )


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
    _check_writable(xs, "numerical_grad")
    grads: list[np.ndarray | None] = []
    for x in xs:
        if _needs_grad(x):
            jac = _numerical_jacobian(fn, xs, x, eps, method)
            weights = np.ones(len(jac)) if v is None else np.asarray(v, dtype=np.float64).ravel()
            grads.append((weights @ jac).reshape(x.shape))
        else:
            grads.append(None)
    return grads


def _numerical_jacobian(
    fn: Callable[..., Any], xs: list[Any], x: Tensor, eps: float, method: str = "central"
) -> np.ndarray:
    """d fn / dx by finite differences, shape (output elements, x elements): one column per
    element of x, from fn with that element moved by eps (and by -eps, or not at all)."""
    base = _flat(fn, xs) if method == "forward" else None
    cols = []
    for j in np.ndindex(x.shape):
        plus = _at(fn, xs, x, j, x.data[j] + eps)
        if method == "central":
            cols.append((plus - _at(fn, xs, x, j, x.data[j] - eps)) / (2 * eps))
        else:
            cols.append((plus - base) / eps)
    return np.stack(cols, axis=1) if cols else np.zeros((_flat(fn, xs).size, 0))


def _analytic_rows(outs: list[Tensor], wrt: list[Tensor], seeds: list[np.ndarray]) -> list[np.ndarray]:
    """Σ_k seed_k · d out_k / d x for each x in wrt (flattened), through tg.grad: no `.grad` changes."""
    live = [(o, s.reshape(o.shape)) for o, s in zip(outs, seeds) if o.requires_grad]
    if not live:  # no output depends on a checked input
        return [np.zeros(x.numel()) for x in wrt]
    found = grad(
        [o for o, _ in live], wrt, grad_outputs=[s for _, s in live], retain_graph=True, allow_unused=True
    )
    return [
        np.zeros(x.numel()) if g is None else g.data.ravel().astype(np.float64) for x, g in zip(wrt, found)
    ]


def _split(flat: np.ndarray, outs: list[Tensor]) -> list[np.ndarray]:
    return np.split(flat, np.cumsum([o.numel() for o in outs])[:-1])


def _report(i: int, x: Tensor, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> str:
    """The entry furthest beyond its tolerance: (output element, input element) or, with one
    output element or a projection, the input element alone."""
    beyond = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    k = np.unravel_index(int(np.argmax(beyond)), analytic.shape)
    out_k, x_k = (k[0], k[1]) if analytic.ndim == 2 else (None, k[0])
    a, n = analytic[k], numeric[k]
    where = tuple(int(j) for j in np.unravel_index(x_k, x.shape))
    line = (
        f"  input {i} (shape {x.shape}): worst element {where}: analytic {a:.10g}, numerical {n:.10g}, "
        f"relative error {abs(a - n) / max(abs(a), abs(n), 1e-300):.3g}"
    )
    return line if out_k is None else f"{line} (for output element {int(out_k)} of the flattened outputs)"


def _check_copies_reached(outs: list[Tensor], checked: list[tuple[int, Tensor]], given: list) -> None:
    """Refuse a check that would test nothing: an input given in float32 (or float16) is checked on a
    float64 copy, and if the outputs do not depend on the copy (the function reaches the original
    through a closure), both Jacobians are zero and the check would pass whatever the rules are."""
    reached, stack = set(), [o for o in outs if o._ctx is not None]
    while stack:
        node = stack.pop()._ctx
        for x in node.inputs or ():
            if id(x) not in reached:
                reached.add(id(x))
                if x._ctx is not None:
                    stack.append(x)
    for i, x in checked:
        if x is not given[i] and id(x) not in reached:
            raise ValueError(
                f"gradcheck: the output does not depend on input {i} (shape {x.shape}), given as "
                f"{given[i].dtype} and so checked on a float64 copy: a function that reaches the "
                "original through a closure sees it unperturbed, and the check would test nothing. "
                "Pass the tensor as an argument of the function, or give it in float64"
            )


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """True if the analytic Jacobian of `fn` (one Tensor or a tuple of them) matches central
    differences for every input that requires grad, entry by entry:
    |analytic - numerical| <= atol + rtol |numerical| (PyTorch's rule and defaults).

    float64 inputs are perturbed in place and restored, so `fn` may also reach them through a
    closure (a model's parameters); other float inputs are checked on float64 copies, since
    eps = 1e-6 balances the O(eps²) truncation error of central differences against the
    ~1e-16/eps round-off of float64. No tensor's `.grad` is changed. On a mismatch it raises
    `GradcheckError` reporting, per input, the entry furthest beyond its tolerance, both values
    and the relative error (or returns False with raise_exception=False).
    """
    xs = [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) and x.data.dtype.kind == "f" and x.data.dtype != np.float64
        else x
        for x in _as_list(inputs)
    ]
    _check_writable(xs, "gradcheck")
    checked = [(i, x) for i, x in enumerate(xs) if _needs_grad(x)]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    wrt = [x for _, x in checked]
    outs = _outputs(fn(*xs))
    _check_copies_reached(outs, checked, _as_list(inputs))
    n_out = sum(o.numel() for o in outs)
    if fast_mode:
        v = np.random.default_rng(seed).standard_normal(n_out)
        analytic = _analytic_rows(outs, wrt, _split(v, outs))
        numeric = [g.ravel() for g in numerical_grad(fn, xs, eps, "central", v) if g is not None]
    else:
        rows = [_analytic_rows(outs, wrt, _split(np.eye(1, n_out, k).ravel(), outs)) for k in range(n_out)]
        analytic = [np.array([r[m] for r in rows]).reshape(n_out, x.numel()) for m, x in enumerate(wrt)]
        numeric = [_numerical_jacobian(fn, xs, x, eps) for x in wrt]
        if n_out == 1:  # one row: report the input element alone
            analytic, numeric = [a[0] for a in analytic], [n[0] for n in numeric]
    lines = [
        _report(i, x, a, n, atol, rtol)
        for (i, x), a, n in zip(checked, analytic, numeric)
        if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=False)
    ]
    if not lines:
        return True
    if raise_exception:
        raise GradcheckError("gradcheck: analytic and numerical gradients differ\n" + "\n".join(lines))
    return False
