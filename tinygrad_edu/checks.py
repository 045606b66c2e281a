"""The checks the engine runs around a backward rule (`engine.step`), each raising an error that
names the op: its inputs changed in place since the forward (`check_unchanged`), and, under
create_graph, a rule whose gradient left the graph (`check_recorded`). The third, detect_anomaly's
NaN/inf check, is `grad_mode.check_finite` (the forward runs it too)."""

from __future__ import annotations

import numpy as np

from tinygrad_edu import versions
from tinygrad_edu.core import Function, Tensor


def check_recorded(node: Function, g: Tensor, in_grads: tuple) -> None:
    """Under create_graph, refuse a backward rule that left the graph (it returned an array, or
    computed with arrays): its gradient would be a constant, and a second derivative through it
    silently missing. First derivatives do not need this, so only create_graph checks it.

    A rule written in Tensor ops is linear in g and records its use of g, so its result is
    recorded whenever g is, unless it is zero (a piecewise-constant op). When g is a constant
    (the seed, say), a constant result can also be right (an op linear in its input: g · c); for
    the package's ops, written in Tensor ops and tested to second order, that is the answer, and
    another op's rule is run once more on a recorded copy of g to tell the two apart.
    """
    for i, (needed, gx) in enumerate(zip(node.needs_input_grad, in_grads)):
        if not needed or gx is None or (isinstance(gx, Tensor) and gx._requires_grad):
            continue  # (None is reported by fit)
        if not isinstance(gx, Tensor):
            kind = "numpy array" if isinstance(gx, np.ndarray) else type(gx).__name__
            raise left_graph(node, i, f"a {kind} (not a Tensor)")
        if not gx.data.any():
            continue
        if g._requires_grad:
            raise left_graph(node, i, "a gradient that does not depend on the (recorded) upstream gradient g")
        if type(node).__module__.partition(".")[0] != "tinygrad_edu":
            probe = node.backward(node, Tensor(g.data, requires_grad=True))
            again = probe[i] if type(probe) is tuple else probe
            if not (isinstance(again, Tensor) and again._requires_grad):
                raise left_graph(node, i, "a Tensor computed outside the graph (from arrays)")


def left_graph(node: Function, i: int, what: str) -> RuntimeError:
    name = type(node).__name__
    return RuntimeError(
        f"{name}.backward returned {what} for input {i} (shape {node.inputs[i].shape}), but "
        "create_graph=True needs a gradient that can be differentiated again: write "
        f"{name}.backward in Tensor ops on g, ctx.inputs and ctx.output (no .numpy(), .data or "
        "np.*). First derivatives (create_graph=False) work as it is."
    )


def check_unchanged(node: Function, out: Tensor) -> None:
    """Refuse a node whose inputs or output were changed in place after it was recorded."""
    for what, x in [("output", out), *((f"input {i}", x) for i, x in enumerate(node.inputs))]:
        if versions.changed_since(x, node.made):
            raise RuntimeError(
                f"{type(node).__name__}.backward: its {what} (shape {x.shape}) was changed in place "
                "after the op was recorded (an optimizer step, `-=` under no_grad, load_state_dict, "
                "nn.init), so its rule could compute with the new values: run the forward again "
                "after the change, or change a copy"
            )
