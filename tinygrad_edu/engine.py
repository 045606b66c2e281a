"""The backward engine: reverse-mode differentiation over the recorded graph.

The algorithm is micrograd's, with the topological order found by Kahn's method instead of a
recursive sort (so a 100,000-op chain is fine):

1. `count_consumers` walks the graph once and counts, for every intermediate tensor, how many
   recorded ops consume it.
2. `propagate` starts at the outputs with their seed gradients. A tensor is *ready* once every
   consumer has sent its contribution; only then is its summed gradient pushed through its op's
   backward rule (`step`). A reused intermediate (`b = a + a; c = b + b`) is thus propagated once,
   with its complete gradient, and gradients are freed as the pass goes. Leaves propagate nothing:
   their contributions are summed and handed back, for `backward` to add into `.grad` and for
   `grad` to return.

Around that loop, as small named steps: running a rule with its checks (`step`: the in-place
check `check_unchanged`, the create_graph check `check_recorded`, the anomaly check, the observers
of `register_hook`), fitting each gradient to its input's shape and dtype (`fit`: un-broadcasting
lives here, not in every op) and freeing each node once it has run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from tinygrad_edu import checks, hooks, ops, versions
from tinygrad_edu.core import Function, Tensor, wrap
from tinygrad_edu.grad_mode import Switch, check_finite, modes

_accumulate = threading.Lock()  # `x.grad += g` from two threads at once must not lose either


def count_consumers(roots: Sequence[Tensor]) -> dict[int, int]:
    """{id(t): how many recorded ops consume t} for the roots and every intermediate behind them."""
    uses = dict.fromkeys(map(id, roots), 0)
    stack = list(dict.fromkeys(roots))  # a root listed twice is still walked once
    while stack:
        node = stack.pop()._ctx
        if node is None:
            continue
        if node.inputs is None:
            raise RuntimeError(
                f"{type(node).__name__}: its saved values were already freed by an earlier backward(). "
                "Pass retain_graph=True to the first backward() to go through the graph twice."
            )
        for x, needed in zip(node.inputs, node.needs_input_grad):
            if needed and x._ctx is not None:  # leaves need no count: they propagate nothing
                k = id(x)
                if k in uses:
                    uses[k] += 1
                else:
                    uses[k] = 1
                    stack.append(x)
    return uses


def propagate(
    roots: Sequence[Tensor],
    seeds: Sequence[Tensor],
    create_graph: bool,
    retain_graph: bool,
    keep: Collection[int] = (),
) -> dict[int, tuple[Tensor, Tensor]]:
    """Push `seeds` back from `roots`. Returns {id(t): (t, its full gradient)} for every leaf
    reached and for every tensor whose id is in `keep`."""
    pending = count_consumers(roots)
    grads: dict[int, Tensor] = {}  # id(t) -> the gradient summed so far, for tensors not yet run
    for r, s in zip(roots, seeds):
        grads[id(r)] = grads[id(r)] + s if id(r) in grads else s
    ready = [r for r in dict.fromkeys(roots) if pending[id(r)] == 0]
    found: dict[int, tuple[Tensor, Tensor]] = {}
    anomaly = modes.anomaly
    # NOTE: under detect_anomaly the rules' own ops must not run the forward check, or sqrt'(0)
    # = g / (2 * 0) would be blamed on a Div forward instead of on the Sqrt's backward.
    with Switch(enabled=create_graph, anomaly=False):
        while ready:
            t = ready.pop()
            g = grads.pop(id(t))
            node = t._ctx
            if node is None or id(t) in keep:
                add_to(found, t, g)
            if node is None:
                continue
            in_grads = step(node, t, g, create_graph, anomaly)
            for x, needed, gx in zip(node.inputs, node.needs_input_grad, in_grads):
                if not needed:
                    continue
                # NOTE: `is not` on dtypes is only a cheap first look (the usual dtypes are
                # singletons); fit compares them properly.
                if (
                    type(gx) is not Tensor
                    or gx.data.shape != x.data.shape
                    or gx.data.dtype is not x.data.dtype
                ):
                    gx = fit(gx, x, node)
                k = id(x)
                if x._ctx is None:
                    add_to(found, x, gx)
                    continue
                grads[k] = grads[k] + gx if k in grads else gx
                pending[k] -= 1
                if pending[k] == 0:
                    ready.append(x)
            if not retain_graph:  # free the node's inputs and saved arrays as the pass goes
                node.inputs = None
                node.__dict__.clear()
    return found


def add_to(found: dict[int, tuple[Tensor, Tensor]], x: Tensor, g: Tensor) -> None:
    """Sum a gradient contribution for `x` into `found`."""
    k = id(x)
    found[k] = (x, found[k][1] + g) if k in found else (x, g)


def step(node: Function, out: Tensor, g: Tensor, create_graph: bool, anomaly: bool) -> tuple:
    """Run `node`'s backward rule on its output's gradient `g`: one gradient (or None) per input,
    as the rule returned them (propagate fits each to its input's shape and dtype)."""
    if node.made < versions.now:  # something was changed in place since the forward
        checks.check_unchanged(node, out)
    in_grads = node.backward(node, g)
    in_grads = in_grads if type(in_grads) is tuple else (in_grads,)
    if len(in_grads) != len(node.inputs):
        raise RuntimeError(
            f"{type(node).__name__}.backward returned {len(in_grads)} gradients for {len(node.inputs)} inputs"
        )
    if create_graph:  # the rule's result must itself be recorded
        checks.check_recorded(node, g, in_grads)
    if anomaly:
        check_finite(node, tuple(getattr(x, "data", x) for x in in_grads), "backward")
    for hook in hooks.registered:
        hook(out, node, g, in_grads)
    return in_grads


def fit(gx: Any, x: Tensor, node: Function) -> Tensor:
    """The gradient contribution for input `x`, reduced to x's shape, in x's dtype (a float32
    input used with a float64 constant still gets a float32 gradient, as in PyTorch)."""
    if gx is None:
        raise RuntimeError(f"{type(node).__name__}.backward returned None for an input that needs grad")
    if not isinstance(gx, Tensor):  # an array or a number from a rule that left the graph
        gx = Tensor(np.asarray(gx, dtype=x.dtype))  # (a Python float would become float32)
    if gx.shape != x.shape:
        with contextlib.suppress(ValueError):  # incompatible shapes are reported just below
            gx = ops.sum_to(gx, x.shape)
        if gx.shape != x.shape:
            raise RuntimeError(
                f"{type(node).__name__}.backward returned a gradient of shape {gx.shape} "
                f"for an input of shape {x.shape}"
            )
    return gx if gx.dtype == x.dtype else ops.Cast.apply(gx, dtype=x.dtype)


def seed(t: Tensor, grad: Any, fn: str) -> Tensor:
    """The gradient to start from at output `t`: `grad`, or 1 when t has a single element."""
    if not t.requires_grad:
        raise RuntimeError(
            f"{fn}: the tensor does not require grad (no input of the ops that made it "
            "was created with requires_grad=True, or it was computed under no_grad())"
        )
    if grad is None:
        if t.numel() != 1:
            raise RuntimeError(
                f"{fn}: the output has shape {t.shape}, not a single element, so the gradient "
                "to start from is ambiguous; pass it explicitly, e.g. backward(np.ones(shape)), "
                "or reduce the output to a scalar first (e.g. .sum())"
            )
        return wrap(np.array(1, dtype=t.dtype).reshape(t.shape))  # dt/dt = 1
    data = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=t.dtype)
    if data.shape != t.shape:
        raise ValueError(f"{fn}: gradient of shape {data.shape} for an output of shape {t.shape}")
    return Tensor(data)


def backward(t: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate dt/dleaf into `leaf.grad` for every leaf that requires grad (see Tensor.backward)."""
    owned: set[int] = set()  # the memory of the arrays handed to leaves in this pass
    for x, g in propagate([t], [seed(t, grad, "backward")], False, retain_graph).values():
        arr = g.data.copy() if shares_memory(g.data, owned) else g.data
        with _accumulate:
            if x.grad is None:
                x.grad = arr
            else:
                x.grad += arr


def shares_memory(arr: np.ndarray, owned: set[int]) -> bool:
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
    seeds = [seed(o, g, "grad") for o, g in zip(outs, grad_outputs)]
    retain = create_graph if retain_graph is None else retain_graph
    found = propagate(outs, seeds, create_graph, retain, keep={id(x) for x in ins})
    results = [found[id(x)][1] if id(x) in found else None for x in ins]
    owned: set[int] = set()
    for i, g in enumerate(results):
        if g is not None and shares_memory(g.data, owned):  # a copy: recorded (g * 1) under create_graph
            results[i] = g * 1 if create_graph else wrap(g.data.copy())
    for x, g in zip(ins, results):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: an input of shape {x.shape} was not used to compute the outputs "
                "(pass allow_unused=True to get None for it)"
            )
    return tuple(results)
