"""Forward mode beside reverse mode: Jacobian-vector and vector-Jacobian products of a function.

For f: Rⁿ -> Rᵐ with Jacobian J (m × n) at x:

- `vjp(f, x, v)` = vᵀJ (reverse mode): one backward pass gives the derivative of one combination
  of the outputs with respect to every input. For a scalar loss (m = 1, v = 1) that is the whole
  gradient, which is why training uses reverse mode.
- `jvp(f, x, t)` = J t (forward mode): the derivative of every output along one direction t of
  the inputs: (d/dε) f(x + ε t) at ε = 0.
- `jacobian(f, x, strategy)`: J itself, by m VJPs (one per output, rows eᵢᵀJ) or by n JVPs (one
  per input, columns J eⱼ): reverse mode wins when m < n, forward mode when n < m
  (`python -m tinygrad_edu.experiments.modes` measures it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_edu import engine
from tinygrad_edu.core import Tensor
from tinygrad_edu.grad_mode import enable_grad, no_grad

Tensors = Tensor | Sequence[Tensor]


def _leaves(fn: str, inputs: Any) -> tuple[list[Tensor], bool]:
    """Fresh leaves that require grad, sharing the inputs' data; and whether one Tensor was given."""
    single = not isinstance(inputs, (list, tuple))
    xs = [inputs] if single else list(inputs)
    leaves = []
    for i, x in enumerate(xs):
        data = (x if isinstance(x, Tensor) else Tensor(x)).data
        if data.dtype.kind != "f":
            raise TypeError(
                f"{fn}: input {i} has dtype {data.dtype}; only floating-point inputs have derivatives"
            )
        leaves.append(Tensor(data, requires_grad=True))
    return leaves, single


def _vectors(fn: str, what: str, vectors: Any, like: Sequence[Tensor], single: bool) -> list[np.ndarray]:
    """`vectors` as arrays of the shapes and dtypes of `like`, one each (one vector if `single`)."""
    vs = [vectors] if single or not isinstance(vectors, (list, tuple)) else list(vectors)
    if len(vs) != len(like):
        raise ValueError(
            f"{fn}: {len(vs)} {what} for {len(like)} {'inputs' if what == 'tangents' else 'outputs'}"
        )
    arrays = []
    for i, (v, x) in enumerate(zip(vs, like)):
        a = np.asarray(v.data if isinstance(v, Tensor) else v)
        if a.shape != x.shape:
            raise ValueError(f"{fn}: {what[:-1]} {i} has shape {a.shape}, its tensor has shape {x.shape}")
        arrays.append(a.astype(x.dtype, copy=False))
    return arrays


def _outputs(fn: str, out: Any) -> tuple[list[Tensor], bool]:
    single = isinstance(out, Tensor)
    outs = [out] if single else list(out) if isinstance(out, (list, tuple)) else None
    if outs is None or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(
            f"{fn}: the function must return a Tensor or a tuple of Tensors, got {type(out).__name__}"
        )
    return outs, single


def _zeros_where_none(grads: Sequence[Tensor | None], like: Sequence[Tensor]) -> list[Tensor]:
    """A derivative the graph does not reach is 0 (the output does not depend on that input)."""
    return [Tensor(np.zeros(x.shape, x.dtype)) if g is None else Tensor(g.data) for g, x in zip(grads, like)]


def vjp(func: Callable[..., Any], inputs: Tensors, v: Any = None) -> tuple[Any, Any]:
    """(func(*inputs), vᵀJ): the vector-Jacobian product, one backward pass (reverse mode).

    `v` has one array per output (None for a one-element output: v = 1); the result has one
    gradient per input, shaped as the input. Inputs need not require grad; `.grad` is untouched.
    """
    xs, single_in = _leaves("vjp", inputs)
    with enable_grad():
        outs, single_out = _outputs("vjp", func(*xs))
    if v is None and any(o.numel() != 1 for o in outs):
        shapes = ", ".join(str(o.shape) for o in outs)
        raise ValueError(
            f"vjp: v is needed for outputs of shapes {shapes} (it may be left out for one element)"
        )
    vs = [None] * len(outs) if v is None else _vectors("vjp", "cotangents", v, outs, single_out)
    live = [(o, c) for o, c in zip(outs, vs) if o.requires_grad]
    grads = [None] * len(xs)
    if live:
        grads = engine.grad([o for o, _ in live], xs, [c for _, c in live], allow_unused=True)
    result = _zeros_where_none(grads, xs)
    return _detached(outs, single_out), result[0] if single_in else tuple(result)


def jvp(func: Callable[..., Any], inputs: Tensors, tangents: Any) -> tuple[Any, Any]:
    """(func(*inputs), J·tangents): the Jacobian-vector product, forward mode.

    `tangents` has one array per input, shaped as the input; the result has one derivative per
    output, shaped as the output. Inputs need not require grad; `.grad` is untouched.

    How: the double-VJP trick, a VJP of the VJP. With a dummy cotangent u (one per output),
    reverse mode gives g(u) = Jᵀu, a function of u that is linear. Then

        ⟨g(u), t⟩ = (Jᵀu)ᵀ t = uᵀ (J t),   so   ∇ᵤ ⟨g(u), t⟩ = J t,

    a second backward pass, through the graph of the first (recorded with create_graph=True),
    seeded with t. Since g is linear in u, the value of u does not matter: u = 0.

    Why not dual numbers (x + ε ẋ with ε² = 0, pushing ẋ forward through each op)? They cost one
    forward pass and keep no graph, but every op would need a second derivative rule, a JVP
    beside its VJP, each a new place for a wrong derivative. The double-VJP reuses the VJP rules
    that gradcheck already checks, and works for every op whose backward is differentiable
    (all of them: backward rules are written in Tensor ops). The price is a constant factor:
    a forward pass, a recorded backward pass and a backward pass through that, about 2-4 VJPs.
    """
    xs, single_in = _leaves("jvp", inputs)
    ts = _vectors("jvp", "tangents", tangents, xs, single_in)
    with enable_grad():
        outs, single_out = _outputs("jvp", func(*xs))
        live = [o for o in outs if o.requires_grad]
        us = [Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in live]
        result: list[Tensor | None] = [None] * len(outs)
        if live:
            # uᵀ f(x), summed over the outputs: its gradient in x is g(u) = Σ Jₖᵀ uₖ
            u_dot_f = sum((o * u).sum() for o, u in zip(live, us))
            g = engine.grad(u_dot_f, xs, create_graph=True, allow_unused=True)
            reached = [(gi, t) for gi, t in zip(g, ts) if gi is not None]
            if reached:
                g_dot_t = sum((gi * Tensor(t)).sum() for gi, t in reached)
                jts = iter(engine.grad(g_dot_t, us, allow_unused=True))
                result = [next(jts) if o.requires_grad else None for o in outs]
    result = _zeros_where_none(result, outs)
    return _detached(outs, single_out), result[0] if single_out else tuple(result)


def _detached(outs: list[Tensor], single: bool) -> Any:
    values = [Tensor(o.data) for o in outs]
    return values[0] if single else tuple(values)


def jacobian(func: Callable[[Tensor], Tensor], x: Any, strategy: str = "reverse-mode") -> Tensor:
    """The Jacobian of a one-input, one-output `func` at `x`, of shape func(x).shape + x.shape.

    `strategy="reverse-mode"` (PyTorch's default) runs one VJP per output element, each giving a
    row; `"forward-mode"` one JVP per input element, each giving a column.
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f'jacobian: strategy must be "reverse-mode" or "forward-mode", got {strategy!r}')
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    with no_grad():
        out = func(Tensor(x.data))
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: the function must return one Tensor, got {type(out).__name__}")
    J = np.zeros(out.shape + x.shape, out.dtype)
    if out.numel() and x.numel():
        if strategy == "reverse-mode":
            rows = [vjp(func, x, _unit(out, j))[1].data for j in range(out.numel())]
            J = np.stack(rows).reshape(J.shape)
        else:
            cols = [jvp(func, x, _unit(x, i))[1].data for i in range(x.numel())]
            J = np.stack(cols, axis=-1).reshape(J.shape)
    return Tensor(J)


def _unit(like: Tensor, i: int) -> np.ndarray:
    """The i-th basis vector (flat index) of `like`'s shape."""
    e = np.zeros(like.numel(), like.dtype)
    e[i] = 1
    return e.reshape(like.shape)
