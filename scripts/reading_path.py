"""How many lines a newcomer reads to follow `F.cross_entropy(model(x).relu(), y).backward()`:
the files that hold Tensor, Function and the engine, plus the ReLU op, the cross-entropy op and
`F.cross_entropy` (issue 13's measure). Counts every line, and the code lines alone (no blank
lines, comments or docstrings).

    python scripts/reading_path.py              # the working tree
    python scripts/reading_path.py --rev REV    # any commit (the layout before core.py included)
"""

from __future__ import annotations

import argparse
import ast
import io
import subprocess
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHOLE_FILES = ("core.py", "engine.py", "tensor.py", "function.py")  # whichever exist at the revision
PARTS = (("ReLU", "class"), ("CrossEntropy", "class"), ("cross_entropy", "def"))


def read(rev: str | None, path: str) -> str | None:
    if rev is None:
        file = ROOT / path
        return file.read_text() if file.exists() else None
    done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def package_files(rev: str | None) -> list[str]:
    if rev is None:
        return [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tinygrad_edu").rglob("*.py"))]
    out = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "tinygrad_edu"], cwd=ROOT, capture_output=True, text=True
    )
    return [p for p in out.stdout.split() if p.endswith(".py")]


def code_lines(src: str, first: int, last: int) -> int:
    """Lines first..last (1-based) of src that are code: not blank, a comment or a docstring."""
    tree = ast.parse(src)
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body:
            doc = body[0]
            if (
                isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                skip.update(range(doc.lineno, doc.end_lineno + 1))
    lines = src.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT and lines[tok.start[0] - 1].lstrip().startswith("#"):
            skip.add(tok.start[0])
    return sum(1 for i in range(first, last + 1) if lines[i - 1].strip() and i not in skip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default=None, help="a git revision (default: the working tree)")
    rev = parser.parse_args().rev
    rows = []
    for name in WHOLE_FILES:
        src = read(rev, f"tinygrad_edu/{name}")
        if src is not None:
            n = len(src.splitlines())
            rows.append((name, n, code_lines(src, 1, n)))
    for path in package_files(rev):
        src = read(rev, path)
        if path.startswith("tinygrad_edu/nn/"):  # nn.ReLU is a Module, not the op
            continue
        for node in ast.parse(src).body:
            kind = (
                "class"
                if isinstance(node, ast.ClassDef)
                else "def"
                if isinstance(node, ast.FunctionDef)
                else ""
            )
            if (getattr(node, "name", None), kind) in PARTS:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                where = f"{path.removeprefix('tinygrad_edu/')}: {node.name}"
                rows.append((where, node.end_lineno - first + 1, code_lines(src, first, node.end_lineno)))
    for what, n, code in rows:
        print(f"{what:40} {n:5} lines {code:5} code")
    print(f"{'total':40} {sum(r[1] for r in rows):5} lines {sum(r[2] for r in rows):5} code")


if __name__ == "__main__":
    main()
