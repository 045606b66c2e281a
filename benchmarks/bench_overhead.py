"""Framework overhead next to numpy: per-op cost on tiny tensors, and an MLP step against numpy by hand.

    python benchmarks/bench_overhead.py [--repeats 50]

1. A chain of tiny elementwise ops on 8×8 float32 tensors (mul, add, tanh in turn), forward and
   backward: time per recorded op.
2. A 784-256-128-10 ReLU MLP with softmax cross-entropy at batch 128 in float32, forward and
   backward, against the same computation written by hand in numpy. Ratio = framework / hand.

Prints medians over `--repeats` runs, with the machine and numpy version.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.functional as F
from tinygrad_edu import nn, optim


def median_time(fn, repeats: int, inner: int = 1) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def mul_add_tanh(x, c, n_ops: int):
    """The per-op workload: mul, add and tanh in turn (any tensor type with *, + and .tanh())."""
    y = x
    for i in range(n_ops):
        if i % 3 == 0:
            y = y * c
        elif i % 3 == 1:
            y = y + c
        else:
            y = y.tanh()
    return y


def op_chain(n_ops: int = 300):
    x = tg.Tensor(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32), requires_grad=True)
    c = tg.Tensor(np.full((8, 8), 0.5, dtype=np.float32))

    def step():
        mul_add_tanh(x, c, n_ops).sum().backward()
        x.grad = None

    return step, n_ops + 1


def mlp_data(batch: int = 128, seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = [784, 256, 128, 10]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    x = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    return params, x, y


def mlp_framework(params, x, y):
    """The network as a user writes it: nn.Linear layers (loaded with the same weights)."""
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    model.load_state_dict(dict(zip(model.state_dict(), params)))
    xt = tg.Tensor(x)
    opt = optim.SGD(model.parameters(), lr=0.0)  # only for zero_grad, as in a training loop

    def step():
        F.cross_entropy(model(xt), y).backward()
        opt.zero_grad()

    return step


def mlp_numpy(params, x, y):
    w1, b1, w2, b2, w3, b3 = params
    n = len(y)
    rows = np.arange(n)

    def step():
        z1 = x @ w1.T + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2.T + b2
        a2 = np.maximum(z2, 0)
        z3 = a2 @ w3.T + b3
        e = np.exp(z3 - z3.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()  # noqa: F841  (computed, as the framework does)
        dz3 = p
        dz3[rows, y] -= 1
        dz3 /= n
        dw3, db3 = dz3.T @ a2, dz3.sum(0)
        dz2 = (dz3 @ w3) * (z2 > 0)
        dw2, db2 = dz2.T @ a1, dz2.sum(0)
        dz1 = (dz2 @ w2) * (z1 > 0)
        dw1, db1 = dz1.T @ x, dz1.sum(0)
        return dw1, db1, dw2, db2, dw3, db3

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; "
        f"python {platform.python_version()}; numpy {np.__version__}"
    )

    step, n_ops = op_chain()
    t = median_time(step, args.repeats)
    print(f"per-op overhead (8x8 float32, forward + backward): {t / n_ops * 1e6:.2f} us/op")

    params, x, y = mlp_data()
    # NOTE: the two are timed in alternation, so that drift in CPU clock or load hits both alike.
    pairs = [
        (median_time(mlp_framework(params, x, y), 5), median_time(mlp_numpy(params, x, y), 5))
        for _ in range(args.repeats)
    ]
    t_fw, t_np = (statistics.median(t) for t in zip(*pairs))
    print(
        f"MLP 784-256-128-10, batch 128, float32, forward + backward: "
        f"tinygrad_edu {t_fw * 1e3:.3f} ms, numpy by hand {t_np * 1e3:.3f} ms, ratio {t_fw / t_np:.3f}"
    )


if __name__ == "__main__":
    main()
