"""The backward engine: reverse-mode differentiation over the recorded graph.

1. `_count_uses` walks the graph once (with an explicit stack, so a 10,000-op chain is fine)
   and counts, for every intermediate tensor, how many recorded ops consume it.
2. `_run` starts at the outputs with their seed gradients. A tensor is *ready* once every
   consumer has sent its gradient contribution (its count drops to 0); only then is its
   summed gradient popped from the dict and pushed through its op's backward rule. This is
   Kahn's topological order: a reused intermediate (`b = a + a; c = b + b`) is propagated
   once, with its complete gradient, and popped gradients are freed as the pass goes.
   Leaves (parameters, inputs) propagate nothing: their contributions are just summed and
   handed back, for `backward` to add into `.grad` and for `grad` to return.
3. Each contribution is reduced to its input's shape (`sum_to`): un-broadcasting lives here,
   not in every op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from tinygrad_edu import function
from tinygrad_edu.function import Function, _check_finite, _GradMode, _Switch
from tinygrad_edu.ops import Cast, sum_to
from tinygrad_edu.tensor import Tensor, _wrap

# Observers called as hook(tensor, node, grad, input_grads) at each node (see tinygrad_edu.trace).
_hooks: list[Callable[..., None]] = []

_FREED = (
    "{op}: its saved values were already freed by an earlier backward(). "
    "Pass retain_graph=True to the first backward() to go through the graph twice."
)


def _count_uses(roots: Sequence[Tensor]) -> dict[int, int]:
    uses: dict[int, int] = dict.fromkeys(map(id, roots), 0)
    stack = list(dict.fromkeys(roots))  # a root listed twice is still walked once
    while stack:
        node = stack.pop()._ctx
        if node is None:
            continue
        if node.inputs is None:
            raise RuntimeError(_FREED.format(op=type(node).__name__))
        for x, needed in zip(node.inputs, node.needs_input_grad):
            if needed and x._ctx is not None:  # leaves need no count: they propagate nothing
                if id(x) in uses:
                    uses[id(x)] += 1
                else:
                    uses[id(x)] = 1
                    stack.append(x)
    return uses


def _run(
    roots: Sequence[Tensor],
    seeds: Sequence[Tensor],
    create_graph: bool,
    retain_graph: bool,
    keep: Collection[int] = (),
) -> dict[int, tuple[Tensor, Tensor]]:
    """Propagate `seeds` back from `roots`.

    Returns {id(t): (t, full gradient of t)} for every leaf reached and for every tensor whose id
    is in `keep`. Leaves propagate nothing, so they are neither counted nor queued: their
    contributions are only summed.
    """
    uses = _count_uses(roots)
    grads: dict[int, Tensor] = {}
    for r, s in zip(roots, seeds):
        grads[id(r)] = grads[id(r)] + s if id(r) in grads else s
    ready = [r for r in dict.fromkeys(roots) if uses[id(r)] == 0]
    final: dict[int, tuple[Tensor, Tensor]] = {}
    anomaly = _GradMode.anomaly
    # NOTE: under detect_anomaly the rules' own ops must not run the forward check, or sqrt'(0)
    # = g / (2 * 0) would be blamed on a Div forward instead of on the Sqrt's backward.
    with _Switch(enabled=create_graph, anomaly=False):
        while ready:
            t = ready.pop()
            g = grads.pop(id(t))
            node = t._ctx
            if node is None or id(t) in keep:
                _add(final, t, g)
                if node is None:
                    continue
            if node._made < function._now:  # something was changed in place since the forward
                _check_unchanged(node, t)
            in_grads = _call_backward(node, g, anomaly)
            for hook in _hooks:
                hook(t, node, g, in_grads)
            for x, needed, gx in zip(node.inputs, node.needs_input_grad, in_grads):
                if not needed:
                    continue
                # NOTE: `is not` on dtypes is only a cheap first look (the usual dtypes are
                # singletons); _fit compares them properly.
                if (
                    type(gx) is not Tensor
                    or gx.data.shape != x.data.shape
                    or gx.data.dtype is not x.data.dtype
                ):
                    gx = _fit(gx, x, node)
                if x._ctx is None:
                    _add(final, x, gx)
                    continue
                k = id(x)
                grads[k] = grads[k] + gx if k in grads else gx
                uses[k] -= 1
                if uses[k] == 0:
                    ready.append(x)
            if not retain_graph:
                node.inputs = None
                node.__dict__.clear()
    return final


def _add(final: dict[int, tuple[Tensor, Tensor]], x: Tensor, g: Tensor) -> None:
    k = id(x)
    final[k] = (x, final[k][1] + g) if k in final else (x, g)


def _check_unchanged(node: Function, out: Tensor) -> None:
    for what, x in [("output", out), *((f"input {i}", x) for i, x in enumerate(node.inputs))]:
        if function.changed_since(x, node._made):
            raise RuntimeError(
                f"{type(node).__name__}.backward: its {what} (shape {x.shape}) was changed in place "
                "after the op was recorded (an optimizer step, `-=` under no_grad, load_state_dict, "
                "nn.init), so its rule could compute with the new values: run the forward again "
                "after the change, or change a copy"
            )


def _call_backward(node: Function, g: Tensor, anomaly: bool) -> tuple:
    """node's backward rule, as one gradient (or None) per input."""
    grads = node.backward(node, g)
    grads = grads if type(grads) is tuple else (grads,)
    if len(grads) != len(node.inputs):
        raise RuntimeError(
            f"{type(node).__name__}.backward returned {len(grads)} gradients for {len(node.inputs)} inputs"
        )
    if anomaly:
        _check_finite(node, tuple(getattr(x, "data", x) for x in grads), "backward")
    return grads


def _fit(gx: Any, x: Tensor, node: Function) -> Tensor:
    """The gradient contribution for input `x`, reduced to x's shape, in x's dtype (a float32
    input used with a float64 constant still gets a float32 gradient, as in PyTorch)."""
    if gx is None:
        raise RuntimeError(f"{type(node).__name__}.backward returned None for an input that needs grad")
    if not isinstance(gx, Tensor):
        gx = Tensor(gx)
    if gx.shape != x.shape:
        with contextlib.suppress(ValueError):  # incompatible shapes are reported just below
            gx = sum_to(gx, x.shape)
        if gx.shape != x.shape:
            raise RuntimeError(
                f"{type(node).__name__}.backward returned a gradient of shape {gx.shape} "
                f"for an input of shape {x.shape}"
            )
    return gx if gx.dtype == x.dtype else Cast.apply(gx, dtype=x.dtype)


def _seed(t: Tensor, grad: Any, fn: str) -> Tensor:
    if not t.requires_grad:
        raise RuntimeError(
            f"{fn}: the tensor does not require grad (no input of the ops that made it "
            "was created with requires_grad=True, or it was computed under no_grad())"
        )
    if grad is None:
        if t.size != 1:
            raise RuntimeError(
                f"{fn}: the output has shape {t.shape}, not a single element, so the gradient "
                "to start from is ambiguous; pass it explicitly, e.g. backward(np.ones(shape)), "
                "or reduce the output to a scalar first (e.g. .sum())"
            )
        return _wrap(np.array(1, dtype=t.dtype).reshape(t.shape))  # dt/dt = 1
    data = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=t.dtype)
    if data.shape != t.shape:
        raise ValueError(f"{fn}: gradient of shape {data.shape} for an output of shape {t.shape}")
    return Tensor(data)


def backward(t: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate dt/dleaf into `leaf.grad` for every leaf that requires grad (see Tensor.backward)."""
    owned: set[int] = set()  # the memory of the arrays handed to leaves in this pass
    for x, g in _run([t], [_seed(t, grad, "backward")], False, retain_graph).values():
        arr = g.data.copy() if _shared(g.data, owned) else g.data
        if x.grad is None:
            x.grad = arr
        else:
            x.grad += arr


def _shared(arr: np.ndarray, owned: set[int]) -> bool:
    """Whether a result needs a copy of `arr`: an earlier result holds its memory, or it is a
    read-only view. Notes its memory in `owned`.

    NOTE: Add passes one gradient to both inputs, and Expand's is a broadcast view; results get
    changed in place (`.grad +=`, optimizers, `g -= ...`), and one must never change another.
    """
    memory = id(arr if arr.base is None else arr.base)
    shared = memory in owned or not arr.flags.writeable
    owned.add(memory)
    return shared


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, returned as Tensors (`.grad` untouched).

    With `create_graph=True` the backward rules are recorded, so the returned gradients are
    differentiable again: `grad(grad(f, x, create_graph=True)[0] @ v, x)` is a Hessian-vector
    product. `retain_graph` defaults to `create_graph`.
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for x in ins:
        if not x.requires_grad:
            raise RuntimeError(
                f"grad: an input of shape {x.shape} does not require grad, so it has no gradient "
                "(create it with requires_grad=True)"
            )
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outs)} outputs")
    seeds = [_seed(o, g, "grad") for o, g in zip(outs, grad_outputs)]
    retain = create_graph if retain_graph is None else retain_graph
    final = _run(outs, seeds, create_graph, retain, keep={id(x) for x in ins})
    found = [final[id(x)][1] if id(x) in final else None for x in ins]
    owned: set[int] = set()
    for i, g in enumerate(found):
        if g is not None and _shared(g.data, owned):  # a copy: recorded (g * 1) under create_graph
            found[i] = g * 1 if create_graph else _wrap(g.data.copy())
    for x, g in zip(ins, found):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: an input of shape {x.shape} was not used to compute the outputs "
                "(pass allow_unused=True to get None for it)"
            )
    return tuple(found)
