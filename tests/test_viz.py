"""to_dot: the DOT text is parsed (a small parser for node and edge statements) and checked
against graphs whose nodes and edges are counted by hand; render with and without Graphviz."""

from __future__ import annotations

import re
import shutil
import sys
import types

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.viz import NO_DOT, NO_PACKAGE, draw, render, to_dot

_NODE = re.compile(r"^\s*(\w+)\s*\[(.*)\];\s*$")
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)\s*(?:\[.*\])?;\s*$")
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


@pytest.mark.parametrize(
    ("hide", "missing", "present"),
    [("dot binary", NO_DOT, NO_PACKAGE), ("graphviz package", NO_PACKAGE, NO_DOT)],
)
def test_without_graphviz_the_error_names_what_is_missing(tmp_path, monkeypatch, hide, missing, present):
    if hide == "dot binary":
        monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on an empty PATH
        if not _graphviz_package():  # stand in for the package, as it reports a missing dot
            monkeypatch.setitem(sys.modules, "graphviz", _package_without_dot())
    else:
        monkeypatch.setitem(sys.modules, "graphviz", None)  # import fails
    with pytest.raises(RuntimeError) as info:
        render(_small_graph(), tmp_path / "graph.svg")
    assert str(info.value) == f"render {missing}"
    assert present not in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing half-written
    # Jupyter: draw says so plainly, then shows the DOT text; no picture is offered
    graph = draw(_small_graph())
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert bundle["text/plain"].startswith(f"draw {missing}")
    assert bundle["text/plain"].endswith(graph.source)


def _graphviz_package() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return True


def _package_without_dot() -> types.ModuleType:
    stub = types.ModuleType("graphviz")

    class ExecutableNotFound(RuntimeError):  # noqa: N818  (the graphviz package's name)
        pass

    class Source:
        def __init__(self, source):
            pass

        def pipe(self, format):
            raise ExecutableNotFound("failed to execute PosixPath('dot')")

    stub.ExecutableNotFound, stub.Source = ExecutableNotFound, Source
    return stub


def _graphviz_available() -> bool:
    return _graphviz_package() and shutil.which("dot") is not None


def test_render_with_graphviz_writes_the_file_or_explains(tmp_path):
    path = tmp_path / "graph.svg"
    if not _graphviz_available():
        with pytest.raises(RuntimeError) as info:
            render(_small_graph(), path)
        assert str(info.value) == f"render {NO_DOT if _graphviz_package() else NO_PACKAGE}"
        return
    assert render(_small_graph(), path) == path
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">Mul<" in svg and ">x<" in svg  # the labels made it into the drawing
    bundle = draw(_small_graph())._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and ">Mul<" in bundle["image/svg+xml"]
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary file left


def test_render_needs_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        render(_small_graph(), tmp_path / "graph")


# ---- values, gradients, direction ----------------------------------------------------------------
def _worked_example(doc_images):
    """f = (a·b + c)·d at a=2, b=-3, c=10, d=-2, every tensor named; and the leaves a, b, c, d."""
    f = doc_images.worked_example()
    g, d = f.grad_fn.inputs
    e, c = g.grad_fn.inputs
    return f, (*e.grad_fn.inputs, c, d)


def _lines(nodes: dict[str, list[str]]) -> dict[str, list[str]]:
    """{name: the label's lines after the first}, the name being the first line up to " = "."""
    return {label[0].split(" = ")[0]: label[1:] for label in nodes.values()}


def test_every_node_labelled_with_its_value_and_gradient_by_hand(doc_images):
    f, (a, b, c, d) = _worked_example(doc_images)
    assert [x.name for x in (a, b, c, d)] == ["a", "b", "c", "d"]
    nodes, edges = parse_dot(to_dot(f, values=True, grads=True))
    # by hand: e = ab = -6, g = e + c = 4, f = g·d = -8; df/dg = d = -2, df/dd = g = 4,
    # df/de = df/dc = df/dg = -2, df/da = -2·b = 6, df/db = -2·a = -4
    expected = {
        "f": (-8, 1),
        "g": (4, -2),
        "e": (-6, -2),
        "a": (2, 6),
        "b": (-3, -4),
        "c": (10, -2),
        "d": (-2, 4),
    }
    labels = _lines(nodes)
    assert sorted(labels) == sorted(expected)
    for name, (value, grad) in expected.items():
        assert labels[name][-2:] == [f"value = {value}", f"grad = {grad}"], name
    assert len(edges) == 6
    assert all(x.grad is None for x in (a, b, c, d))  # its own pass: .grad untouched
    f.backward()  # and the graph is still there
    assert (a.grad, b.grad) == (6.0, -4.0)


def test_big_tensors_show_mean_and_norm_of_intermediate_gradients():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((3, 4)), requires_grad=True, name="W")
    X = rng.standard_normal((5, 4))
    y = np.array([0, 1, 2, 1, 0])
    z = Tensor(X) @ W.T
    z.name = "z"
    loss = F.cross_entropy(z, y)
    labels = _lines(parse_dot(to_dot(loss, values=True, grads=True))[0])
    # hand-derived: dL/dz = (softmax(z) - onehot(y)) / N, dW = dzᵀ X
    zv = X @ W.data.T
    p = np.exp(zv - zv.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(3)[y]) / len(y)

    def numbers(line: str) -> tuple[float, float]:
        mean, norm = re.fullmatch(r"\w+: mean (\S+) ‖·‖ (\S+)", line).groups()
        return float(mean), float(norm)

    assert numbers(labels["z"][-2]) == pytest.approx((zv.mean(), np.linalg.norm(zv)), rel=1e-3, abs=1e-4)
    assert numbers(labels["z"][-1]) == pytest.approx((0.0, np.linalg.norm(dz)), rel=1e-3, abs=1e-12)
    assert numbers(labels["W"][-1]) == pytest.approx(((dz.T @ X).mean(), np.linalg.norm(dz.T @ X)), rel=1e-3)
    assert labels["const"][-1].startswith("value: mean ")  # the data X: a value, no gradient
    assert not any("grad" in line for line in labels["const"])
    loss_line = labels["CrossEntropy"]
    assert float(loss_line[-2].split(" = ")[1]) == pytest.approx(-np.log(p[np.arange(5), y]).mean(), rel=1e-3)
    assert loss_line[-1] == "grad = 1"


def test_reused_tensor_gets_the_sum_of_both_paths():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    labels = _lines(parse_dot(to_dot((x * x).sum(), grads=True))[0])
    assert labels["x"][-1] == "grad = [2, 4]"  # d Σx²/dx = 2x
    assert labels["Mul"][-1] == "grad = [1, 1]"


def test_backward_direction_reverses_every_edge(doc_images):
    f, _ = _worked_example(doc_images)
    fwd_nodes, fwd = parse_dot(to_dot(f))
    bwd_nodes, bwd = parse_dot(to_dot(f, direction="backward"))
    name = {nid: label[0].split(" = ")[0] for nid, label in fwd_nodes.items()}
    assert sorted((name[s], name[d]) for s, d in fwd) == sorted(
        [("a", "e"), ("b", "e"), ("e", "g"), ("c", "g"), ("g", "f"), ("d", "f")]
    )
    name = {nid: label[0].split(" = ")[0] for nid, label in bwd_nodes.items()}
    assert sorted((name[s], name[d]) for s, d in bwd) == sorted(
        [("e", "a"), ("e", "b"), ("g", "e"), ("g", "c"), ("f", "g"), ("f", "d")]
    )


def test_grads_refused_where_they_cannot_be_drawn():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"grads=True.*shape \(2,\).*t\.sum\(\)"):
        to_dot(x * x, grads=True)
    out = (x * x).sum()
    out.backward()
    with pytest.raises(RuntimeError, match=r"freed.*retain_graph=True"):
        to_dot(out, grads=True)
    with pytest.raises(ValueError, match="direction must be"):
        to_dot(out, direction="up")
    const = Tensor(np.array([1.0, 2.0])).sum()
    assert not any("grad" in line for line in parse_dot(to_dot(const, grads=True))[0]["n0"])


def test_render_unknown_format_names_the_path(tmp_path):
    if not _graphviz_package():
        with pytest.raises(RuntimeError, match="pip install graphviz"):
            render(_small_graph(), tmp_path / "graph.xyz")
        return
    with pytest.raises(ValueError, match=r"graph\.xyz.*'xyz'"):
        render(_small_graph(), tmp_path / "graph.xyz")
    assert not list(tmp_path.iterdir())


def test_doc_images_are_drawn_with_their_numbers(doc_images, tmp_path):
    makers = (doc_images.values_graph, doc_images.modes_graph, doc_images.vjp_graph)
    if not _graphviz_available():
        with pytest.raises(RuntimeError, match="needs the"):
            makers[0](tmp_path)
        return
    texts = [make(tmp_path).read_text() for make in makers]
    # f = (a·b + c)·d: df/da = -2·b = 6; y = tanh(x1·x2) + x1: ∂y/∂x1 = x2 (1 - tanh²(1)) + 1 = 1.21
    assert ">grad = 6<" in texts[0] and ">grad = &#45;4<" in texts[0]
    assert ">grad = 1.21<" in texts[1]
    assert ">u<" in texts[2] and ">value = 0.7616<" in texts[2]  # tanh(1), on the recorded VJP's path
