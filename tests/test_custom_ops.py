"""A custom op whose backward leaves the graph (returns a numpy array, or a Tensor computed from
arrays) still gives first derivatives, but create_graph=True refuses it at once with an error
that names the op and says what to write instead; rules written in Tensor ops, including linear
and piecewise-constant ones whose gradient is legitimately a constant, are left alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.core import wrap


def tanh_op(backward):
    """A tanh op (forward on arrays) with the given backward rule."""
    return type(
        "Tanh",
        (tg.Function,),
        {"forward": staticmethod(lambda ctx, x: np.tanh(x)), "backward": staticmethod(backward)},
    )


ARRAY_RULES = {
    "a numpy array": lambda ctx, g: g.numpy() * (1 - ctx.output.numpy() ** 2),
    "a Tensor made from arrays": lambda ctx, g: wrap(g.data * (1 - ctx.output.data**2)),
    "a Python float": lambda ctx, g: float((g.data * (1 - ctx.output.data**2)).item()),
}
TENSOR_RULE = tanh_op(lambda ctx, g: g * (1 - ctx.output * ctx.output))


@pytest.mark.parametrize("rule", ARRAY_RULES, ids=list(ARRAY_RULES))
def test_first_derivatives_still_work(rule: str) -> None:
    x0 = np.array(0.3) if rule == "a Python float" else np.array([0.3, -1.2, 2.0])
    x = Tensor(x0.copy(), requires_grad=True)
    tanh_op(ARRAY_RULES[rule]).apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, 1 - np.tanh(x0) ** 2, rtol=1e-12)


@pytest.mark.parametrize("rule", ARRAY_RULES, ids=list(ARRAY_RULES))
@pytest.mark.parametrize("upstream", ["the seed", "a recorded gradient"])
def test_create_graph_names_the_op_that_left_the_graph(rule: str, upstream: str) -> None:
    """Right after the seed (g a constant) and behind another op (g itself recorded)."""
    x = Tensor(np.array(0.3), requires_grad=True)
    y = tanh_op(ARRAY_RULES[rule]).apply(x)
    loss = y.sum() if upstream == "the seed" else (y * y).sum()
    with pytest.raises(RuntimeError) as info:
        tg.grad(loss, x, create_graph=True)
    message = str(info.value)
    assert message.startswith("Tanh.backward returned")
    assert "input 0 (shape ())" in message and "create_graph=True" in message
    assert "write Tanh.backward in Tensor ops" in message
    assert "does not require grad" not in message  # what it used to say, one call later


def test_rules_in_tensor_ops_pass_and_differentiate_twice() -> None:
    x0 = np.array([0.3, -1.2, 2.0])
    x = Tensor(x0.copy(), requires_grad=True)
    (g,) = tg.grad(TENSOR_RULE.apply(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    t = np.tanh(x0)
    np.testing.assert_allclose(h.data, -2 * t * (1 - t**2), rtol=1e-12)


def test_constant_gradients_of_tensor_op_rules_are_not_refused() -> None:
    """A linear op's gradient g · 3 is a constant when g is (PyTorch gives the same: its second
    derivative is zero, there is nothing to differentiate); a piecewise-constant op's is 0."""
    triple = type(
        "Triple",
        (tg.Function,),
        {"forward": staticmethod(lambda ctx, x: 3 * x), "backward": staticmethod(lambda ctx, g: g * 3.0)},
    )
    floor = type(
        "Floor",
        (tg.Function,),
        {
            "forward": staticmethod(lambda ctx, x: np.floor(x)),
            "backward": staticmethod(lambda ctx, g: Tensor(np.zeros(g.shape))),
        },
    )
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    (g,) = tg.grad(triple.apply(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [3.0, 3.0])
    assert not g.requires_grad
    (g,) = tg.grad((floor.apply(x) * x).sum(), x, create_graph=True)  # g recorded here: x
    np.testing.assert_array_equal(g.data, np.floor(x.data))
