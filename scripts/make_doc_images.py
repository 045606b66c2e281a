"""Make the pictures of the docs and README that come from the library itself.

    PYTHONPATH=. python scripts/make_doc_images.py [--out docs/images]

- values_graph.svg: the worked example f = (a·b + c)·d with every value and every gradient
  (`tg.viz.render(..., values=True, grads=True)`), shown by README.md and docs/study-tools.md.

Needs the graphviz Python package and the Graphviz `dot` program (`tg.viz.render` says which is
missing). The SVG text depends on the Graphviz version only; run it again after changing viz.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinygrad_edu as tg

REPO = Path(__file__).resolve().parent.parent


def worked_example() -> tg.Tensor:
    """f = (a·b + c)·d at a = 2, b = -3, c = 10, d = -2, every tensor named."""
    a, b, c, d = (
        tg.Tensor(np.float64(v), requires_grad=True, name=n) for v, n in zip((2, -3, 10, -2), "abcd")
    )
    e = a * b
    e.name = "e"
    g = e + c
    g.name = "g"
    f = g * d
    f.name = "f"
    return f


def values_graph(out: Path) -> Path:
    return tg.viz.render(worked_example(), out / "values_graph.svg", values=True, grads=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for make in (values_graph,):
        print("wrote", make(args.out))


if __name__ == "__main__":
    main()
