"""See the graph: Graphviz DOT text of the ops that produced a tensor.

`to_dot(t)` needs only the standard library. One box per op (its name, output shape and dtype),
one ellipse per leaf (its name, shape, requires_grad, and ‖grad‖ once `backward()` has filled
`.grad`), one grey ellipse per constant; edges run in data-flow direction, input -> op.

- `values=True` adds every node's value, `grads=True` its gradient: the entries themselves for
  scalars and tiny tensors, the mean and norm for larger ones. For the gradients `to_dot` runs
  a backward pass of its own (`tg.grad` with `retain_graph=True`, so `.grad` stays untouched
  and the graph stays drawable) and catches each intermediate's gradient through the engine's
  hook, so ops show theirs too, not only leaves.
- `direction="backward"` draws the edges the way gradients flow, op -> input.

`render(t, "graph.svg")` and the inline SVG of `draw(t)` in Jupyter use the optional `graphviz`
package (the `viz` extra) and the Graphviz `dot` program; without them `draw` shows the DOT text
and says which of the two is missing.

NOTE: `backward()` frees the graph as it goes (each node drops its inputs and saved values), so
after a plain `backward()` only the output's op is left to draw. Call
`backward(retain_graph=True)` to draw the whole graph together with the gradient norms, or
`to_dot(t, grads=True)` before `backward()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu import engine, hooks
from tinygrad_edu.core import Tensor
from tinygrad_edu.fileio import atomic_write
from tinygrad_edu.tracing import Stats, name_of, names_from

NO_PACKAGE = (
    'needs the graphviz Python package, which is not installed: pip install graphviz (the "viz" '
    'extra: pip install -e ".[viz]" in the clone); it also needs the Graphviz "dot" program. '
    "to_dot(tensor) gives the DOT text without them."
)
NO_DOT = (
    'needs the Graphviz "dot" program, which is not on PATH (the graphviz Python package is '
    "installed, but it only runs dot): apt install graphviz, brew install graphviz, conda install "
    "graphviz, or https://graphviz.org/download/. to_dot(tensor) gives the DOT text without it."
)
_FREED_NOTE = "graph freed by backward()\nuse backward(retain_graph=True)"
_STYLE = {
    "op": 'shape=box, style="rounded,filled", fillcolor="#fff2cc"',
    "freed": 'shape=box, style="rounded,dashed"',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#dae8fc"',
    "const": 'shape=ellipse, style=filled, fillcolor="#eeeeee", fontcolor="#555555"',
}
_EDGE_STYLE = {"forward": "", "backward": ' [color="#b85450", fontcolor="#b85450"]'}


def _shape(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}"


def _numbers(what: str, a: Any) -> str:
    """`grad = [1, 2]` for tiny arrays, `grad: mean 0.1 ‖·‖ 4.5` for larger ones."""
    s = Stats.of(a)
    return f"{what} = {s.summary()}" if s.entries is not None else f"{what}: {s.summary()}"


def _leaf_label(t: Tensor, names: dict[int, str], values: bool) -> list[str]:
    name = name_of(t, names)
    if not t.requires_grad:
        if t.numel() == 1:
            return [f"{name or 'const'} {t.data.item():.4g}", _shape(t)]
        return [name or "const", _shape(t)] + ([_numbers("value", t.data)] if values else [])
    lines = [name or "leaf", _shape(t), "requires_grad=True"]
    return lines + ([_numbers("value", t.data)] if values else [])


def _op_label(t: Tensor, names: dict[int, str], values: bool) -> list[str]:
    op = type(t._ctx).__name__
    name = name_of(t, names)
    lines = [f"{name} = {op}" if name else op, _shape(t)]
    if t._ctx.inputs is None:
        return lines + _FREED_NOTE.split("\n")
    return lines + ([_numbers("value", t.data)] if values else [])


def _escape(lines: list[str]) -> str:
    text = "\n".join(lines).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n")


def _gradients(tensor: Tensor, leaves: list[Tensor]) -> dict[int, np.ndarray]:
    """{id(t): d tensor / d t} for every op output in the graph of `tensor` and for `leaves`, by a
    backward pass that keeps the graph and leaves `.grad` alone."""
    if tensor.numel() != 1:
        raise ValueError(
            f"to_dot(grads=True): the tensor has shape {tensor.shape}, not a single element, so "
            "its gradient is ambiguous; draw a scalar (e.g. loss, or t.sum())"
        )
    found: dict[int, np.ndarray] = {}

    def catch(t: Tensor, node: Any, g: Tensor, input_grads: tuple) -> None:
        found[id(t)] = g.data

    handle = hooks.register_hook(catch)
    try:
        leaf_grads = engine.grad(tensor, leaves, retain_graph=True, allow_unused=True)
    finally:
        handle.remove()
    found.update((id(x), g.data) for x, g in zip(leaves, leaf_grads) if g is not None)
    return found


def _walk(tensor: Tensor) -> list[Tensor]:
    """Every tensor of the graph (each op's output, each leaf) once, outputs before inputs."""
    seen, order, stack = {id(tensor)}, [], [tensor]
    # NOTE: an explicit stack, not recursion: a 10,000-op chain must not hit Python's recursion limit.
    while stack:
        t = stack.pop()
        order.append(t)
        inputs = (t._ctx.inputs or ()) if t._ctx is not None else ()
        fresh = list({id(x): x for x in inputs if id(x) not in seen}.values())  # x * x: x once
        seen.update(map(id, fresh))
        stack += reversed(fresh)  # so inputs are declared, and drawn, left to right in order
    return order


def to_dot(
    tensor: Tensor,
    params: dict[str, Tensor] | None = None,
    *,
    values: bool = False,
    grads: bool = False,
    direction: str = "forward",
) -> str:
    """Graphviz DOT text of the graph that produced `tensor` (see the module docstring).

    `params` names leaves, e.g. `dict(model.named_parameters())`; otherwise `Tensor(..., name=)`
    does. Ops keep the name of their output tensor if it has one (`z1.name = "Z1"`).
    `values`/`grads` label every node with its value / its gradient d tensor / d node (grads
    needs a one-element tensor whose graph is still there); `direction` is "forward" (input ->
    op) or "backward" (op -> input, the way gradients flow).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if direction not in _EDGE_STYLE:
        raise ValueError(f'to_dot: direction must be "forward" or "backward", got {direction!r}')
    names = names_from(params)
    tensors = _walk(tensor)
    if grads:
        if any(t._ctx is not None and t._ctx.inputs is None for t in tensors):
            raise RuntimeError(
                "to_dot(grads=True): backward() already freed this graph; call to_dot before "
                "backward(), or after backward(retain_graph=True)"
            )
        leaves = [t for t in tensors if t._ctx is None and t.requires_grad]
        found = _gradients(tensor, leaves) if tensor.requires_grad else {}
    ids: dict[int, str] = {}  # one DOT node per op (keyed by the op) and per leaf (by the tensor)

    def node_id(t: Tensor) -> str:
        return ids.setdefault(id(t._ctx) if t._ctx is not None else id(t), f"n{len(ids)}")

    root = node_id(tensor)
    nodes, edges = [], []
    for t in tensors:
        nid = node_id(t)
        if t._ctx is None:
            kind = "leaf" if t.requires_grad else "const"
            lines, extra = _leaf_label(t, names, values), ""
            if t.requires_grad and not grads and t.grad is not None:
                lines.append(f"‖grad‖ = {float(np.linalg.norm(t.grad)):.4g}")
        else:
            kind = "freed" if t._ctx.inputs is None else "op"
            lines, extra = _op_label(t, names, values), ", penwidth=2" if nid == root else ""
            for x in t._ctx.inputs or ():
                pair = (node_id(x), nid) if direction == "forward" else (nid, node_id(x))
                edges.append(f"  {pair[0]} -> {pair[1]}{_EDGE_STYLE[direction]};")
        if grads and id(t) in found:
            lines.append(_numbers("grad", found[id(t)]))
        nodes.append(f'  {nid} [label="{_escape(lines)}", {_STYLE[kind]}{extra}];')
    header = ["digraph tinygrad_edu {", '  node [fontname="Helvetica", fontsize=10];']
    return "\n".join(header + nodes + edges + ["}"]) + "\n"


def _pipe(source: str, fmt: str, what: str) -> bytes:
    """`source` drawn by Graphviz's `dot` in format `fmt`; `what` names the caller in errors."""
    try:
        import graphviz
    except ImportError:
        raise RuntimeError(f"{what} {NO_PACKAGE}") from None
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(f"{what} {NO_DOT}") from None


class Graph:
    """A drawn graph: `str(g)` is the DOT text; Jupyter shows it inline as SVG, or, without
    Graphviz, the DOT text with what is missing."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return "<Graph: print() it for the DOT text, .render(path) to draw it>"

    def svg(self) -> str:
        """The drawing as SVG text (needs graphviz and `dot`)."""
        return _pipe(self.source, "svg", "draw").decode("utf-8")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            return {"image/svg+xml": self.svg(), "text/plain": repr(self)}
        except RuntimeError as e:
            return {"text/plain": f"{e}\n\nThe DOT text (paste it into any Graphviz viewer):\n{self.source}"}

    def render(self, path: str | os.PathLike) -> Path:
        """Draw to `path`; the format is its suffix (.svg, .png, .pdf, ...). Written atomically."""
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if not fmt:
            raise ValueError(f"render: {path} has no suffix to choose the format from (e.g. graph.svg)")
        try:
            data = _pipe(self.source, fmt, "render")
        except ValueError:
            raise ValueError(
                f"render: {path}: Graphviz cannot write {fmt!r} (use .svg, .png or .pdf)"
            ) from None
        with atomic_write(path) as f:
            f.write(data)
        return path


def draw(tensor: Tensor, params: dict[str, Tensor] | None = None, **options: Any) -> Graph:
    """The graph of `tensor` as a `Graph` (inline SVG in Jupyter); options as for `to_dot`."""
    return Graph(to_dot(tensor, params, **options))


def render(
    tensor: Tensor, path: str | os.PathLike, params: dict[str, Tensor] | None = None, **options: Any
) -> Path:
    """Draw the graph of `tensor` to `path` (format from the suffix): needs graphviz and `dot`.
    Options as for `to_dot`."""
    return draw(tensor, params, **options).render(path)
