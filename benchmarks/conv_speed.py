"""LeNet-5's convolutions and pooling at batch 128 in float32: tinygrad_edu's ops beside numpy
written by hand, and the three ways to write a convolution's matrix product.

    PYTHONPATH=. python benchmarks/conv_speed.py [--rounds 50]

1. Formulations: the forward (W times the patch matrix), the weight gradient (g times the
   patch matrix transposed, summed over the batch) and the input gradient's columns (Wᵀ times
   g), each as np.matmul on the layout ops/conv.py uses, as np.tensordot and as
   np.einsum(optimize=True) on the patch view. The op keeps the fastest.
2. The ops against the same computation written by hand in numpy (im2col with
   sliding_window_view, one matmul, col2im by kernel taps; max-pooling by reshaping the 2x2
   blocks): forward, and forward + backward (conv1's input needs no gradient, as in training).

The machine is shared, so every timing is interleaved with the ones it is compared with
(A, B, A, B, ...), and the tables give medians and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tinygrad_edu as tg
from tinygrad_edu import functional as F

N = 128
CONVS = {  # name: (C_in, H, C_out, k, padding)
    "conv1 1->6 5x5 pad 2 (28x28)": (1, 28, 6, 5, 2),
    "conv2 6->16 5x5 (14x14)": (6, 14, 16, 5, 0),
}
rng = np.random.default_rng(0)


def interleaved(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, np.ndarray]:
    """Seconds per call of each function, run in turn `rounds` times after one warm-up each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def formulations(rounds: int) -> None:
    print("1. One matrix product per convolution, three ways (median ms; ratio to matmul, median per round)")
    for name, shape in CONVS.items():
        for what, fns in three_ways(*shape).items():
            t = interleaved(fns, rounds)
            row = "  ".join(
                f"{f} {np.median(t[f]) * 1e3:6.2f} ({np.median(t[f] / t['matmul']):5.2f}x)" for f in fns
            )
            print(f"  {name:30s} {what:19s} {row}")


def three_ways(c: int, h: int, o: int, k: int, p: int) -> dict[str, dict[str, Callable[[], object]]]:
    x = rng.standard_normal((N, c, h, h)).astype(np.float32)
    w = rng.standard_normal((o, c, k, k)).astype(np.float32)
    view = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), (k, k), axis=(2, 3))  # no copy
    oh = view.shape[2]
    cols = view.transpose(0, 1, 4, 5, 2, 3).reshape(N, c * k * k, oh * oh)  # the copy ops/conv.py makes
    g = rng.standard_normal((N, o, oh, oh)).astype(np.float32)
    w2, g3 = w.reshape(o, -1), g.reshape(N, o, -1)
    return {
        "forward": {
            "matmul": lambda: w2 @ view.transpose(0, 1, 4, 5, 2, 3).reshape(N, c * k * k, oh * oh),
            "tensordot": lambda: np.tensordot(view, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2),
            "einsum": lambda: np.einsum("nchwij,ocij->nohw", view, w, optimize=True),
        },
        "weight grad": {
            "matmul": lambda: (g3 @ cols.transpose(0, 2, 1)).sum(0),
            "tensordot": lambda: np.tensordot(g, view, axes=([0, 2, 3], [0, 2, 3])),
            "einsum": lambda: np.einsum("nohw,nchwij->ocij", g, view, optimize=True),
        },
        "input-grad columns": {
            "matmul": lambda: w2.T @ g3,
            "tensordot": lambda: np.tensordot(w, g, axes=([0], [1])),
            "einsum": lambda: np.einsum("ocij,nohw->ncijhw", w, g, optimize=True),
        },
    }


def by_hand_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray, p: int, input_grad: bool):
    """LeNet's convolution, forward and backward, as a student writes it with numpy."""
    n, c, h, _ = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh = h + 2 * p - k + 1
    cols = sliding_window_view(xp, (k, k), axis=(2, 3)).transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, -1)
    y = (w.reshape(o, -1) @ cols).reshape(n, o, oh, oh) + b[:, None, None]
    if g is None:
        return y
    g3 = g.reshape(n, o, -1)
    dw, db = (g3 @ cols.transpose(0, 2, 1)).sum(0).reshape(w.shape), g.sum((0, 2, 3))
    if input_grad:
        dcols = (w.reshape(o, -1).T @ g3).reshape(n, c, k, k, oh, oh)
        dxp = np.zeros_like(xp)
        for i in range(k):
            for j in range(k):
                dxp[:, :, i : i + oh, j : j + oh] += dcols[:, :, i, j]
        return y, dw, db, dxp[:, :, p : p + h, p : p + h]
    return y, dw, db


def by_hand_pool(x: np.ndarray, g: np.ndarray | None):
    """2x2 max-pooling by reshaping into blocks; the gradient to the first maximum of each block."""
    n, c, h, w = x.shape
    blocks = (
        x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    )
    idx = blocks.argmax(-1)
    y = np.take_along_axis(blocks, idx[..., None], -1)[..., 0]
    if g is None:
        return y
    dx = np.zeros_like(blocks)
    np.put_along_axis(dx, idx[..., None], g[..., None], -1)
    return y, dx.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)


def ops_vs_hand(rounds: int) -> None:
    print("\n2. tinygrad_edu's ops beside numpy by hand (median ms; ratio ops/hand, median per round)")
    for name, shape in CONVS.items():
        report(name, interleaved(conv_side_by_side(*shape), rounds))
    for name, shape in {"max-pool 2x2 (6x28x28)": (6, 28), "max-pool 2x2 (16x10x10)": (16, 10)}.items():
        report(name, interleaved(pool_side_by_side(*shape), rounds))


def conv_side_by_side(c: int, h: int, o: int, k: int, p: int) -> dict[str, Callable[[], object]]:
    x = rng.standard_normal((N, c, h, h)).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) * 0.1).astype(np.float32)
    b = np.zeros(o, np.float32)
    g = rng.standard_normal((N, o, h + 2 * p - k + 1, h + 2 * p - k + 1)).astype(np.float32)
    input_grad = c > 1  # conv1 sees the images, which need no gradient
    X = tg.Tensor(x, requires_grad=input_grad)
    W, B = tg.Tensor(w, requires_grad=True), tg.Tensor(b, requires_grad=True)

    def forward() -> tg.Tensor:
        with tg.no_grad():
            return F.conv2d(X, W, B, padding=p)

    def forward_backward() -> None:
        X.grad = W.grad = B.grad = None
        F.conv2d(X, W, B, padding=p).backward(g)

    return {
        "ops fwd": forward,
        "hand fwd": lambda: by_hand_conv(x, w, b, None, p, input_grad),
        "ops fwd+bwd": forward_backward,
        "hand fwd+bwd": lambda: by_hand_conv(x, w, b, g, p, input_grad),
    }


def pool_side_by_side(c: int, h: int) -> dict[str, Callable[[], object]]:
    x = rng.standard_normal((N, c, h, h)).astype(np.float32)
    g = rng.standard_normal((N, c, h // 2, h // 2)).astype(np.float32)
    X = tg.Tensor(x, requires_grad=True)

    def forward() -> tg.Tensor:
        with tg.no_grad():
            return F.max_pool2d(X, 2)

    def forward_backward() -> None:
        X.grad = None
        F.max_pool2d(X, 2).backward(g)

    return {
        "ops fwd": forward,
        "hand fwd": lambda: by_hand_pool(x, None),
        "ops fwd+bwd": forward_backward,
        "hand fwd+bwd": lambda: by_hand_pool(x, g),
    }


def report(name: str, t: dict[str, np.ndarray]) -> None:
    cells = []
    for what in ("fwd", "fwd+bwd"):
        ours, hand = t[f"ops {what}"], t[f"hand {what}"]
        cells.append(
            f"{what:7s} ops {np.median(ours) * 1e3:6.2f} hand {np.median(hand) * 1e3:6.2f} "
            f"ratio {np.median(ours / hand):4.2f}"
        )
    print(f"  {name:30s} " + "   ".join(cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    print(f"numpy {np.__version__} ({blas['name']} {blas['version']}), {machine}")
    print(f"batch {N}, float32, {args.rounds} rounds\n")
    formulations(args.rounds)
    ops_vs_hand(args.rounds)
