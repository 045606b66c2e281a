"""LeNet-5's training step at batch 128 in float32 (forward, backward, Adam step): tinygrad_edu beside
the same network written by hand in numpy (below: im2col, col2im, pooling, Adam) and, when torch is
importable, beside PyTorch eager in the same process; each convolution's forward and backward alone,
with GFLOP/s; and, with --epoch, one MNIST epoch of examples/mnist_cnn.py's networks in both.

    PYTHONPATH=. python benchmarks/bench_conv.py [--rounds 40] [--threads 1]
    PYTHONPATH=. python benchmarks/bench_conv.py --epoch default lenet5

Not part of the test suite (torch is not a dependency): run it from a venv that has torch.

The machine is shared, so the sides are timed in turn within each round (A, B, C, A, B, C, ...),
each for a block of `--steps` steps after one untimed step (PyTorch's and numpy's thread pools
spin for a while after a call, and switching at every step makes them steal each other's core);
a round's time is the median of its block, and the tables give the median over rounds of each
time and of each per-round ratio. Each side runs on `--threads` threads (1 by default), each in
its own way (see `Threads`); with more than one, threadpoolctl sets numpy's BLAS threads per side.

LeNet-5 here: conv 5x5 1->6 pad 2, ReLU, max-pool 2, conv 5x5 6->16, ReLU, max-pool 2,
linear 400->120->84->10, ReLU between, cross-entropy, Adam(lr 1e-3).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tinygrad_edu as tg
from tinygrad_edu import functional as F
from tinygrad_edu import nn, optim

try:
    import torch
except ImportError:
    torch = None

N = 128
CONVS = {  # name: (C_in, H, C_out, k, padding, the input needs a gradient)
    "conv1 1->6 5x5 pad 2 on 28x28": (1, 28, 6, 5, 2, False),
    "conv2 6->16 5x5 on 14x14": (6, 14, 16, 5, 0, True),
}


# ---- LeNet-5 in numpy, by hand ----------------------------------------------------------------
def im2col(x: np.ndarray, k: int, pad: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C·k·k, OH·OW): column (h, w) holds the k×k window at (h, w), every channel."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    windows = sliding_window_view(xp, (k, k), axis=(2, 3))  # (N, C, OH, OW, k, k), no copy
    n, c, oh, ow = windows.shape[:4]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, oh * ow)


def col2im(cols: np.ndarray, shape: tuple[int, ...], k: int, pad: int) -> np.ndarray:
    """The adjoint of im2col: each column's values added back onto its window's pixels."""
    n, c, h, w = shape
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = cols.reshape(n, c, k, k, oh, ow)
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + oh, j : j + ow] += cols[:, :, i, j]
    return out[:, :, pad : pad + h, pad : pad + w]


class HandConv:
    """y = W · im2col(x) + b; dW = Σ_n g · colsᵀ, dx = col2im(Wᵀ · g), db = Σ g."""

    def __init__(self, w: np.ndarray, b: np.ndarray, pad: int) -> None:
        self.w, self.b, self.pad = w, b, pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        o, _, k, _ = self.w.shape
        self.shape, self.cols = x.shape, im2col(x, k, self.pad)
        side = x.shape[2] + 2 * self.pad - k + 1
        return (self.w.reshape(o, -1) @ self.cols).reshape(len(x), o, side, side) + self.b[:, None, None]

    def backward(self, g: np.ndarray, input_grad: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        o, _, k, _ = self.w.shape
        g3 = g.reshape(len(g), o, -1)
        dw = (g3 @ self.cols.transpose(0, 2, 1)).sum(0).reshape(self.w.shape)
        dx = col2im(self.w.reshape(o, -1).T @ g3, self.shape, k, self.pad) if input_grad else None
        return dx, dw, g.sum((0, 2, 3))


def pool_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2×2 max-pooling: each block's maximum and which of its 4 taps it is (the first among ties)."""
    n, c, h, w = x.shape
    taps = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    idx = taps.argmax(-1)
    return np.take_along_axis(taps, idx[..., None], -1)[..., 0], idx


def pool_backward(g: np.ndarray, idx: np.ndarray) -> np.ndarray:
    n, c, h, w = g.shape
    taps = np.zeros((n, c, h, w, 4), g.dtype)
    np.put_along_axis(taps, idx[..., None], g[..., None], -1)
    return taps.reshape(n, c, h, w, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h, 2 * w)


class HandLeNet:
    """LeNet-5 and its training step, in numpy: every derivative written out."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3) -> None:
        self.params = [p.copy() for p in params]  # conv1 w, b, conv2 w, b, fc1 w, b, fc2 w, b, fc3 w, b
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t, self.lr = 0, lr
        p = self.params
        self.conv1, self.conv2 = HandConv(p[0], p[1], 2), HandConv(p[2], p[3], 0)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        p = self.params
        a1 = np.maximum(self.conv1.forward(x), 0)
        h1, idx1 = pool_forward(a1)
        a2 = np.maximum(self.conv2.forward(h1), 0)
        h2, idx2 = pool_forward(a2)
        hs = [h2.reshape(len(x), -1)]
        for w, b in ((p[4], p[5]), (p[6], p[7])):
            hs.append(np.maximum(hs[-1] @ w.T + b, 0))
        z = hs[-1] @ p[8].T + p[9]
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        probs = e / e.sum(1, keepdims=True)
        loss = float(np.mean(np.log(e.sum(1)) - z[np.arange(len(y)), y]))
        g = probs
        g[np.arange(len(y)), y] -= 1
        g /= len(y)  # dL/dz of the mean cross-entropy: (softmax(z) - onehot(y)) / N
        grads = [None] * 10
        for i in (8, 6, 4):
            h = hs[(i - 4) // 2]
            grads[i], grads[i + 1] = g.T @ h, g.sum(0)
            g = g @ p[i]
            if i > 4:
                g = g * (h > 0)
        g = pool_backward(g.reshape(h2.shape), idx2) * (a2 > 0)
        g, grads[2], grads[3] = self.conv2.backward(g, input_grad=True)
        g = pool_backward(g, idx1) * (a1 > 0)
        _, grads[0], grads[1] = self.conv1.backward(g, input_grad=False)
        self.adam(grads)
        return loss

    def adam(self, grads: list[np.ndarray], b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> None:
        self.t += 1
        step = self.lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= step * m / (np.sqrt(v) + eps * np.sqrt(1 - b2**self.t))


# ---- the same network in tinygrad_edu and in PyTorch ------------------------------------------
def lenet5() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def to_torch(model: nn.Module):
    """The PyTorch module built with the same layers and arguments, with the same weights: our
    state_dict has PyTorch's names and layouts, so it loads unchanged."""
    if isinstance(model, nn.Sequential):
        twin = torch.nn.Sequential(*(to_torch(m) for m in model))
    elif isinstance(model, nn.Conv2d):
        twin = torch.nn.Conv2d(
            model.in_channels, model.out_channels, model.kernel_size, model.stride, model.padding
        )
    elif isinstance(model, nn.Linear):
        twin = torch.nn.Linear(*model.weight.shape[::-1])
    elif isinstance(model, nn.MaxPool2d):
        twin = torch.nn.MaxPool2d(model.kernel_size, model.stride)
    elif isinstance(model, nn.Dropout):
        twin = torch.nn.Dropout(model.p)
    else:
        twin = getattr(torch.nn, type(model).__name__)()  # ReLU, Flatten
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return twin


def steps(x: np.ndarray, y: np.ndarray) -> dict[str, Callable[[], object]]:
    """One LeNet-5 training step per library, all from the same initial weights."""
    tg.manual_seed(0)
    model = lenet5()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    X = tg.Tensor(x)

    def ours() -> float:
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    hand = HandLeNet([p.data for p in model.parameters()])
    fns: dict[str, Callable[[], float]] = {"tinygrad_edu": ours, "numpy by hand": lambda: hand.step(x, y)}
    if torch is not None:
        twin = to_torch(model)
        topt = torch.optim.Adam(twin.parameters(), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs() -> float:
            loss = torch.nn.functional.cross_entropy(twin(tx), ty)
            topt.zero_grad()
            loss.backward()
            topt.step()
            return loss.item()

        fns["PyTorch eager"] = theirs
    return fns


# ---- each convolution alone -------------------------------------------------------------------
def conv_parts(c: int, h: int, o: int, k: int, pad: int, input_grad: bool) -> dict[str, Callable[[], object]]:
    """Forward and backward of one convolution, per library: the backward is timed alone (its
    forward, run first, is not counted)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, c, h, h)).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) * 0.1).astype(np.float32)
    b = np.zeros(o, np.float32)
    side = h + 2 * pad - k + 1
    g = rng.standard_normal((N, o, side, side)).astype(np.float32)
    X, W, B = (
        tg.Tensor(x, requires_grad=input_grad),
        tg.Tensor(w, requires_grad=True),
        tg.Tensor(b, requires_grad=True),
    )
    hand = HandConv(w, b, pad)
    fns: dict[str, Callable[[], object]] = {}
    fns["tinygrad_edu fwd"], fns["tinygrad_edu bwd"] = autodiff_parts(F.conv2d, tg.no_grad, X, W, B, g, pad)
    fns["numpy fwd"] = lambda: hand.forward(x)

    def hand_bwd() -> float:
        hand.forward(x)
        start = time.perf_counter()
        hand.backward(g, input_grad)
        return time.perf_counter() - start

    fns["numpy bwd"] = TimedPart(hand_bwd)
    if torch is not None:
        tx, tw, tb, tg_ = (torch.from_numpy(a) for a in (x, w, b, g))
        tx.requires_grad_(input_grad)
        tw.requires_grad_(True)
        tb.requires_grad_(True)
        conv2d = torch.nn.functional.conv2d
        fns["PyTorch fwd"], fns["PyTorch bwd"] = autodiff_parts(conv2d, torch.no_grad, tx, tw, tb, tg_, pad)
    return fns


def autodiff_parts(conv2d: Callable, no_grad: Callable, x: Any, w: Any, b: Any, g: Any, pad: int) -> tuple:
    """An autodiff library's conv2d forward (not recording) and backward (timed alone, its
    forward not counted): the same code for tinygrad_edu and PyTorch, given each one's functions."""

    def fwd():
        with no_grad():
            return conv2d(x, w, b, padding=pad)

    def bwd() -> float:
        y = conv2d(x, w, b, padding=pad)
        start = time.perf_counter()
        y.backward(g)
        elapsed = time.perf_counter() - start
        x.grad = w.grad = b.grad = None
        return elapsed

    return fwd, TimedPart(bwd)


class TimedPart:
    """A function that times a part of itself and returns those seconds (see `interleaved`)."""

    def __init__(self, fn: Callable[[], float]) -> None:
        self.fn = fn

    def __call__(self) -> float:
        return self.fn()


def interleaved(
    fns: dict[str, Callable[[], object]], rounds: int, block: int, threads: Threads
) -> dict[str, np.ndarray]:
    """Per side and round, the median seconds of `block` calls (after one untimed call), the sides
    in turn, each with its own threads (`Threads.side`). A `TimedPart` reports its own seconds."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            with threads.side(name):
                fn()
                block_times = []
                for _ in range(block):
                    start = time.perf_counter()
                    part = fn()
                    block_times.append(part if isinstance(fn, TimedPart) else time.perf_counter() - start)
            times[name].append(float(np.median(block_times)))
    return {name: np.array(t) for name, t in times.items()}


def conv_flops(c: int, h: int, o: int, k: int, pad: int, input_grad: bool) -> tuple[float, float]:
    """(forward, backward) floating-point operations: 2 per multiply-add. The backward is the weight
    gradient (as many as the forward) and, when the input needs one, the input gradient (as many)."""
    side = h + 2 * pad - k + 1
    forward = 2.0 * N * o * side * side * c * k * k
    return forward, forward * (2 if input_grad else 1)


# ---- one epoch of the example's networks -------------------------------------------------------
def epochs(presets: list[str], threads: Threads) -> None:
    """One MNIST epoch (the preset's batch size, Adam with its lr, its dropout) of each preset's
    network in tinygrad_edu and then in PyTorch, the same batches, the same initial weights; test
    accuracy after it. The wall time of the example is not this: it adds data loading and the
    final evaluations, and trains the preset's number of epochs."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import mnist_cnn

    from tinygrad_edu.data import DataLoader, flatten, load_mnist

    mnist = load_mnist(download=False)
    x_train = flatten(mnist.train_images).astype(np.float32) / 255
    x_test = flatten(mnist.test_images).astype(np.float32) / 255
    for name in presets:
        cfg = mnist_cnn.PRESETS[name]
        tg.manual_seed(cfg.seed)
        model = mnist_cnn.build_model(cfg)
        twin = torch.nn.Sequential(to_torch(model.features), to_torch(model.classifier))
        loader = DataLoader((x_train, mnist.train_labels), cfg.batch_size, shuffle=True, seed=cfg.seed)
        opt = optim.Adam(model.parameters(), lr=cfg.lr)
        topt = torch.optim.Adam(twin.parameters(), lr=cfg.lr)
        seconds = {}
        with threads.side("tinygrad_edu"):
            start = time.perf_counter()
            model.train()
            for x, y in loader:
                loss = F.cross_entropy(model(tg.Tensor(x)), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            seconds["tinygrad_edu"] = time.perf_counter() - start
        with threads.side("PyTorch eager"):
            start = time.perf_counter()
            twin.train()
            for x, y in loader:
                loss = torch.nn.functional.cross_entropy(
                    twin(torch.from_numpy(x).reshape(-1, 1, 28, 28)), torch.from_numpy(y)
                )
                topt.zero_grad()
                loss.backward()
                topt.step()
            seconds["PyTorch eager"] = time.perf_counter() - start
        model.eval()
        twin.eval()
        with tg.no_grad(), torch.no_grad():
            ours = np.mean(model(tg.Tensor(x_test)).data.argmax(1) == mnist.test_labels)
            theirs = np.mean(
                twin(torch.from_numpy(x_test).reshape(-1, 1, 28, 28)).numpy().argmax(1) == mnist.test_labels
            )
        print(
            f"  {name:8s} ({cfg.net}) one epoch: "
            f"tinygrad_edu {seconds['tinygrad_edu']:6.1f} s (test {ours:.2%}), "
            f"PyTorch eager {seconds['PyTorch eager']:6.1f} s (test {theirs:.2%}), "
            f"ratio {seconds['tinygrad_edu'] / seconds['PyTorch eager']:.2f}",
            flush=True,
        )


# ---- report ------------------------------------------------------------------------------------
class Threads:
    """Each side on `n` threads, in its own way: PyTorch with `torch.set_num_threads(n)`;
    tinygrad_edu with `tg.set_num_threads(n)` and numpy's BLAS on one thread (as
    examples/mnist_cnn.py runs it: two pools of n threads would fight for the cores); numpy by
    hand with BLAS on n threads, its only parallelism."""

    def __init__(self, n: int) -> None:
        self.n = n
        tg.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            if n > 1:
                sys.exit("--threads above 1 sets BLAS threads per side: pip install threadpoolctl")
            self.limits = None  # then OPENBLAS_NUM_THREADS decides
        else:
            self.limits = threadpool_limits

    def side(self, name: str) -> contextlib.AbstractContextManager:
        blas = 1 if name.startswith("tinygrad_edu") else self.n
        return self.limits(blas, user_api="blas") if self.limits else contextlib.nullcontext()

    def __str__(self) -> str:
        if self.limits is None:
            return f"threads: 1, BLAS: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
        return f"threads: {self.n} a side (tinygrad_edu's own, BLAS on 1; numpy's BLAS; PyTorch's)"


def versions(threads: Threads) -> str:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    torch_version = f", torch {torch.__version__}" if torch is not None else ", torch not importable"
    return (
        f"numpy {np.__version__} ({blas['name']} {blas['version']}){torch_version}, "
        f"Python {platform.python_version()}, {platform.machine()} {_cpu_name()}, {os.cpu_count()} CPUs, "
        f"{threads}, load average {os.getloadavg()[0]:.1f}"
    )


def _cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="rounds of interleaved blocks")
    parser.add_argument("--steps", type=int, default=5, help="timed calls per side in each round's block")
    parser.add_argument("--threads", type=int, default=1, help="threads per side (see Threads)")
    parser.add_argument("--epoch", nargs="*", metavar="PRESET", help="also one epoch of mnist_cnn presets")
    args = parser.parse_args()
    threads = Threads(args.threads)
    print(versions(threads))
    print(f"batch {N}, float32, {args.rounds} rounds of {args.steps} timed calls per side\n")

    rng = np.random.default_rng(0)
    x = rng.random((N, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, N)
    fns = steps(x, y)
    first = {name: fn() for name, fn in fns.items()}  # from the same weights: the same loss
    print("first step's loss: " + ", ".join(f"{name} {loss:.6f}" for name, loss in first.items()))
    t = interleaved(fns, args.rounds, args.steps, threads)
    print("LeNet-5 training step (forward + backward + Adam), median ms:")
    for name, times in t.items():
        print(
            f"  {name:14s} {np.median(times) * 1e3:7.2f}  "
            f"(rounds: {np.min(times) * 1e3:.2f}-{np.max(times) * 1e3:.2f})"
        )
    ours = t["tinygrad_edu"]
    for other, target in (("numpy by hand", 1.1), ("PyTorch eager", 1.5)):
        if other in t:
            ratio = np.median(ours / t[other])
            verdict = "met" if ratio <= target else "NOT met"
            print(
                f"  tinygrad_edu / {other}: {ratio:.2f} "
                f"(median of per-round ratios; target <= {target}: {verdict})"
            )

    print("\nEach convolution alone, forward and backward (median ms, GFLOP/s):")
    for name, shape in CONVS.items():
        t = interleaved(conv_parts(*shape), args.rounds, args.steps, threads)
        flops = dict(zip(("fwd", "bwd"), conv_flops(*shape)))
        what = "weight grad" if not shape[-1] else "input + weight grad"
        print(f"  {name} (backward: {what})")
        for lib in ("tinygrad_edu", "numpy", "PyTorch"):
            if f"{lib} fwd" in t:
                medians = {part: float(np.median(t[f"{lib} {part}"])) for part in ("fwd", "bwd")}
                cells = [
                    f"{part} {sec * 1e3:6.2f} ms {flops[part] / sec / 1e9:5.1f} GFLOP/s"
                    for part, sec in medians.items()
                ]
                print(f"    {lib:12s} " + "   ".join(cells))

    if args.epoch is not None:
        if torch is None:
            sys.exit("--epoch compares with PyTorch: run it with a Python that has torch")
        print("\nOne MNIST epoch of examples/mnist_cnn.py's networks, same batches and initial weights:")
        epochs(args.epoch or ["default"], threads)


if __name__ == "__main__":
    main()
