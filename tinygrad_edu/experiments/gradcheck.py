"""The eps sweep: how far finite differences are from the analytic gradient, as a function of eps.

    python -m tinygrad_edu.experiments.gradcheck [--out DIR] [--quick] [--seed N]

For every case (ops one by one, and three networks), in float32 and float64, for forward and
central differences and eps = 1e-1, 1e-2, ..., 1e-12, it records

    rel_error = ‖analytic - numerical‖ / max(‖analytic‖, ‖numerical‖)

in DIR/gradcheck_sweep.csv and (with matplotlib) plots it in DIR/gradcheck_sweep.png. Two errors
compete: truncation, O(eps) for forward and O(eps²) for central differences, falls as eps shrinks;
round-off, about u·|L| / eps with u the unit round-off (6e-8 in float32, 1.1e-16 in float64), rises.
On log-log axes that is a V whose bottom sits near eps ≈ √u (forward) or ∛u (central).

How the numerical side is computed (both through `tg.numerical_grad`):
- ops: every element of every input is perturbed, and a fixed random upstream gradient v turns
  any output into the scalar Σ v ⊙ op(x) (as `gradcheck` does).
- networks: their ~8,000 parameters would need ~16,000 forward passes per eps, so the check is
  directional instead: with a random direction d (one N(0, 1) number per parameter), the loss on
  the line L(t) = L(θ + t d) has dL/dt (0) = ∇L · d. The analytic side is ∇L · d by `backward()`,
  the numerical side is numerical_grad of L(t) at t = 0. A step t = eps then moves every
  parameter by about eps, the same scale as the per-element check; a wrong gradient for any
  parameter changes ∇L · d (unless orthogonal to d, which a random d is with probability 0).
The networks run on random MNIST-shaped data (pixels in [0, 1), no download needed).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.experiments import output
from tinygrad_edu.functional import concatenate, where
from tinygrad_edu.numerical import numerical_grad
from tinygrad_edu.plot import eps_sweep

EPS = tuple(10.0**-k for k in range(1, 13))
DTYPES = ("float32", "float64")
METHODS = ("forward", "central")
FIELDS = ("case", "kind", "dtype", "method", "eps", "rel_error")
# Linear in each input element (at inputs away from kinks): finite differences are exact up to
# round-off, so their error only grows as eps shrinks.
LINEAR_OPS = frozenset(
    {"Add (broadcast)", "Sub", "Mul", "MatMul", "ReLU", "Abs", "Sum", "Max", "Reshape", "Permute", "Index"}
    | {"Concatenate", "Where"}
)


@dataclass(frozen=True)
class Case:
    """`fn(*tensors) -> Tensor` at `inputs` (float64 arrays, cast to each dtype swept).

    kind "op" or "linear op": every input element is perturbed; "network": one random direction.
    """

    name: str
    kind: str
    fn: Callable[..., Tensor]
    inputs: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class SweepRow:
    case: str
    kind: str
    dtype: str
    method: str
    eps: float
    rel_error: float


# ---- the cases ----------------------------------------------------------------------------------
def op_cases(seed: int = 0) -> list[Case]:
    """One case per op, at inputs away from kinks, ties and domain edges (which gradcheck
    cannot judge: there the two one-sided derivatives differ)."""
    rng = np.random.default_rng(seed)

    def normal(*shape):
        return rng.standard_normal(shape)

    def positive(*shape):
        return rng.uniform(0.5, 2.0, shape)

    def away0(*shape):
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape)

    cond = rng.random((3, 4)) > 0.5
    y = rng.integers(0, 4, 3)
    target = rng.uniform(0.0, 1.0, (3, 4))
    ops = [
        ("Add (broadcast)", lambda a, b: a + b, normal(3, 4), normal(4)),
        ("Sub", lambda a, b: a - b, normal(3, 4), normal(3, 4)),
        ("Mul", lambda a, b: a * b, normal(3, 4), normal(3, 4)),
        ("Div", lambda a, b: a / b, normal(3, 4), positive(3, 4)),
        ("Pow", lambda a, p: a**p, positive(3, 4), np.array(1.5)),
        ("MatMul", lambda a, b: a @ b, normal(3, 4), normal(4, 2)),
        ("Exp", lambda a: a.exp(), normal(3, 4)),
        ("Log", lambda a: a.log(), positive(3, 4)),
        ("Sqrt", lambda a: a.sqrt(), positive(3, 4)),
        ("Tanh", lambda a: a.tanh(), normal(3, 4)),
        ("Sigmoid", lambda a: a.sigmoid(), normal(3, 4)),
        ("ReLU", lambda a: a.relu(), away0(3, 4)),
        ("Abs", lambda a: a.abs(), away0(3, 4)),
        ("Sum", lambda a: a.sum(axis=1), normal(3, 4)),
        ("Max", lambda a: a.amax(1), normal(3, 4)),
        ("Reshape", lambda a, b: a.reshape(2, 6) * b, normal(3, 4), normal(2, 6)),
        ("Permute", lambda a, b: a.T * b, normal(3, 4), normal(4, 3)),
        ("Index", lambda a: a[[0, 2, 2]], normal(3, 4)),
        ("Concatenate", lambda a, b: concatenate([a, b], axis=1), normal(3, 4), normal(3, 2)),
        ("Where", lambda a, b: where(cond, a, b), normal(3, 4), normal(3, 4)),
        ("Softmax", lambda a: F.softmax(a), normal(3, 4)),
        ("LogSoftmax", lambda a: F.log_softmax(a), normal(3, 4)),
        ("logsumexp", lambda a: F.logsumexp(a), normal(3, 4)),
        ("CrossEntropy", lambda a: F.cross_entropy(a, y), normal(3, 4)),
        ("mse_loss", lambda a: F.mse_loss(a, Tensor(target.astype(a.dtype))), normal(3, 4)),
        (
            "BinaryCrossEntropy",
            lambda p: F.binary_cross_entropy(p, Tensor(target.astype(p.dtype))),
            rng.uniform(0.2, 0.8, (3, 4)),
        ),
        (
            "BinaryCrossEntropyWithLogits",
            lambda z: F.binary_cross_entropy_with_logits(z, Tensor(target.astype(z.dtype))),
            normal(3, 4),
        ),
    ]
    return [Case(name, "linear op" if name in LINEAR_OPS else "op", fn, tuple(xs)) for name, fn, *xs in ops]


def _const(a: np.ndarray, like: Tensor) -> Tensor:
    return Tensor(a.astype(like.dtype, copy=False))


def _layer(rng: np.random.Generator, n_out: int, n_in: int) -> list[np.ndarray]:
    """W (n_out, n_in) ~ N(0, 1/n_in) (the usual 1/√fan_in scale), b (n_out, 1) small, not 0."""
    return [rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), 0.1 * rng.standard_normal((n_out, 1))]


def network_cases(n_in: int = 784, m: int = 32, seed: int = 0) -> list[Case]:
    """The three networks, column convention of the from-scratch write-ups (X is n_in × m)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_in, m))
    y = rng.integers(0, 10, m)
    Y = np.eye(10)[:, y]  # one-hot, 10 × m

    def relu_softmax(W1, b1, W2, b2):
        A1 = (W1 @ _const(X, W1) + b1).relu()
        return F.cross_entropy((W2 @ A1 + b2).T, y)

    def sigmoid_mse(W1, b1, W2, b2):
        A1 = (W1 @ _const(X, W1) + b1).sigmoid()
        A2 = (W2 @ A1 + b2).sigmoid()
        return ((A2 - _const(Y, A2)) ** 2).sum() * (1 / (2 * m))  # C = 1/(2m) Σ ‖a - y‖²

    def mlp(W1, b1, W2, b2, W3, b3):
        A1 = (W1 @ _const(X, W1) + b1).tanh()
        A2 = (W2 @ A1 + b2).tanh()
        return F.nll_loss(F.log_softmax((W3 @ A2 + b3).T), y)

    small = _layer(rng, 10, n_in) + _layer(rng, 10, 10)
    deep = _layer(rng, 32, n_in) + _layer(rng, 16, 32) + _layer(rng, 10, 16)
    return [
        Case(f"ReLU/softmax + cross-entropy {n_in}-10-10", "network", relu_softmax, tuple(small)),
        Case(f"sigmoid + squared error {n_in}-10-10", "network", sigmoid_mse, tuple(small)),
        Case(f"MLP tanh {n_in}-32-16-10", "network", mlp, tuple(deep)),
    ]


def all_cases(quick: bool = False, seed: int = 0) -> list[Case]:
    """Every op and the three networks (input width 64 instead of 784 with quick=True)."""
    n_in, m = (64, 8) if quick else (784, 32)
    return op_cases(seed) + network_cases(n_in, m, seed)


# ---- the sweep ----------------------------------------------------------------------------------
def relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """‖a - n‖ / max(‖a‖, ‖n‖) (0 when both are 0)."""
    a, n = np.ravel(analytic).astype(np.float64), np.ravel(numerical).astype(np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(n))
    return float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0


def _on_a_line(case: Case, dtype: str, rng: np.random.Generator) -> tuple[Callable[..., Tensor], list]:
    """The network's loss along θ + t d as a function of the scalar t (see the module docstring)."""
    theta = [Tensor(p.astype(dtype)) for p in case.inputs]
    d = [Tensor(rng.standard_normal(p.shape).astype(dtype)) for p in case.inputs]

    def loss_on_line(t: Tensor) -> Tensor:
        return case.fn(*(p + t * di for p, di in zip(theta, d)))

    return loss_on_line, [Tensor(np.zeros((), dtype=dtype), requires_grad=True)]


def sweep_case(
    case: Case,
    dtypes: Sequence[str] = DTYPES,
    methods: Sequence[str] = METHODS,
    eps_values: Sequence[float] = EPS,
    seed: int = 0,
) -> list[SweepRow]:
    """The relative error of `numerical_grad` against `backward()` for one case, every combination."""
    rows = []
    for dtype in dtypes:
        rng = np.random.default_rng(seed)  # the same v and d in both dtypes
        if case.kind == "network":
            fn, xs = _on_a_line(case, dtype, rng)
        else:
            fn, xs = case.fn, [Tensor(x.astype(dtype), requires_grad=True) for x in case.inputs]
        out = fn(*xs)
        v = rng.standard_normal(out.shape).astype(dtype)  # upstream gradient: any output -> a scalar
        out.backward(v)
        analytic = np.concatenate([x.grad.ravel() for x in xs])
        for method in methods:
            for eps in eps_values:
                numerical = np.concatenate([g.ravel() for g in numerical_grad(fn, xs, eps, method, v)])
                err = relative_error(analytic, numerical)
                rows.append(SweepRow(case.name, case.kind, dtype, method, eps, err))
    return rows


def sweep(cases: Sequence[Case] | None = None, seed: int = 0, **kwargs) -> list[SweepRow]:
    """`sweep_case` over `cases` (default: `all_cases()`); kwargs as for `sweep_case`."""
    rows = []
    for case in all_cases(seed=seed) if cases is None else cases:
        rows += sweep_case(case, seed=seed, **kwargs)
    return rows


def best_eps(rows: Sequence[SweepRow]) -> dict[tuple[str, str, str], SweepRow]:
    """The row with the smallest error for each (case, dtype, method)."""
    best: dict[tuple[str, str, str], SweepRow] = {}
    for r in rows:
        key = (r.case, r.dtype, r.method)
        # on a tie, the larger eps (further from round-off trouble)
        if key not in best or (r.rel_error, -r.eps) < (best[key].rel_error, -best[key].eps):
            best[key] = r
    return best


# ---- output -------------------------------------------------------------------------------------
def write_csv(rows: Sequence[SweepRow], path: str | os.PathLike) -> Path:
    cells = ((r.case, r.kind, r.dtype, r.method, f"{r.eps:.0e}", f"{r.rel_error:.6e}") for r in rows)
    return output.write_csv(path, FIELDS, cells)


def _curves(rows: Sequence[SweepRow]) -> dict[str, dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]]:
    """{panel: {(dtype, method): (eps, error)}}: one panel per network, the median per kind of op."""
    groups: dict[str, dict[tuple[str, str], dict[float, list[float]]]] = {}
    counts = {kind: len({r.case for r in rows if r.kind == kind}) for kind in ("op", "linear op")}
    titles = {
        "op": f"nonlinear ops (median of {counts['op']})",
        "linear op": f"ops linear in each element (median of {counts['linear op']})",
    }
    for r in rows:
        errs = groups.setdefault(titles.get(r.kind, r.case), {}).setdefault((r.dtype, r.method), {})
        errs.setdefault(r.eps, []).append(r.rel_error)
    rank = {titles["op"]: 1, titles["linear op"]: 2}  # networks first, then the ops
    return {
        panel: {key: _median_curve(errs) for key, errs in groups[panel].items()}
        for panel in sorted(groups, key=lambda p: rank.get(p, 0))
    }


def _median_curve(errs: dict[float, list[float]]) -> tuple[np.ndarray, np.ndarray]:
    eps = sorted(errs, reverse=True)  # large to small, as in EPS: on a tie the larger eps is best
    return np.array(eps), np.array([np.median(errs[e]) for e in eps])


def plot(rows: Sequence[SweepRow], path: str | os.PathLike) -> Path | None:
    """The log-log plot of error against eps, best eps starred; None without matplotlib."""
    return eps_sweep(_curves(rows), path)


@dataclass(frozen=True)
class Outputs:
    rows: list[SweepRow]
    csv: Path
    png: Path | None


def run(out: str | os.PathLike = "gradcheck_sweep", quick: bool = False, seed: int = 0) -> Outputs:
    """The full experiment: sweep every case, write DIR/gradcheck_sweep.csv and .png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = sweep(all_cases(quick, seed), seed=seed)
    return Outputs(
        rows, write_csv(rows, out / "gradcheck_sweep.csv"), plot(rows, out / "gradcheck_sweep.png")
    )


def summary(rows: Sequence[SweepRow]) -> str:
    """A table of the best eps (and its error) per case, dtype and method."""
    best = best_eps(rows)
    combos = [(d, m) for d in DTYPES for m in METHODS]
    cases = list(dict.fromkeys(r.case for r in rows))
    width = max(len(c) for c in cases)
    lines = [" " * width + "".join(f"  {d + ' ' + m:>18}" for d, m in combos)]
    for c in cases:
        cells = [best.get((c, d, m)) for d, m in combos]
        lines.append(
            c.ljust(width)
            + "".join(f"  {'-':>18}" if r is None else f"  {r.eps:>7.0e}: {r.rel_error:8.1e}" for r in cells)
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    description = "Sweep the finite-difference step eps; write a CSV and a log-log plot."
    parser = output.parser("gradcheck", description, "gradcheck_sweep", "input width 64 instead of 784")
    args = parser.parse_args(argv)
    result = run(args.out, args.quick, args.seed)
    print("best eps (relative error at it):")
    print(summary(result.rows))
    print(output.wrote(result.csv, result.png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
