"""Trace the backward pass: which node the engine visits, in which order, with which shapes.

    with tg.trace() as t:
        loss.backward()
    print(t)        # one row per node: op, incoming grad, outgoing grads, the rule applied
    t.rows          # the same as data (`TraceRow`s)

Each row's rule is the first line of the op's backward docstring, so the table lines up with the
hand-derived equations (see docs/from-hand-derived-to-autograd.md).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_edu import engine
from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.viz import name_of, names_from

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TraceRow:
    """One node of the backward pass.

    `input_grad_shapes[i]` is the shape the backward rule returned for input i (None if the
    input needs no gradient); the engine then sums it down to `input_shapes[i]` (un-broadcasting).
    """

    step: int
    op: str
    output: str | None  # the name of the op's output tensor, if it has one
    grad_shape: Shape
    inputs: tuple[str, ...]  # each input: its name, the op that made it, or "const"
    input_shapes: tuple[Shape, ...]
    input_grad_shapes: tuple[Shape | None, ...]
    rule: str


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
    """The rows recorded by `trace()`; `print()` it for an aligned table."""

    def __init__(self, params: dict[str, Tensor] | None = None) -> None:
        self.rows: list[TraceRow] = []
        self._names = names_from(params)
        self._thread = threading.get_ident()  # backward passes of other threads are not ours

    def _record(self, t: Tensor, node: Function, grad: Any, input_grads: tuple) -> None:
        if threading.get_ident() != self._thread:
            return
        inputs = node.inputs
        row = TraceRow(
            step=len(self.rows) + 1,
            op=type(node).__name__,
            output=name_of(t, self._names),
            grad_shape=tuple(np.shape(grad)),
            inputs=tuple(_describe(x, self._names) for x in inputs),
            input_shapes=tuple(tuple(x.shape) for x in inputs),
            input_grad_shapes=tuple(
                tuple(np.shape(g)) if g is not None and need else None
                for g, need in zip(input_grads, node.needs_input_grad)
            ),
            rule=rule_of(node),
        )
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<Trace: {len(self.rows)} backward steps; print() it for the table>"

    def __str__(self) -> str:
        header = ("step", "op", "grad in", "grads out, per input (-> summed to its shape)", "rule")
        lines = [header]
        for r in self.rows:
            outs = []
            for name, shape, g in zip(r.inputs, r.input_shapes, r.input_grad_shapes):
                reduced = f" -> {_fmt(shape)}" if g is not None and g != shape else ""
                outs.append(f"{name} {_fmt(g)}{reduced}")
            op = f"{r.output} = {r.op}" if r.output else r.op
            lines.append((str(r.step), op, _fmt(r.grad_shape), ", ".join(outs), r.rule or "-"))
        widths = [max(len(row[i]) for row in lines) for i in range(len(header) - 1)]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in lines
        )


@contextmanager
def trace(params: dict[str, Tensor] | None = None) -> Iterator[Trace]:
    """Record every node the backward engine visits inside the block, in this thread (see the
    module docstring).

    `params` names leaves in the table, e.g. `dict(model.named_parameters())`.
    """
    t = Trace(params)
    with engine.register_hook(t._record):
        yield t
