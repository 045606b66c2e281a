"""The checks of the exercises notebook (examples/notebooks/exercise_checks.py) can fail, and say why.

Each check must accept the worked solution (examples/notebooks/solutions/) and reject the usual
mistakes, each with the hint meant for it; these run in this process, without a kernel
(tests/test_notebooks.py runs the notebook itself). A mistake is written here as the solution
with one thing wrong, the way a student gets it wrong.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import tinygrad_edu as tg

FOLDER = Path(__file__).resolve().parents[1] / "examples" / "notebooks"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"exercises_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = load(FOLDER / "exercise_checks.py")
solution = {p.stem: load(p) for p in sorted((FOLDER / "solutions").glob("*.py"))}
sol = solution  # short, for the table below
# What the notebook passes to each check: the names its answer cell defines.
ANSWERS = {
    "adjoints": ("df_dx", "df_dy"),
    "tanh_backward": ("Tanh",),
    "softmax_backward": ("Softmax",),
    "logsoftmax_bug": ("LogSoftmax",),
    "sum_to": ("sum_to",),
    "layernorm_backward": ("layernorm_backward",),
    "im2col": ("im2col",),
    "training_loop_bug": ("train",),
    "hvp": ("hvp",),
}


def answer(name: str) -> tuple:
    return tuple(getattr(solution[name], attr) for attr in ANSWERS[name])


def op(forward_from: type, backward) -> type:
    """A tg.Function with the forward of `forward_from` and the given backward rule."""
    return type(
        "Answer", (tg.Function,), {"forward": forward_from.forward, "backward": staticmethod(backward)}
    )


@pytest.mark.parametrize("name", sorted(solution))
def test_the_solution_passes(name: str, capsys) -> None:
    getattr(check, name)(*answer(name))
    assert capsys.readouterr().out.endswith("correct.\n")


def _not_implemented(*args):
    raise NotImplementedError


def _train_without_zero_grad(X, y, steps=30, lr=0.1):
    w = tg.Tensor(np.zeros(X.shape[1]), requires_grad=True)
    for _ in range(steps):
        ((tg.Tensor(X) @ w - tg.Tensor(y)) ** 2).mean().backward()
        with tg.no_grad():
            w -= lr * w.grad
    return w.numpy()


def _hvp_without_create_graph(f, x, v):
    (g,) = tg.grad(f(x), x)
    return tg.grad((g * tg.Tensor(v)).sum(), x)[0].numpy()


def _sum_to_without_keepdims(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1))


def _sum_to_averaging(g, shape):  # the mean over the copies instead of their sum
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.mean(axis=tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1), keepdims=True)


def _layernorm_parts(x, g, eps, keep_mean):
    sigma = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    return (g - g.mean(axis=1, keepdims=True) * keep_mean) / sigma


def _im2col_reordered(rows: tuple, columns: tuple):
    def im2col(x, kh, kw, stride=1):
        cols = sol["im2col"].im2col(x, kh, kw, stride)
        n, c = x.shape[:2]
        oh, ow = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
        cols = cols.reshape(n, c, kh, kw, oh, ow).transpose(0, *rows, *columns)
        return cols.reshape(n, c * kh * kw, oh * ow)

    return im2col


Tanh, Softmax, LogSoftmax = (
    sol["tanh_backward"].Tanh,
    sol["softmax_backward"].Softmax,
    sol["logsoftmax_bug"].LogSoftmax,
)
MISTAKES = {
    # name: [(the wrong answer, what the check must say), ...]
    "adjoints": [
        ((None, 3.0), "not done yet"),
        ((2.0, 3.0), "adjoints add over paths"),  # only the path through the sum
        ((3.0, 3.0), "adjoints add over paths"),  # only the path through the product
        ((5.0, 1.0), "df/dy is wrong"),
    ],
    "tanh_backward": [
        ((op(Tanh, _not_implemented),), "not done yet"),
        ((op(Tanh, lambda ctx, g: 1 - ctx.output * ctx.output),), "it ignores g"),
        (
            (op(Tanh, lambda ctx, g: g * (1 - ctx.inputs[0] * ctx.inputs[0])),),
            "it uses x where tanh(x) belongs",
        ),
        ((op(Tanh, lambda ctx, g: g.numpy() * (1 - ctx.output.numpy() ** 2)),), "create_graph=True"),
        ((op(Tanh, lambda ctx, g: g * (1 + ctx.output * ctx.output)),), "x.grad is wrong: at index"),
        ((op(Tanh, lambda ctx, g: g.sum() * (1 - ctx.output * ctx.output)),), "x.grad is wrong"),
        ((op(Tanh, lambda ctx, g: None),), "returned None for an input that needs grad"),
    ],
    "softmax_backward": [
        ((op(Softmax, lambda ctx, g: g * ctx.output * (1 - ctx.output)),), "only the diagonal"),
        ((op(Softmax, lambda ctx, g: ctx.output * (g - (g * ctx.output).sum(axis=-1))),), "your code raised"),
    ],
    "logsoftmax_bug": [
        ((op(LogSoftmax, lambda ctx, g: g - ctx.output.exp() * g),), "depends on every z_j"),
        ((op(LogSoftmax, lambda ctx, g: g - ctx.output.exp() * g.sum()),), "z.grad is wrong: at index"),
    ],
    "sum_to": [
        ((_sum_to_without_keepdims,), "returned shape (3,): the result must have exactly the shape (3, 1)"),
        ((_sum_to_averaging,), "sum_to(g of shape (2, 3, 4), (3, 1)) is wrong"),
    ],
    "layernorm_backward": [
        ((lambda x, g, eps: _layernorm_parts(x, g, eps, keep_mean=0),), "as constants"),
        ((lambda x, g, eps: _layernorm_parts(x, g, eps, keep_mean=1),), "the variance's is missing"),
    ],
    "im2col": [
        ((_im2col_reordered((2, 3, 1), (4, 5)),), "in the wrong order"),  # rows (i, j, c)
        ((_im2col_reordered((1, 2, 3), (5, 4)),), "at the wrong output positions"),  # columns by column
        ((lambda x, kh, kw, stride=1: sol["im2col"].im2col(x, kh, kw, 1),), "OH = (H - kh) // stride + 1"),
    ],
    "training_loop_bug": [((_train_without_zero_grad,), "the gradients pile up")],
    "hvp": [
        ((lambda f, x, v: tg.grad(f(x), x)[0].numpy(),), "that is the gradient"),
        ((_hvp_without_create_graph,), "needs create_graph=True"),
        ((lambda f, x, v: 2 * sol["hvp"].hvp(f, x, v),), "H v is wrong"),
    ],
}


@pytest.mark.parametrize(
    ("name", "wrong", "says"),
    [
        pytest.param(name, wrong, says, id=f"{name}-{i}")
        for name, cases in MISTAKES.items()
        for i, (wrong, says) in enumerate(cases)
    ],
)
def test_a_mistake_is_named(name: str, wrong: tuple, says: str) -> None:
    with pytest.raises(check.ExerciseError) as e:
        getattr(check, name)(*wrong)
    assert str(e.value).startswith(f"Exercise {list(MISTAKES).index(name) + 1} (")
    assert says in str(e.value), str(e.value)


def test_every_exercise_has_its_answer_and_mistakes() -> None:
    assert list(ANSWERS) == list(MISTAKES) and sorted(MISTAKES) == sorted(solution)
