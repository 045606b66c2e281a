"""See the graph: Graphviz DOT text of the ops that produced a tensor.

`to_dot(t)` needs only the standard library. One box per op (its name, output shape and dtype),
one ellipse per leaf (its name, shape, requires_grad, and ‖grad‖ once `backward()` has filled
`.grad`), one grey ellipse per constant; edges run in data-flow direction, input -> op.
`render(t, "graph.svg")` and the inline SVG of `draw(t)` in Jupyter use the optional `graphviz`
package and the Graphviz `dot` program.

NOTE: `backward()` frees the graph as it goes (each node drops its inputs and saved values), so
after a plain `backward()` only the output's op is left to draw. Call
`backward(retain_graph=True)` to draw the whole graph together with the gradient norms.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.fileio import atomic_write

INSTALL_HINT = (
    'needs the graphviz Python package and the Graphviz "dot" program: '
    'pip install graphviz (or pip install -e ".[viz]" in the clone), and install Graphviz itself '
    "(apt install graphviz, brew install graphviz, conda install graphviz, "
    "or https://graphviz.org/download/). "
    "to_dot(tensor) gives the DOT text without them."
)
_FREED_NOTE = "graph freed by backward()\nuse backward(retain_graph=True)"
_STYLE = {
    "op": 'shape=box, style="rounded,filled", fillcolor="#fff2cc"',
    "freed": 'shape=box, style="rounded,dashed"',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#dae8fc"',
    "const": 'shape=ellipse, style=filled, fillcolor="#eeeeee", fontcolor="#555555"',
}


def names_from(params: dict[str, Tensor] | None) -> dict[int, str]:
    """{id(tensor): name} for `params` (e.g. `dict(model.named_parameters())`)."""
    return {id(t): name for name, t in (params or {}).items()}


def name_of(t: Tensor, names: dict[int, str]) -> str | None:
    """The tensor's name from `params` first, else `Tensor.name`."""
    return names.get(id(t)) or t.name


def _shape(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}"


def _leaf_label(t: Tensor, names: dict[int, str]) -> list[str]:
    name = name_of(t, names)
    if not t.requires_grad:
        value = f" {t.data.item():.4g}" if t.size == 1 else ""
        return [(name or "const") + value, _shape(t)]
    lines = [name or "leaf", _shape(t), "requires_grad=True"]
    if t.grad is not None:
        lines.append(f"‖grad‖ = {float(np.linalg.norm(t.grad)):.4g}")
    return lines


def _op_label(t: Tensor, names: dict[int, str]) -> list[str]:
    op = type(t._ctx).__name__
    name = name_of(t, names)
    lines = [f"{name} = {op}" if name else op, _shape(t)]
    if t._ctx.inputs is None:
        lines += _FREED_NOTE.split("\n")
    return lines


def _escape(lines: list[str]) -> str:
    text = "\n".join(lines).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n")


def to_dot(tensor: Tensor, params: dict[str, Tensor] | None = None) -> str:
    """Graphviz DOT text of the graph that produced `tensor` (see the module docstring).

    `params` names leaves, e.g. `dict(model.named_parameters())`; otherwise `Tensor(..., name=)`
    does. Ops keep the name of their output tensor if it has one (`z1.name = "Z1"`).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = names_from(params)
    ids: dict[int, str] = {}  # one DOT node per op (keyed by the op) and per leaf (by the tensor)
    nodes: list[str] = []
    edges: list[str] = []

    def node_id(t: Tensor) -> str:
        return ids.setdefault(id(t._ctx) if t._ctx is not None else id(t), f"n{len(ids)}")

    # NOTE: an explicit stack, not recursion: a 10,000-op chain must not hit Python's recursion limit.
    root = node_id(tensor)
    stack = [tensor]
    while stack:
        t = stack.pop()
        nid = node_id(t)
        if t._ctx is None:
            kind = "leaf" if t.requires_grad else "const"
            nodes.append(f'  {nid} [label="{_escape(_leaf_label(t, names))}", {_STYLE[kind]}];')
            continue
        kind = "freed" if t._ctx.inputs is None else "op"
        extra = ", penwidth=2" if nid == root else ""
        nodes.append(f'  {nid} [label="{_escape(_op_label(t, names))}", {_STYLE[kind]}{extra}];')
        fresh = []
        for x in t._ctx.inputs or ():
            seen = len(ids)
            edges.append(f"  {node_id(x)} -> {nid};")
            if len(ids) > seen:
                fresh.append(x)
        stack += reversed(fresh)  # so inputs are declared, and drawn, left to right in order
    header = ["digraph tinygrad_edu {", '  node [fontname="Helvetica", fontsize=10];']
    return "\n".join(header + nodes + edges + ["}"]) + "\n"


def _pipe(source: str, fmt: str, what: str) -> bytes:
    """`source` drawn by Graphviz's `dot` in format `fmt`; `what` names the caller in errors."""
    try:
        import graphviz
    except ImportError:
        raise RuntimeError(f"{what} {INSTALL_HINT}") from None
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(f"{what} {INSTALL_HINT}") from None


class Graph:
    """A drawn graph: `str(g)` is the DOT text; Jupyter shows it inline as SVG (`_repr_svg_`)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return "<Graph: print() it for the DOT text, .render(path) to draw it>"

    def _repr_svg_(self) -> str | None:
        try:
            return _pipe(self.source, "svg", "_repr_svg_").decode("utf-8")
        except RuntimeError:
            return None  # Jupyter then falls back to the text repr

    def render(self, path: str | os.PathLike) -> Path:
        """Draw to `path`; the format is its suffix (.svg, .png, .pdf, ...). Written atomically."""
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if not fmt:
            raise ValueError(f"render: {path} has no suffix to choose the format from (e.g. graph.svg)")
        data = _pipe(self.source, fmt, "render")
        with atomic_write(path) as f:
            f.write(data)
        return path


def draw(tensor: Tensor, params: dict[str, Tensor] | None = None) -> Graph:
    """The graph of `tensor` as a `Graph` (inline SVG in Jupyter)."""
    return Graph(to_dot(tensor, params))


def render(tensor: Tensor, path: str | os.PathLike, params: dict[str, Tensor] | None = None) -> Path:
    """Draw the graph of `tensor` to `path` (format from the suffix): needs graphviz and `dot`."""
    return draw(tensor, params).render(path)
