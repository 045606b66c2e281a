"""Build each nn layer here and in PyTorch, swap state dicts both ways, and compare.

Not part of the test suite (torch is not a dependency). Run it with a Python that has torch
and tinygrad_edu importable (torch 2.13.0 CPU was the release measured), e.g.

    PYTHONPATH=. python benchmarks/compare_torch_nn.py

For every layer and both float32 and float64 it checks that the state dict's keys, order,
shapes and dtypes, and the order of `named_parameters()` and `named_buffers()`, are PyTorch's;
loads our (randomised) state dict into the torch layer unchanged (strict); then runs STEPS
training steps (forward, backward of a fixed random upstream gradient) and an evaluation
forward in both, and prints the largest absolute differences of the outputs, the input and
parameter gradients, and the buffers; finally it loads torch's state dict back into ours and
checks that it reproduces torch's evaluation output. It also compares `clip_grad_norm_`,
`clip_grad_value_` and `parameters_to_vector`, and Sequential slicing's keys. Exits with
status 1 if a structure differs or a difference exceeds its tolerance.

`--speed` times instead one training step (forward and backward, float32) of BatchNorm1d,
BatchNorm2d and LayerNorm here, in numpy written by hand and in PyTorch, in interleaved blocks,
and prints the medians and the ratio to numpy.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn

STEPS = 3
TOL = {np.float32: 1e-4, np.float64: 1e-10}
failures: list[str] = []

# (name, constructor taking (library, dtype), input shape, integer input with this many classes)
LAYERS: list[tuple[str, Callable[[Any, Any], Any], tuple[int, ...], int]] = [
    ("BatchNorm1d(4) on (N, C)", lambda m, d: m.BatchNorm1d(4, dtype=d), (8, 4), 0),
    ("BatchNorm1d(4) on (N, C, L)", lambda m, d: m.BatchNorm1d(4, dtype=d), (6, 4, 5), 0),
    ("BatchNorm1d(4, momentum=None)", lambda m, d: m.BatchNorm1d(4, momentum=None, dtype=d), (8, 4), 0),
    ("BatchNorm1d(4, affine=False)", lambda m, d: m.BatchNorm1d(4, affine=False, dtype=d), (8, 4), 0),
    (
        "BatchNorm1d(4, track_running_stats=False)",
        lambda m, d: m.BatchNorm1d(4, track_running_stats=False, dtype=d),
        (8, 4),
        0,
    ),
    ("BatchNorm2d(3)", lambda m, d: m.BatchNorm2d(3, dtype=d), (4, 3, 5, 5), 0),
    (
        "BatchNorm2d(3, eps=1e-3, momentum=0.3)",
        lambda m, d: m.BatchNorm2d(3, eps=1e-3, momentum=0.3, dtype=d),
        (2, 3, 4, 4),
        0,
    ),
    ("LayerNorm(6)", lambda m, d: m.LayerNorm(6, dtype=d), (5, 6), 0),
    ("LayerNorm((3, 6)) on (N, T, 3, 6)", lambda m, d: m.LayerNorm((3, 6), dtype=d), (2, 4, 3, 6), 0),
    (
        "LayerNorm(6, elementwise_affine=False)",
        lambda m, d: m.LayerNorm(6, elementwise_affine=False, dtype=d),
        (5, 6),
        0,
    ),
    ("LayerNorm(6, bias=False)", lambda m, d: m.LayerNorm(6, bias=False, dtype=d), (5, 6), 0),
    ("GroupNorm(2, 4) on (N, C, L)", lambda m, d: m.GroupNorm(2, 4, dtype=d), (3, 4, 5), 0),
    (
        "GroupNorm(1, 4, affine=False) on (N, C)",
        lambda m, d: m.GroupNorm(1, 4, affine=False, dtype=d),
        (3, 4),
        0,
    ),
    ("GroupNorm(4, 4) on (N, C, H, W)", lambda m, d: m.GroupNorm(4, 4, dtype=d), (2, 4, 3, 3), 0),
    ("Embedding(10, 4)", lambda m, d: m.Embedding(10, 4, dtype=d), (3, 5), 10),
    (
        "Embedding(10, 4, padding_idx=-2)",
        lambda m, d: m.Embedding(10, 4, padding_idx=-2, dtype=d),
        (4, 6),
        10,
    ),
    ("Identity", lambda m, d: m.Identity(), (3, 4), 0),
    ("Unflatten(1, (2, -1))", lambda m, d: m.Unflatten(1, (2, -1)), (3, 6), 0),
    (
        "Sequential(OrderedDict) with Linear, BatchNorm1d, LayerNorm",
        lambda m, d: m.Sequential(
            OrderedDict(
                [
                    ("fc", m.Linear(5, 4, dtype=d)),
                    ("bn", m.BatchNorm1d(4, dtype=d)),
                    ("ln", m.LayerNorm(4, dtype=d)),
                ]
            )
        ),
        (6, 5),
        0,
    ),
    (
        "a small CNN: Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear",
        lambda m, d: m.Sequential(
            m.Conv2d(2, 4, 3, padding=1, dtype=d),
            m.BatchNorm2d(4, dtype=d),
            m.ReLU(),
            m.MaxPool2d(2),
            m.Flatten(),
            m.Linear(16, 3, dtype=d),
        ),
        (5, 2, 4, 4),
        0,
    ),
    (
        "ModuleList / ModuleDict of GroupNorm and Embedding",
        lambda m, d: m.ModuleDict(
            {
                "norms": m.ModuleList([m.GroupNorm(2, 4, dtype=d), m.BatchNorm1d(4, dtype=d)]),
                "emb": m.Embedding(3, 2),
            }
        ),
        (),
        0,
    ),
]


def check(what: str, ok: bool) -> None:
    if not ok:
        failures.append(what)
        print(f"    MISMATCH: {what}")


def structure(name: str, ours: Any, theirs: torch.nn.Module) -> None:
    sd, tsd = ours.state_dict(), theirs.state_dict()
    check(f"{name}: state_dict keys/order {list(sd)} vs {list(tsd)}", list(sd) == list(tsd))
    for k in sd.keys() & tsd.keys():
        want = (tuple(tsd[k].shape), str(tsd[k].dtype).removeprefix("torch."))
        check(
            f"{name}: {k} shape/dtype {(sd[k].shape, str(sd[k].dtype))} vs {want}",
            (sd[k].shape, str(sd[k].dtype)) == want,
        )
    for what in ("named_parameters", "named_buffers"):
        a = [n for n, _ in getattr(ours, what)()]
        b = [n for n, _ in getattr(theirs, what)()]
        check(f"{name}: {what} {a} vs {b}", a == b)
    check(
        f"{name}: named_modules",
        [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()],
    )


def randomise(layer: Any, rng: np.random.Generator) -> None:
    """Random parameters and running statistics, so that loading is actually tested."""
    sd = layer.state_dict()
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            sd[k] = np.asarray(7, np.int64)
        elif k.endswith("running_var"):
            sd[k] = rng.uniform(0.5, 2.0, v.shape).astype(v.dtype)
        else:
            sd[k] = rng.standard_normal(v.shape).astype(v.dtype)
    layer.load_state_dict(sd)


def compare_layer(name: str, make: Callable, shape: tuple[int, ...], classes: int, dtype: Any) -> None:
    rng = np.random.default_rng(0)
    tg.manual_seed(0)  # the layers' initial values are overwritten, but Linear's are drawn first
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ours, theirs = make(nn, dtype), make(torch.nn, tdtype)
    structure(name, ours, theirs)
    randomise(ours, rng)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    if not shape:  # a container without forward: structure and loading only
        print(f"  {name:58s} structure and state dict both ways: same")
        return
    diffs = dict.fromkeys(["train out", "x grad", "param grads", "buffers", "eval out", "back-load"], 0.0)
    for _ in range(STEPS):
        if classes:
            x = rng.integers(0, classes, shape)
            tx, xt = tg.Tensor(x), torch.from_numpy(x)
        else:
            x = rng.standard_normal(shape).astype(dtype)
            tx, xt = tg.Tensor(x.copy(), requires_grad=True), torch.from_numpy(x.copy()).requires_grad_(True)
        ours.train(), theirs.train()
        ours.zero_grad(), theirs.zero_grad()
        out, tout = ours(tx), theirs(xt)
        g = rng.standard_normal(out.shape).astype(dtype)
        diffs["train out"] = max(diffs["train out"], np.abs(out.data - tout.detach().numpy()).max())
        if out.requires_grad:
            out.backward(g)
            tout.backward(torch.from_numpy(g))
        if not classes and xt.grad is not None:
            diffs["x grad"] = max(diffs["x grad"], np.abs(tx.grad - xt.grad.numpy()).max())
        their_params = dict(theirs.named_parameters())
        for k, p in ours.named_parameters():
            diffs["param grads"] = max(
                diffs["param grads"], np.abs(p.grad - their_params[k].grad.numpy()).max()
            )
        their_buffers = dict(theirs.named_buffers())
        for k, b in ours.named_buffers():
            diffs["buffers"] = max(diffs["buffers"], np.abs(b.data - their_buffers[k].numpy()).max())
    ours.eval(), theirs.eval()
    with tg.no_grad(), torch.no_grad():
        tout = theirs(xt).numpy()
        diffs["eval out"] = np.abs(ours(tx).data - tout).max()
        fresh = make(nn, dtype)
        fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        diffs["back-load"] = np.abs(fresh.eval()(tx).data - tout).max()
    print(f"  {name:58s} " + "  ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    for k, v in diffs.items():
        check(f"{name} {np.dtype(dtype).name}: {k} differs by {v:.3g}", v <= TOL[dtype])


def compare_utils(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    for norm_type in (2.0, 1.0, 3.0, float("inf"), "inf"):
        for max_norm in (0.5, 1e3):
            grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
            ours = [tg.Tensor(np.zeros(s, dtype), requires_grad=True) for s in shapes]
            theirs = [
                torch.zeros(s, dtype=torch.from_numpy(g).dtype, requires_grad=True)
                for s, g in zip(shapes, grads)
            ]
            for p, t, g in zip(ours, theirs, grads):
                p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
            total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
            ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
            d_total = abs(total.item() - ttotal.item())
            d_grads = max(np.abs(p.grad - t.grad.numpy()).max() for p, t in zip(ours, theirs))
            print(
                f"  clip_grad_norm_(max_norm={max_norm}, norm_type={norm_type!r}): "
                f"total {d_total:.1e}, grads {d_grads:.1e}"
            )
            check(
                f"clip_grad_norm_ {norm_type} {max_norm}",
                d_total <= TOL[dtype] * 10 and d_grads <= TOL[dtype],
            )
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [tg.Tensor(np.zeros(s, dtype), requires_grad=True) for s in shapes]
    theirs = [torch.zeros(s, dtype=torch.from_numpy(grads[0]).dtype, requires_grad=True) for s in shapes]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
    nn.utils.clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    d = max(np.abs(p.grad - t.grad.numpy()).max() for p, t in zip(ours, theirs))
    v = np.abs(
        nn.utils.parameters_to_vector(ours).data
        - torch.nn.utils.parameters_to_vector(theirs).detach().numpy()
    ).max()
    print(f"  clip_grad_value_(0.3): grads {d:.1e};  parameters_to_vector: {v:.1e}")
    check("clip_grad_value_ / parameters_to_vector", d == 0 and v == 0)


def compare_slicing() -> None:
    def make(m: Any) -> Any:
        return m.Sequential(OrderedDict([("a", m.Linear(2, 3)), ("b", m.ReLU()), ("c", m.Linear(3, 1))]))

    ours, theirs = make(nn), make(torch.nn)
    for idx in (slice(1, None), slice(None, None, 2), slice(-2, None)):
        a, b = list(ours[idx].state_dict()), list(theirs[idx].state_dict())
        c, d = [n for n, _ in ours[idx].named_children()], [n for n, _ in theirs[idx].named_children()]
        print(f"  Sequential[{idx.start}:{idx.stop}:{idx.step}] keys {c} (torch {d}), state dict {a}")
        check(f"Sequential slice {idx}", a == b and c == d)
    check(
        "Sequential[-1] is the last module", type(ours[-1]).__name__ == type(theirs[-1]).__name__ == "Linear"
    )


def numpy_norm_step(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray, axes: tuple[int, ...]
) -> tuple:
    """Forward and backward of (x - mean) / sqrt(var + eps) * w + b in numpy, written by hand
    (the gradients of w and b summed over `axes`: exact for BatchNorm, the same work for LayerNorm)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    inv_std = 1 / np.sqrt((centered * centered).mean(axis=axes, keepdims=True) + 1e-5)
    xhat = centered * inv_std
    y = xhat * w + b
    gxhat = g * w
    gx = (
        gxhat - gxhat.mean(axis=axes, keepdims=True) - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
    ) * inv_std
    return y, gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


def time_case(
    name: str, make: Callable, shape: tuple[int, ...], axes: tuple[int, ...], rounds: int, block: int
) -> None:
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    # γ and β: per channel (dim 1) for BatchNorm, over the normalised dims for LayerNorm
    pshape = shape[1:2] + (1,) * (len(shape) - 2) if 0 in axes else shape[axes[0] :]
    w, b = np.ones(pshape, np.float32), np.zeros(pshape, np.float32)
    ours, theirs, xt, gt = make(nn), make(torch.nn), torch.from_numpy(x), torch.from_numpy(g)
    steps = {
        "tinygrad_edu": lambda: ours(tg.Tensor(x, requires_grad=True)).backward(g),
        "numpy": lambda: numpy_norm_step(x, w, b, g, axes),
        "torch": lambda: theirs(xt.detach().requires_grad_()).backward(gt),
    }
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(rounds):
        for k, step in steps.items():
            step()
            start = time.perf_counter()
            for _ in range(block):
                step()
            times[k].append((time.perf_counter() - start) / block * 1e6)
    med = {k: float(np.median(v)) for k, v in times.items()}
    ratios = np.array(times["tinygrad_edu"]) / np.array(times["numpy"])
    print(
        f"  {name:34s} tinygrad_edu {med['tinygrad_edu']:6.0f}  numpy {med['numpy']:6.0f}"
        f"  torch {med['torch']:6.0f}  ours/numpy median {np.median(ratios):.2f}"
        f" ({ratios.min():.2f}-{ratios.max():.2f})"
    )


def speed(rounds: int = 10, block: int = 30) -> None:
    torch.set_num_threads(1)
    print(f"median µs of one forward+backward, float32, {rounds} rounds of {block} (torch on 1 thread)")
    time_case("BatchNorm1d(256), (128, 256)", lambda m: m.BatchNorm1d(256), (128, 256), (0,), rounds, block)
    time_case(
        "BatchNorm2d(16), (32, 16, 28, 28)",
        lambda m: m.BatchNorm2d(16),
        (32, 16, 28, 28),
        (0, 2, 3),
        rounds,
        block,
    )
    time_case("LayerNorm(256), (128, 256)", lambda m: m.LayerNorm(256), (128, 256), (1,), rounds, block)


def main() -> int:
    if "--speed" in sys.argv:
        speed()
        return 0
    print(f"torch {torch.__version__}, numpy {np.__version__}; max |difference| over {STEPS} training steps")
    for dtype in (np.float32, np.float64):
        print(f"{np.dtype(dtype).name} (tolerance {TOL[dtype]:g}):")
        for name, make, shape, classes in LAYERS:
            compare_layer(name, make, shape, classes, dtype)
        compare_utils(dtype)
    compare_slicing()
    print("all the same" if not failures else f"{len(failures)} MISMATCHES")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
