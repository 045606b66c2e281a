"""trace(): the rows of a 2-layer network's backward pass, in the engine's order, with the shapes
worked out by hand, and the rules read from the ops' own docstrings."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu import engine
from tinygrad_edu.core import Tensor
from tinygrad_edu.ops import Add, CrossEntropy, MatMul, ReLU
from tinygrad_edu.tracing import TraceRow, trace

M, N_IN, HIDDEN, CLASSES = 4, 6, 5, 3


def _two_layer_net():
    rng = np.random.default_rng(0)
    X = Tensor(rng.random((M, N_IN)))
    W1 = Tensor(rng.standard_normal((N_IN, HIDDEN)), requires_grad=True, name="W1")
    b1 = Tensor(rng.standard_normal(HIDDEN), requires_grad=True, name="b1")
    W2 = Tensor(rng.standard_normal((HIDDEN, CLASSES)), requires_grad=True, name="W2")
    b2 = Tensor(rng.standard_normal(CLASSES), requires_grad=True, name="b2")
    Z1 = X @ W1 + b1
    Z2 = Z1.relu() @ W2 + b2
    return F.cross_entropy(Z2, np.array([0, 1, 2, 1])), (W1, b1, W2, b2)


def _doc_first_line(op) -> str:
    return op.backward.__doc__.strip().split("\n")[0].strip()


def test_two_layer_net_rows_in_order_with_shapes():
    loss, _ = _two_layer_net()
    with trace() as t:
        loss.backward()
    # Kahn's order from the loss down, worked out by hand for this graph:
    expected = [
        # op,          grad in,          inputs,                 grads out (as the rule returns them)
        (CrossEntropy, (), ("Add",), ((M, CLASSES),)),
        (Add, (M, CLASSES), ("MatMul", "b2"), ((M, CLASSES), (M, CLASSES))),
        (MatMul, (M, CLASSES), ("ReLU", "W2"), ((M, HIDDEN), (HIDDEN, CLASSES))),
        (ReLU, (M, HIDDEN), ("Add",), ((M, HIDDEN),)),
        (Add, (M, HIDDEN), ("MatMul", "b1"), ((M, HIDDEN), (M, HIDDEN))),
        (MatMul, (M, HIDDEN), ("const", "W1"), (None, (N_IN, HIDDEN))),
    ]
    assert len(t.rows) == len(expected)
    for step, (row, (op, g, inputs, outs)) in enumerate(zip(t.rows, expected), 1):
        assert isinstance(row, TraceRow)
        assert (row.step, row.op, row.grad_shape, row.inputs, row.input_grad_shapes) == (
            step,
            op.__name__,
            g,
            inputs,
            outs,
        )
        assert row.rule == _doc_first_line(op)
    # the bias gradients are then summed over the batch: db = Σ_n dZ[n]
    assert t.rows[1].input_shapes == ((M, CLASSES), (CLASSES,))
    assert t.rows[4].input_shapes == ((M, HIDDEN), (HIDDEN,))


def test_table_is_aligned_and_readable():
    loss, _ = _two_layer_net()
    with trace() as t:
        loss.backward()
    lines = str(t).splitlines()
    assert len(lines) == 1 + len(t.rows)
    rule_col = lines[0].index("rule")
    for line, row in zip(lines[1:], t.rows):
        assert line.index(row.rule) == rule_col
        assert line.split()[0] == str(row.step)
    assert "b2 (4, 3) -> (3,)" in lines[2]  # un-broadcasting made visible
    assert "const -" in lines[6]  # X needs no gradient


def test_params_name_leaves_and_names_of_outputs_show():
    loss, (W1, b1, W2, b2) = _two_layer_net()
    for p in (W1, b1, W2, b2):
        p.name = None
    with trace(params={"fc2.weight": W2}) as t:
        loss.backward()
    assert t.rows[2].inputs == ("ReLU", "fc2.weight")
    assert t.rows[5].inputs == ("const", "leaf")


def test_hook_removed_after_the_block_also_on_error():
    before = list(engine.hooks())
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="boom"), trace():
        assert len(list(engine.hooks())) == len(before) + 1
        raise RuntimeError("boom")
    assert list(engine.hooks()) == before
    with trace() as t:
        (x * x).sum().backward()
    (x * x).sum().backward()  # outside: not recorded
    assert [r.op for r in t.rows] == ["Sum", "Mul"]
    assert list(engine.hooks()) == before


def test_backward_passes_of_other_threads_are_not_recorded():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with trace() as t:
        other = threading.Thread(target=lambda: (x.exp() * 2).sum().backward())
        other.start()
        other.join()
        (x * x).sum().backward()
    assert [r.op for r in t.rows] == ["Sum", "Mul"]


def test_custom_op_without_docstring_and_repr():
    from tinygrad_edu.core import Function

    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = Tensor([1.0], requires_grad=True)
    with trace() as t:
        Twice.apply(x).sum().backward()
    assert t.rows[-1].op == "Twice" and t.rows[-1].rule == ""
    assert repr(t) == "<Trace: 2 backward steps; print() it for the table>"
