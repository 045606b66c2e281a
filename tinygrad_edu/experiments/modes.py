"""Forward mode against reverse mode: the cost of a full Jacobian as inputs and outputs grow.

    python -m tinygrad_edu.experiments.modes [--out DIR] [--quick] [--repeats R] [--seed N]

The function is a small network f: Rⁿ -> Rᵐ, f(x) = W2 tanh(W1 x + b1) (hidden width 64), in
float64. Its Jacobian J (m × n) is computed both ways with `tg.jacobian`:

- forward mode: one JVP per input, J eⱼ for j = 1..n (a column each);
- reverse mode: one VJP per output, eᵢᵀ J for i = 1..m (a row each).

Two sweeps: the inputs grow (n = 1, 2, 4, ..., with m = 1: the gradient of a scalar loss) and the
outputs grow (m = 1, 2, 4, ..., with n = 1). Forward mode's cost grows with n, reverse mode's
with m, so each wins on one side. For every size the experiment also times one forward pass, one
VJP and one JVP, the units of the two Jacobians' costs, and checks both Jacobians against
J = W2 diag(1 - tanh²(W1 x + b1)) W1 written out in numpy.

It writes DIR/modes.csv (columns: sweep, n_inputs, n_outputs, mode, f_calls, cpu_seconds,
max_error; cpu_seconds is the least CPU time of R runs; f_calls counts the evaluations of f, one
of them to learn the output's shape) and, with matplotlib, DIR/modes.png. Run it with
OPENBLAS_NUM_THREADS=1 (see `best_time`).
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.experiments import output
from tinygrad_edu.forward_mode import jacobian, jvp, vjp
from tinygrad_edu.plot import jacobian_cost

SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
QUICK_SIZES = (1, 2, 4)
HIDDEN = 64
SCALAR_LOSS = (256, (784, 128, 10))  # batch, layer widths
SCALAR_LOSS_QUICK = (8, (16, 8, 4))
FIELDS = ("sweep", "n_inputs", "n_outputs", "mode", "f_calls", "cpu_seconds", "max_error")
SWEEPS = ("inputs grow", "outputs grow")


@dataclass(frozen=True)
class Row:
    sweep: str
    n_inputs: int
    n_outputs: int
    mode: str  # "forward pass", "VJP", "JVP", "forward mode", "reverse mode"
    f_calls: int
    cpu_seconds: float
    max_error: float | None  # the Jacobians only: largest |J - J by hand|


class Network:
    """f(x) = W2 tanh(W1 x + b1), counting its calls."""

    def __init__(self, n: int, m: int, hidden: int, rng: np.random.Generator) -> None:
        self.W1 = rng.standard_normal((hidden, n)) / np.sqrt(n)
        self.b1 = 0.1 * rng.standard_normal(hidden)
        self.W2 = rng.standard_normal((m, hidden)) / np.sqrt(hidden)
        self.calls = 0

    def __call__(self, x: Tensor) -> Tensor:
        self.calls += 1
        return Tensor(self.W2) @ (Tensor(self.W1) @ x + Tensor(self.b1)).tanh()

    def jacobian_by_hand(self, x: np.ndarray) -> np.ndarray:
        """J = W2 diag(tanh'(z)) W1, tanh' = 1 - tanh², z = W1 x + b1."""
        return self.W2 @ ((1 - np.tanh(self.W1 @ x + self.b1) ** 2)[:, None] * self.W1)


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The least CPU time of `repeats` runs, in seconds.

    NOTE: CPU time, not wall time: on a shared machine a run longer than the scheduler's time
    slice waits for the other processes' turns, so wall times of long runs grow with the load
    (here up to 4x for the 256-pass Jacobians) and bend straight lines. With BLAS on several
    threads CPU time adds theirs up: run with OPENBLAS_NUM_THREADS=1 to compare passes.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def measure(sweep: str, n: int, m: int, repeats: int, hidden: int, seed: int) -> list[Row]:
    """The five timings of one size: a forward pass, a VJP, a JVP and the Jacobian both ways."""
    rng = np.random.default_rng(seed)
    f = Network(n, m, hidden, rng)
    x = rng.standard_normal(n)
    t, v = rng.standard_normal(n), rng.standard_normal(m)
    J_hand = f.jacobian_by_hand(x)
    rows = []
    for mode, run in (
        ("forward pass", lambda: f(Tensor(x))),
        ("VJP", lambda: vjp(f, x, v)),
        ("JVP", lambda: jvp(f, x, t)),
    ):
        rows.append(Row(sweep, n, m, mode, 1, best_time(run, repeats), None))
    for mode, strategy in (("forward mode", "forward-mode"), ("reverse mode", "reverse-mode")):
        f.calls = 0
        J = jacobian(f, x, strategy).numpy()
        calls = f.calls
        seconds = best_time(lambda s=strategy: jacobian(f, x, s), repeats)
        rows.append(Row(sweep, n, m, mode, calls, seconds, float(np.abs(J - J_hand).max())))
    return rows


def scalar_loss(batch: int, sizes: Sequence[int], repeats: int, seed: int) -> list[Row]:
    """One forward pass, one VJP (the whole gradient) and one JVP (one directional derivative) of
    an MLP's cross-entropy loss on random MNIST-shaped data, as a function of all its parameters."""
    rng = np.random.default_rng(seed)
    X = Tensor(rng.random((batch, sizes[0])))
    y = rng.integers(0, sizes[-1], batch)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params += [rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), np.zeros(n_out)]

    def loss(*ps: Tensor) -> Tensor:
        h = X
        for i in range(0, len(ps), 2):
            h = h @ ps[i] + ps[i + 1]
            h = h.relu() if i + 2 < len(ps) else h
        return F.cross_entropy(h, y)

    n = sum(p.size for p in params)
    tangents = [rng.standard_normal(p.shape) for p in params]
    sweep = f"scalar loss {'-'.join(map(str, sizes))} batch {batch}"
    return [
        Row(sweep, n, 1, mode, 1, best_time(run, repeats), None)
        for mode, run in (
            ("forward pass", lambda: loss(*(Tensor(p) for p in params))),
            ("VJP", lambda: vjp(loss, params)),
            ("JVP", lambda: jvp(loss, params, tangents)),
        )
    ]


def run_sweeps(
    sizes: Sequence[int] = SIZES, repeats: int = 5, hidden: int = HIDDEN, seed: int = 0
) -> list[Row]:
    """Both sweeps: n grows with m = 1, then m grows with n = 1."""
    rows = []
    for size in sizes:
        rows += measure(SWEEPS[0], size, 1, repeats, hidden, seed)
    for size in sizes:
        rows += measure(SWEEPS[1], 1, size, repeats, hidden, seed)
    return rows + scalar_loss(*(SCALAR_LOSS_QUICK if len(sizes) < len(SIZES) else SCALAR_LOSS), repeats, seed)


def write_csv(rows: Sequence[Row], path: str | os.PathLike) -> Path:
    cells = (
        (r.sweep, r.n_inputs, r.n_outputs, r.mode, r.f_calls, f"{r.cpu_seconds:.6e}")
        + ("" if r.max_error is None else f"{r.max_error:.3e}",)
        for r in rows
    )
    return output.write_csv(path, FIELDS, cells)


def plot(rows: Sequence[Row], path: str | os.PathLike) -> Path | None:
    """Seconds for the full Jacobian against n (first sweep) and m (second); None without matplotlib."""
    panels = []
    titles = ("f: Rⁿ → R (a scalar loss of n inputs)", "f: R → Rᵐ (m outputs of one input)")
    for sweep, label, panel_title in zip(SWEEPS, ("n inputs", "m outputs"), titles):
        curves = {}
        for mode in ("forward mode", "reverse mode"):
            mine = [r for r in rows if r.sweep == sweep and r.mode == mode]
            sizes = [r.n_inputs if sweep == SWEEPS[0] else r.n_outputs for r in mine]
            curves[mode] = (np.array(sizes), np.array([r.cpu_seconds for r in mine]))
        panels.append((panel_title, label, curves))
    title = "The full Jacobian: one JVP per input (forward mode) or one VJP per output (reverse mode)"
    return jacobian_cost(panels, title, path)


def summary(rows: Sequence[Row]) -> str:
    """A table: per size, the cost of each mode in CPU time and in forward passes."""
    lines = [
        f"{'sweep':13} {'n':>4} {'m':>4}  {'VJP':>9} {'JVP':>9}  {'forward mode':>13} {'reverse mode':>13}"
    ]
    sizes = dict.fromkeys((r.sweep, r.n_inputs, r.n_outputs) for r in rows)
    for sweep, n, m in sizes:
        t = {r.mode: r.cpu_seconds for r in rows if (r.sweep, r.n_inputs, r.n_outputs) == (sweep, n, m)}
        unit = t["forward pass"] or float("nan")  # a clock too coarse to see one pass
        if sweep not in SWEEPS:
            lines.append(
                f"\n{sweep} ({n} parameters): forward pass {unit * 1e3:.2f} ms, the gradient by one "
                f"VJP {t['VJP'] / unit:.1f}F, one JVP {t['JVP'] / unit:.1f}F, so the gradient by "
                f"forward mode would take {n} JVPs, about {n * t['JVP']:.0f} s"
            )
            continue
        cells = [f"{t[k] / unit:8.1f}F" for k in ("VJP", "JVP")]
        cells += [f"{t[k] * 1e3:10.2f} ms" for k in ("forward mode", "reverse mode")]
        lines.append(f"{sweep:13} {n:4} {m:4}  {cells[0]} {cells[1]}  {cells[2]} {cells[3]}")
    return "\n".join(lines) + "\n(F: in units of one forward pass)"


@dataclass(frozen=True)
class Outputs:
    rows: list[Row]
    csv: Path
    png: Path | None


def run(out: str | os.PathLike = "modes", quick: bool = False, repeats: int = 5, seed: int = 0) -> Outputs:
    """The experiment: both sweeps, DIR/modes.csv and DIR/modes.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = run_sweeps(QUICK_SIZES if quick else SIZES, 1 if quick else repeats, 8 if quick else HIDDEN, seed)
    return Outputs(rows, write_csv(rows, out / "modes.csv"), plot(rows, out / "modes.png"))


def main(argv: Sequence[str] | None = None) -> int:
    description = "Time the full Jacobian by forward mode and by reverse mode; write a CSV and a plot."
    parser = output.parser("modes", description, "modes", "sizes 1, 2, 4, hidden width 8, one run each")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing, the best kept (default: 5)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    result = run(args.out, args.quick, args.repeats, args.seed)
    print(summary(result.rows))
    print(output.wrote(result.csv, result.png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
