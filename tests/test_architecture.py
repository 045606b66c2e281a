"""The import graph against docs/architecture.md: imports go downward (one documented exception),
no cycle inside a layer, and every module can be imported first in a fresh interpreter."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinygrad_edu"
UPWARD_EXCEPTION = {("core", "engine"), ("core", "ops"), ("core", "tensor_methods")}  # core.py's last line


def doc_layers() -> dict[str, int]:
    """{name: layer} from the `layer N  name name ...` lines of docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    layers = {}
    for n, names in re.findall(r"^layer (\d+) +([^#\n]*)", text, re.M):
        for name in names.split():
            layers[name] = int(n)
    return layers


def modules() -> list[str]:
    """Every module of the package, dotted, relative to it ("core", "ops.nn", "nn.layers", ...)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "tinygrad_edu")
    return found


def layer_of(module: str, layers: dict[str, int]) -> int:
    """A module's layer: its own entry, else its package's (`nn.layers` is in `nn`'s layer)."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in layers:
            return layers[".".join(parts[:i])]
    raise AssertionError(f"{module} is in no layer of docs/architecture.md: add it to the table")


def imports_of(module: str) -> set[str]:
    """The package modules `module` imports (anywhere in the file, TYPE_CHECKING blocks excepted)."""
    rel = Path(*module.split(".")) if module != "tinygrad_edu" else Path()
    path = (
        PACKAGE / rel.with_suffix(".py")
        if (PACKAGE / rel.with_suffix(".py")).exists()
        else PACKAGE / rel / "__init__.py"
    )
    tree = ast.parse(path.read_text())
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{a.name}" for a in node.names}
    targets = set()
    for name in names:
        if not name.startswith("tinygrad_edu."):
            continue
        target = name.removeprefix("tinygrad_edu.")
        while target and target not in ALL:  # `from tinygrad_edu.ops import Add` names ops
            target = target.rpartition(".")[0]
        target = target or "tinygrad_edu"  # `from tinygrad_edu import no_grad`: the package's __init__
        if not (module + ".").startswith(target + "."):  # itself, or its own package
            targets.add(target)
    return targets


ALL = set(modules())


def test_the_doc_table_lists_every_module() -> None:
    layers = doc_layers()
    for m in ALL:
        layer_of(m, layers)


def upward_imports(graph: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    """The imports of `graph` ({module: modules it imports}) that go to a higher layer."""
    return [
        f"{m} (layer {layer_of(m, layers)}) imports {t} (layer {layer_of(t, layers)})"
        for m, targets in sorted(graph.items())
        for t in sorted(targets)
        if layer_of(t, layers) > layer_of(m, layers) and (m, t) not in UPWARD_EXCEPTION
    ]


def import_graph() -> dict[str, set[str]]:
    return {m: imports_of(m) for m in ALL - {"tinygrad_edu"}}


def test_imports_go_downward_only() -> None:
    upward = upward_imports(import_graph(), doc_layers())
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_rule_reports_an_upward_import() -> None:
    """The check has teeth: core importing functional, or engine importing nn, is reported;
    the documented exception is not."""
    graph = {"core": {"functional", "ops", "engine"}, "engine": {"nn.module"}, "nn.module": {"core"}}
    assert upward_imports(graph, doc_layers()) == [
        "core (layer 1) imports functional (layer 7)",
        "engine (layer 6) imports nn.module (layer 9)",
    ]


def test_no_cycle_inside_a_layer() -> None:
    layers = doc_layers()
    graph = import_graph()
    edges = {m: {t for t in ts if layer_of(t, layers) == layer_of(m, layers)} for m, ts in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*path, m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            visit(t, [*path, m])
        state[m] = 2

    for m in sorted(edges):
        visit(m, [])


def test_each_module_imports_first_on_its_own(tmp_path: Path) -> None:
    """With an empty package __init__ (so nothing is imported in a fixed order for it), each
    module imports first, in a fresh interpreter of its own."""
    shutil.copytree(PACKAGE, tmp_path / "tinygrad_edu", ignore=shutil.ignore_patterns("__pycache__", "*.npz"))
    (tmp_path / "tinygrad_edu" / "__init__.py").write_text("")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = {
        m: subprocess.Popen(
            [sys.executable, "-c", f"import tinygrad_edu.{m}"],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for m in sorted(ALL - {"tinygrad_edu"})
    }
    failed = {m: p.communicate()[1][-1500:] for m, p in runs.items() if p.wait() != 0}
    assert not failed, failed


def test_tensor_has_every_method_of_tensor_methods() -> None:
    """core.py's Tensor gets PyTorch's other methods from tensor_methods.py: each one is Tensor's
    own attribute (so `help(Tensor)`, `dir(x)` and `x.method` find it)."""
    from tinygrad_edu.core import Tensor
    from tinygrad_edu.tensor_methods import TensorMethods

    methods = {n: a for n, a in vars(TensorMethods).items() if callable(a) or isinstance(a, property)}
    assert {"reshape", "sum", "__lt__", "__iadd__", "__repr__", "__array__"} <= methods.keys()
    for name, method in methods.items():
        assert vars(Tensor)[name] is method, name
    # == is elementwise (attached), but hashing stays by identity: equal tensors are two set members
    assert len({Tensor([1.0]), Tensor([1.0])}) == 2


def test_a_method_defined_in_both_places_is_refused() -> None:
    from tinygrad_edu.tensor_methods import attach

    class Twice:
        def reshape(self) -> None: ...

    with pytest.raises(
        RuntimeError, match=r"Tensor\.reshape is defined both in core\.py and in tensor_methods\.py"
    ):
        attach(Twice)
