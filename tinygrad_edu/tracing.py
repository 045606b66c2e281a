"""Trace the backward pass: which node the engine visits, in which order, with which shapes.

    with tg.trace() as t:
        loss.backward()
    print(t)        # one row per node: op, incoming grad, outgoing grads, the rule applied
    t.rows          # the same as data (`TraceRow`s)

`tg.trace(values=True)` also records each node's output value and the gradients' statistics
(`Stats`: shape, mean, norm, and the entries themselves for tiny tensors), so a gradient can be
watched as it flows. In Jupyter a trace shows as an HTML table.

Each row's rule is the first line of the op's backward docstring, so the table lines up with the
hand-derived equations (see docs/from-hand-derived-to-autograd.md).
"""

from __future__ import annotations

import html
import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_edu import hooks
from tinygrad_edu.core import Function, Tensor

Shape = tuple[int, ...]
TINY = 4  # tensors with at most this many elements show their entries, larger ones a summary


def names_from(params: dict[str, Tensor] | None) -> dict[int, str]:
    """{id(tensor): name} for `params` (e.g. `dict(model.named_parameters())`)."""
    return {id(t): name for name, t in (params or {}).items()}


def name_of(t: Tensor, names: dict[int, str]) -> str | None:
    """The tensor's name from `params` first, else `Tensor.name`."""
    return names.get(id(t)) or t.name


@dataclass(frozen=True)
class Stats:
    """What a student can read of an array: its shape, mean and norm, and for tiny arrays
    (at most `TINY` elements) the entries themselves."""

    shape: Shape
    mean: float
    norm: float
    entries: tuple[float, ...] | None  # None for arrays of more than TINY elements

    @classmethod
    def of(cls, a: Any) -> Stats:
        """The statistics of an array or Tensor, computed in float64."""
        a = np.asarray(getattr(a, "data", a)).astype(np.float64, copy=False)
        entries = tuple(a.ravel().tolist()) if a.size <= TINY else None
        mean = float(a.mean()) if a.size else float("nan")
        return cls(tuple(a.shape), mean, float(np.linalg.norm(a.ravel())), entries)

    def summary(self) -> str:
        """The numbers without the shape: `3`, `[1, -2]`, or `mean 0.1 ‖·‖ 4.5`."""
        if self.entries is None:
            return f"mean {self.mean:.4g} ‖·‖ {self.norm:.4g}"
        if self.shape == ():
            return f"{self.entries[0]:.4g}"
        a = np.reshape(self.entries, self.shape)
        text = np.array2string(a, separator=", ", formatter={"float_kind": lambda v: f"{v:.4g}"})
        return text.replace("\n", "")  # rows of a matrix on one line

    def __str__(self) -> str:
        return self.summary() if self.entries is not None else f"{self.shape} {self.summary()}"


@dataclass(frozen=True)
class TraceRow:
    """One node of the backward pass.

    `input_grad_shapes[i]` is the shape the backward rule returned for input i (None if the
    input needs no gradient); the engine then sums it down to `input_shapes[i]` (un-broadcasting).
    The `Stats` fields are filled by `trace(values=True)` only: `value` of the op's output, `grad`
    the gradient coming in, `input_grads` those going out (as the rule returned them).
    """

    step: int
    op: str
    output: str | None  # the name of the op's output tensor, if it has one
    grad_shape: Shape
    inputs: tuple[str, ...]  # each input: its name, the op that made it, or "const"
    input_shapes: tuple[Shape, ...]
    input_grad_shapes: tuple[Shape | None, ...]
    rule: str
    value: Stats | None = None
    grad: Stats | None = None
    input_grads: tuple[Stats | None, ...] | None = None


def rule_of(node: Function) -> str:
    """The first line of the op's backward docstring: the local derivative it applies."""
    doc = inspect.getdoc(type(node).backward)
    return doc.splitlines()[0].strip() if doc else ""


def _describe(x: Tensor, names: dict[int, str]) -> str:
    name = name_of(x, names)
    if name:
        return name
    if x._ctx is not None:
        return type(x._ctx).__name__
    return "leaf" if x.requires_grad else "const"


def _fmt(shape: Shape | None) -> str:
    return "-" if shape is None else str(tuple(shape))


class Trace:
    """The rows recorded by `trace()`; `print()` it for an aligned table (HTML in Jupyter)."""

    def __init__(self, params: dict[str, Tensor] | None = None, values: bool = False) -> None:
        self.rows: list[TraceRow] = []
        self.values = values
        self._names = names_from(params)
        self._thread = threading.get_ident()  # backward passes of other threads are not ours

    def _record(self, t: Tensor, node: Function, grad: Any, input_grads: tuple) -> None:
        if threading.get_ident() != self._thread:
            return
        inputs = node.inputs
        kept = [g if g is not None and need else None for g, need in zip(input_grads, node.needs_input_grad)]
        stats = {}
        if self.values:
            stats = dict(
                value=Stats.of(t),
                grad=Stats.of(grad),
                input_grads=tuple(None if g is None else Stats.of(g) for g in kept),
            )
        row = TraceRow(
            step=len(self.rows) + 1,
            op=type(node).__name__,
            output=name_of(t, self._names),
            grad_shape=tuple(np.shape(grad)),
            inputs=tuple(_describe(x, self._names) for x in inputs),
            input_shapes=tuple(tuple(x.shape) for x in inputs),
            input_grad_shapes=tuple(None if g is None else tuple(np.shape(g)) for g in kept),
            rule=rule_of(node),
            **stats,
        )
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<Trace: {len(self.rows)} backward steps; print() it for the table>"

    def table(self) -> list[tuple[str, ...]]:
        """The table as text cells, header first: what `print()` aligns and Jupyter shows."""
        values = self.values
        header = ("step", "op") + (("value",) if values else ())
        header += ("grad in", "grads out, per input (-> summed to its shape)", "rule")
        lines = [header]
        for r in self.rows:
            outs = []
            for i, (name, shape, g) in enumerate(zip(r.inputs, r.input_shapes, r.input_grad_shapes)):
                stats = r.input_grads[i] if values else None
                reduced = f" -> {_fmt(shape)}" if g is not None and g != shape else ""
                outs.append(f"{name} {_fmt(g) if stats is None else stats}{reduced}")
            op = f"{r.output} = {r.op}" if r.output else r.op
            cells = (str(r.step), op) + ((str(r.value),) if values else ())
            grad_in = str(r.grad) if values else _fmt(r.grad_shape)
            lines.append((*cells, grad_in, ", ".join(outs), r.rule or "-"))
        return lines

    def __str__(self) -> str:
        lines = self.table()
        widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]) - 1)]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in lines
        )

    def _repr_html_(self) -> str:
        header, *rows = self.table()

        def tr(cells: tuple[str, ...], tag: str) -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

        body = "\n".join(tr(r, "td") for r in rows)
        return f"<table>\n<thead>{tr(header, 'th')}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


@contextmanager
def trace(params: dict[str, Tensor] | None = None, values: bool = False) -> Iterator[Trace]:
    """Record every node the backward engine visits inside the block, in this thread (see the
    module docstring).

    `params` names leaves in the table, e.g. `dict(model.named_parameters())`. `values=True`
    also records each output's value and the gradients' `Stats`, and shows them in the table.
    """
    t = Trace(params, values)
    handle = hooks.register_hook(t._record)
    try:
        yield t
    finally:
        handle.remove()
