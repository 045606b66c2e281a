"""bench_overhead.py's two measurements, with PyTorch eager timed beside tinygrad_edu in the same run.

Not part of the test suite (torch is not a dependency). Run it with a Python that has torch
and tinygrad_edu importable, e.g.

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    PYTHONPATH=. /tmp/torchvenv/bin/python benchmarks/compare_torch_overhead.py [--repeats 50]

Timings on a shared machine drift with the load of its neighbours; the libraries are timed in
alternation, so a ratio between them holds even when the absolute times move.

NOTE: PyTorch (OpenMP) and numpy (OpenBLAS) keep separate thread pools whose idle threads spin
for a while after each call; switching library every few steps makes each pool's spinning
threads steal the core the other one needs (PyTorch then measured 2.6-3.6x numpy by hand here,
1.40x when timed alone). So each library first runs for `--settle` seconds before it is timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_overhead import median_time, mlp_data, mlp_framework, mlp_numpy, mul_add_tanh, op_chain


def torch_op_chain(n_ops: int = 300):
    """The same chain as bench_overhead.op_chain (mul, add, tanh in turn on 8x8 float32)."""
    x = torch.tensor(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32), requires_grad=True)
    c = torch.full((8, 8), 0.5)

    def step():
        mul_add_tanh(x, c, n_ops).sum().backward()
        x.grad = None

    return step, n_ops + 1


def torch_mlp(params, x, y):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(value))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        model.zero_grad()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--settle", type=float, default=0.3, help="seconds each library runs before it is timed")
    args = ap.parse_args()
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")

    chains = {"tinygrad_edu": op_chain(), "pytorch": torch_op_chain()}
    per_op: dict[str, list[float]] = {name: [] for name in chains}
    for _ in range(args.repeats):
        for name, (step, n_ops) in chains.items():
            t0 = time.perf_counter()
            step()
            per_op[name].append((time.perf_counter() - t0) / n_ops)
    print(
        "per-op overhead (8x8 float32, forward + backward): "
        + ", ".join(f"{name} {statistics.median(t) * 1e6:.2f} us/op" for name, t in per_op.items())
    )

    params, x, y = mlp_data()
    steps = {
        "tinygrad_edu": lambda: mlp_framework(params, x, y),
        "pytorch": lambda: torch_mlp(params, x, y),
        "numpy by hand": lambda: mlp_numpy(params, x, y),
    }
    mlp: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(max(1, args.repeats // 4)):
        for name, make in steps.items():
            step = make()
            settle_until = time.perf_counter() + args.settle
            while time.perf_counter() < settle_until:
                step()
            mlp[name].append(median_time(step, 20))
    t = {name: statistics.median(v) for name, v in mlp.items()}
    hand = t["numpy by hand"]
    print(
        "MLP 784-256-128-10, batch 128, float32, forward + backward: "
        + ", ".join(f"{name} {v * 1e3:.3f} ms ({v / hand:.3f}x by hand)" for name, v in t.items())
    )


if __name__ == "__main__":
    main()
