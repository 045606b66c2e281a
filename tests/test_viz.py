"""to_dot: the DOT text is parsed (a small parser for node and edge statements) and checked
against graphs whose nodes and edges are counted by hand; render with and without Graphviz."""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.viz import INSTALL_HINT, draw, render, to_dot

_NODE = re.compile(r"^\s*(\w+)\s*\[(.*)\];\s*$")
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)\s*;\s*$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s\]]+)')


def _unquote(v: str) -> str:
    if not v.startswith('"'):
        return v
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v[1:-1])


def parse_dot(text: str) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """{node id: label lines} and the list of edges (src, dst) of a digraph."""
    lines = text.strip().splitlines()
    assert lines[0].startswith("digraph") and lines[0].endswith("{") and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        elif (m := _NODE.match(line)) and m.group(1) not in ("node", "edge", "graph"):
            attrs = {k: _unquote(v) for k, v in _ATTR.findall(m.group(2))}
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = attrs["label"].split("\n")
    for src, dst in edges:
        assert src in nodes and dst in nodes, f"edge {src} -> {dst} to an undeclared node"
    return nodes, edges


def _by_first_line(nodes: dict[str, list[str]]) -> dict[str, str]:
    return {label[0]: nid for nid, label in nodes.items()}


def test_a_times_b_plus_c_sum():
    a = Tensor(np.ones((2, 3)), requires_grad=True, name="a")
    b = Tensor(np.ones((2, 3)), requires_grad=True, name="b")
    c = Tensor(np.ones(3), requires_grad=True, name="c")
    nodes, edges = parse_dot(to_dot((a * b + c).sum()))
    # by hand: leaves a, b, c; ops Mul, Add, Sum; a->Mul, b->Mul, Mul->Add, c->Add, Add->Sum
    ids = _by_first_line(nodes)
    assert sorted(ids) == ["Add", "Mul", "Sum", "a", "b", "c"]
    assert sorted(edges) == sorted(
        [
            (ids["a"], ids["Mul"]),
            (ids["b"], ids["Mul"]),
            (ids["Mul"], ids["Add"]),
            (ids["c"], ids["Add"]),
            (ids["Add"], ids["Sum"]),
        ]
    )
    assert nodes[ids["Mul"]][1] == "(2, 3) float64"
    assert nodes[ids["Sum"]][1] == "() float64"
    assert nodes[ids["c"]][1:] == ["(3,) float64", "requires_grad=True"]


def test_reused_tensor_is_one_node_with_two_edges():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    nodes, edges = parse_dot(to_dot(x * x))
    ids = _by_first_line(nodes)
    assert len(nodes) == 2
    assert edges == [(ids["x"], ids["Mul"])] * 2


def test_constants_and_unnamed_leaves():
    x = Tensor(np.zeros((4,)), requires_grad=True)
    nodes, edges = parse_dot(to_dot(x * 2.0 + Tensor(np.ones(4))))
    labels = sorted(label[0] for label in nodes.values())
    assert labels == ["Add", "Mul", "const", "const 2", "leaf"]
    assert len(edges) == 4
    const = next(label for label in nodes.values() if label[0] == "const")
    assert "requires_grad=True" not in const


def test_params_names_win_and_intermediate_names_show():
    w = Tensor(np.ones((3, 2)), requires_grad=True, name="ignored")
    x = Tensor(np.ones((5, 3)))
    z = x @ w
    z.name = "Z1"
    nodes, _ = parse_dot(to_dot(z.relu().sum(), params={"layer.weight": w}))
    firsts = {label[0] for label in nodes.values()}
    assert {"layer.weight", "Z1 = MatMul", "ReLU", "Sum", "const"} == firsts


def test_grad_norms_after_backward_with_retain_graph():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((3, 4)), requires_grad=True, name="W")
    b = Tensor(rng.standard_normal(3), requires_grad=True, name="b")
    X = rng.standard_normal((5, 4))
    y = np.array([0, 1, 2, 1, 0])
    loss = F.cross_entropy(Tensor(X) @ W.T + b, y)
    loss.backward(retain_graph=True)
    nodes, edges = parse_dot(to_dot(loss))
    ids = _by_first_line(nodes)
    assert sorted(ids) == ["Add", "CrossEntropy", "MatMul", "Permute", "W", "b", "const"]
    assert len(edges) == 6
    # hand-derived: dL/dz = (softmax(z) - onehot(y)) / N, dW = dzᵀ X, db = Σ_n dz
    z = X @ W.data.T + b.data
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(3)[y]) / len(y)
    for name, expected in (("W", dz.T @ X), ("b", dz.sum(0))):
        line = nodes[ids[name]][-1]
        assert line.startswith("‖grad‖ = ")
        assert float(line.split("= ")[1]) == pytest.approx(np.linalg.norm(expected), rel=1e-3)
    assert not any(line.startswith("‖grad‖") for line in nodes[ids["const"]])


def test_freed_graph_shows_output_node_and_the_hint():
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = (x.exp() * 3.0).sum()
    out.backward()
    nodes, edges = parse_dot(to_dot(out))
    assert edges == []
    (label,) = nodes.values()
    assert label[0] == "Sum"
    assert "retain_graph=True" in " ".join(label)


def test_leaf_alone_and_quotes_escaped():
    x = Tensor([1.0], requires_grad=True, name='say "hi" \\ bye')
    nodes, edges = parse_dot(to_dot(x))
    assert [label[0] for label in nodes.values()] == ['say "hi" \\ bye']
    assert edges == []


def test_deep_chain_is_iterative():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    nodes, edges = parse_dot(to_dot(y))
    assert len(nodes) == 3000 + 3000 + 1  # 3000 Mul, 3000 constants, x
    assert len(edges) == 6000


def test_to_dot_rejects_non_tensors():
    with pytest.raises(TypeError, match="to_dot: expected a Tensor"):
        to_dot(np.ones(3))


def _small_graph() -> Tensor:
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    return (x * x).sum()


@pytest.mark.parametrize("hide", ["dot binary", "graphviz package"])
def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch, hide):
    if hide == "dot binary":
        monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on an empty PATH
    else:
        monkeypatch.setitem(sys.modules, "graphviz", None)  # import fails
    with pytest.raises(RuntimeError) as info:
        render(_small_graph(), tmp_path / "graph.svg")
    assert INSTALL_HINT in str(info.value)
    assert "pip install graphviz" in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing half-written
    assert draw(_small_graph())._repr_svg_() is None  # Jupyter falls back to the text repr


def _graphviz_available() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def test_render_with_graphviz_writes_the_file_or_explains(tmp_path):
    path = tmp_path / "graph.svg"
    if not _graphviz_available():
        with pytest.raises(RuntimeError, match="pip install graphviz"):
            render(_small_graph(), path)
        return
    assert render(_small_graph(), path) == path
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">Mul<" in svg and ">x<" in svg  # the labels made it into the drawing
    assert "<svg" in draw(_small_graph())._repr_svg_()
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary file left


def test_render_needs_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        render(_small_graph(), tmp_path / "graph")
