"""Make the pictures of the docs and README that come from the library itself.

    PYTHONPATH=. python scripts/make_doc_images.py [--out docs/images] [--repeats 10]

- values_graph.svg: the worked example f = (a·b + c)·d with every value and every gradient
  (`tg.viz.render(..., values=True, grads=True)`), shown by README.md and docs/study-tools.md;
- modes_graph.svg: y = tanh(x1·x2) + x1 with its adjoints, edges in the backward direction, and
  vjp_graph.svg: the graph that the VJP of the same y records under create_graph=True, which
  `tg.jvp` differentiates once more (docs/autodiff.md, section 7);
- modes.csv and modes.png: `python -m tinygrad_edu.experiments.modes` at its full sizes
  (docs/autodiff.md quotes the CSV).

Needs the graphviz Python package and the Graphviz `dot` program (`tg.viz.render` says which is
missing) and matplotlib. BLAS runs on one thread, as in examples/mnist_mlp.py: on a shared
machine two threads wait for each other, and the timings would measure that.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script, not imported by the tests
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")  # read when numpy is imported: set first

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.experiments import modes

REPO = Path(__file__).resolve().parent.parent


def _named(**values: float) -> list[tg.Tensor]:
    return [tg.Tensor(np.float64(v), requires_grad=True, name=n) for n, v in values.items()]


def worked_example() -> tg.Tensor:
    """f = (a·b + c)·d at a = 2, b = -3, c = 10, d = -2, every tensor named."""
    a, b, c, d = _named(a=2, b=-3, c=10, d=-2)
    e = a * b
    e.name = "e"
    g = e + c
    g.name = "g"
    f = g * d
    f.name = "f"
    return f


def two_inputs() -> tuple[tg.Tensor, list[tg.Tensor]]:
    """y = tanh(x1·x2) + x1 at x1 = 2, x2 = 0.5, and its inputs."""
    x1, x2 = _named(x1=2, x2=0.5)
    y = (x1 * x2).tanh() + x1
    y.name = "y"
    return y, [x1, x2]


def values_graph(out: Path) -> Path:
    return tg.viz.render(worked_example(), out / "values_graph.svg", values=True, grads=True)


def modes_graph(out: Path) -> Path:
    y, _ = two_inputs()
    return tg.viz.render(y, out / "modes_graph.svg", values=True, grads=True, direction="backward")


def vjp_graph(out: Path) -> Path:
    """g1(u) = u ∂y/∂x1, recorded: tg.jvp's first pass, at its dummy cotangent u = 0."""
    y, (x1, x2) = two_inputs()
    (u,) = _named(u=0)
    g1, _ = tg.grad(y * u, [x1, x2], create_graph=True)
    g1.name = "g1 = u ∂y/∂x1"
    return tg.viz.render(g1, out / "vjp_graph.svg", values=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--repeats", type=int, default=10, help="runs per timing of the experiment")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for make in (values_graph, modes_graph, vjp_graph):
        print("wrote", make(args.out))
    result = modes.run(args.out, repeats=args.repeats)
    print(modes.summary(result.rows))
    print(f"wrote {result.csv} and {result.png}")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    versions = f"numpy {np.__version__}, python {sys.version.split()[0]}"
    print(f"{versions}, {os.cpu_count()} CPUs, BLAS threads {threads}")


if __name__ == "__main__":
    main()
