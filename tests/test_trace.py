"""trace(): the rows of a 2-layer network's backward pass, in the engine's order, with the shapes
worked out by hand, and the rules read from the ops' own docstrings."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.ops import Add, CrossEntropy, MatMul, ReLU
from tinygrad_edu.tracing import Stats, TraceRow, trace

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
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="boom"), trace() as failed:
        raise RuntimeError("boom")
    with trace() as t:
        (x * x).sum().backward()
    (x * x).sum().backward()  # outside both blocks: recorded by neither
    assert [r.op for r in t.rows] == ["Sum", "Mul"]
    assert failed.rows == []


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


# ---- values=True ---------------------------------------------------------------------------------
def test_values_of_the_scalar_example_worked_out_by_hand(doc_images):
    f = doc_images.worked_example()  # f = (a·b + c)·d at a=2, b=-3, c=10, d=-2
    with trace(values=True) as t:
        f.backward()
    # by hand: e = -6, g = 4, f = -8; df/dg = d = -2, df/dd = g = 4, df/de = df/dc = -2,
    # df/da = -2·b = 6, df/db = -2·a = -4
    expected = [("f", -8, 1, (-2, 4)), ("g", 4, -2, (-2, -2)), ("e", -6, -2, (6, -4))]
    assert [r.output for r in t.rows] == [name for name, *_ in expected]
    for row, (_, value, grad, outs) in zip(t.rows, expected):
        assert row.value.entries == (value,) and row.value.shape == ()
        assert row.grad.entries == (grad,)
        assert tuple(s.entries[0] for s in row.input_grads) == outs
    lines = str(t).splitlines()
    assert lines[0].split()[:5] == ["step", "op", "value", "grad", "in"]
    assert lines[1].split()[:8] == ["1", "f", "=", "Mul", "-8", "1", "g", "-2,"]
    assert "a 6, b -4" in lines[3]


def test_values_of_big_tensors_are_mean_and_norm_by_hand():
    loss, (W1, b1, W2, b2) = _two_layer_net()
    with trace(values=True) as t:
        loss.backward()
    # the forward and dL/dZ2 = (softmax(Z2) - onehot(y)) / M written out in numpy
    rng = np.random.default_rng(0)
    X = rng.random((M, N_IN))
    Z2 = np.maximum(X @ W1.data + b1.data, 0) @ W2.data + b2.data
    p = np.exp(Z2 - Z2.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = np.array([0, 1, 2, 1])
    dZ2 = (p - np.eye(CLASSES)[y]) / M
    ce, add2 = t.rows[0], t.rows[1]
    assert ce.value.entries[0] == pytest.approx(-np.log(p[np.arange(M), y]).mean(), rel=1e-12)
    assert add2.value.shape == (M, CLASSES) and add2.value.entries is None  # 12 elements: summarized
    assert add2.value.mean == pytest.approx(Z2.mean(), rel=1e-12)
    assert add2.value.norm == pytest.approx(np.sqrt((Z2**2).sum()), rel=1e-12)
    assert add2.grad.norm == pytest.approx(np.sqrt((dZ2**2).sum()), rel=1e-12)
    assert abs(add2.grad.mean) < 1e-15  # each row of softmax - onehot sums to 0
    mm = t.rows[2]  # dW2 = A1ᵀ dZ2
    A1 = np.maximum(X @ W1.data + b1.data, 0)
    assert mm.input_grads[1].norm == pytest.approx(np.linalg.norm(A1.T @ dZ2), rel=1e-12)
    assert t.rows[5].input_grads[0] is None  # X needs no gradient
    row = str(t).splitlines()[2]
    assert f"({M}, {CLASSES}) mean " in row and "‖·‖" in row


def test_stats_by_hand():
    s = Stats.of(np.arange(6.0).reshape(2, 3))
    assert (s.shape, s.mean, s.entries) == ((2, 3), 2.5, None)
    assert s.norm == pytest.approx(np.sqrt(55))
    assert str(s) == "(2, 3) mean 2.5 ‖·‖ 7.416"
    tiny = Stats.of(np.array([[1.0, -2.0], [0.5, 4.0]], dtype=np.float32))
    assert tiny.entries == (1.0, -2.0, 0.5, 4.0)
    assert str(tiny) == "[[1, -2], [0.5, 4]]"
    assert str(Stats.of(np.float64(-0.125))) == "-0.125"
    assert Stats.of(Tensor([3.0, 4.0])).norm == 5.0


def test_trace_without_values_keeps_the_shape_columns(doc_images):
    f = doc_images.worked_example()
    with trace() as t:
        f.backward()
    assert t.rows[0].value is None and t.rows[0].input_grads is None
    assert "value" not in str(t).splitlines()[0]


def test_html_table_for_jupyter():
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.tags = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.rows[-1].append("")

        def handle_data(self, data):
            if self.tags and self.tags[-1] in ("td", "th"):
                self.rows[-1][-1] += data

        def handle_endtag(self, tag):
            assert self.tags.pop() == tag  # well nested

    loss, _ = _two_layer_net()
    with trace(values=True) as t:
        loss.backward()
    parser = Cells()
    parser.feed(t._repr_html_())
    header, *rows = parser.rows
    assert header[:4] == ["step", "op", "value", "grad in"] and header[-1] == "rule"
    assert [r[0] for r in rows] == [str(i) for i in range(1, 7)]
    assert [r[1] for r in rows] == ["CrossEntropy", "Add", "MatMul", "ReLU", "Add", "MatMul"]
    assert rows[3][-1] == _doc_first_line(ReLU)  # "1[x > 0]": escaped, and read back intact
    assert "&gt;" in t._repr_html_()
