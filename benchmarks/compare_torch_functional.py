"""Activations, normalize, cosine_similarity, one_hot and the losses against PyTorch.

Not part of the test suite (torch is not a dependency). Run it with a Python that has torch:

    PYTHONPATH=. python benchmarks/compare_torch_functional.py

Activations: on a grid that holds every kink exactly, moderate values and |x| up to 1e30, in
float64 and float32: values, first derivatives and second derivatives (the gradient of Σ f′).
Losses: random configurations of every option (weights, ignore_index, label smoothing,
reductions, (N, C, d1, d2) inputs, probability targets): values and gradients in float64.
It prints the largest differences per function and raises if one is beyond its tolerance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
from tinygrad_edu import functional as F

rng = np.random.default_rng(0)
worst: dict[str, list[float]] = {}  # name -> largest difference of [value, f′, f″]
beyond: list[str] = []  # differences beyond the tolerance
GRID_OF: dict[str, np.ndarray] = {}  # name -> the inputs, to report where torch overflows


torch_nonfinite: dict[str, list[float]] = {}  # where torch gives NaN/inf and we a finite number


def note(name: str, k: int, ours: np.ndarray, theirs: np.ndarray, tol: float) -> None:
    ours, theirs = ours.astype(np.float64), theirs.astype(np.float64)
    theirs_only = ~np.isfinite(theirs) & np.isfinite(ours)
    if theirs_only.any():
        torch_nonfinite.setdefault(f"{name} [{k}]", []).extend(GRID_OF.get(name, ours)[theirs_only].tolist())
    same = (ours == theirs) | theirs_only | (np.isnan(ours) & np.isnan(theirs))  # inf, NaN, torch's overflows
    diff = np.where(same, 0.0, np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs)))  # relative above 1
    d = float(np.max(diff, initial=0.0))
    if not d <= tol:
        i = int(np.argmax(np.nan_to_num(diff, nan=np.inf)))
        where = GRID_OF[name].ravel()[i] if name in GRID_OF else i
        beyond.append(f"{name} [{k}] at x = {where}: ours {ours.ravel()[i]}, torch {theirs.ravel()[i]}")
    row = worst.setdefault(name, [0.0, 0.0, 0.0])
    row[k] = max(row[k], d)


# ---- activations -------------------------------------------------------------------------------
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu(0.2)": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": (F.elu, TF.elu),
    "elu(0.5)": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    "selu": (F.selu, TF.selu),
    "celu(2)": (lambda x: F.celu(x, 2.0), lambda x: TF.celu(x, 2.0)),
    "gelu": (F.gelu, TF.gelu),
    "gelu(tanh)": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "silu": (F.silu, TF.silu),
    "mish": (F.mish, TF.mish),
    "softplus": (F.softplus, TF.softplus),
    "softplus(2, 5)": (lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0)),
    "softsign": (F.softsign, TF.softsign),
    "hardtanh": (F.hardtanh, TF.hardtanh),
    "hardtanh(-2, 3)": (lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0)),
    "relu6": (F.relu6, TF.relu6),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "hardswish": (F.hardswish, TF.hardswish),
}
GRID = np.concatenate(
    [
        [-1e30, -1e4, -100.0, -30.0, -20.0, -10.0, -6.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 2.5, 3.0, 6.0],
        [10.0, 20.0, 30.0, 100.0, 1e4, 1e30],
        np.linspace(-8, 8, 161),
        rng.standard_normal(200) * 3,
    ]
)


def compare_activation(name: str, ours: Callable, theirs: Callable, dtype: type) -> None:
    x = tg.Tensor(GRID.astype(dtype), requires_grad=True)
    t = torch.tensor(GRID.astype(dtype), requires_grad=True)
    y, ty = ours(x), theirs(t)
    assert y.dtype == dtype, (name, y.dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    if name == "hardsigmoid" and dtype == np.float64:
        tol = 1e-8  # torch's float64 hardsigmoid backward multiplies by 1/6 rounded to float32
    GRID_OF[f"{name} {np.dtype(dtype).name}"] = GRID
    note(f"{name} {np.dtype(dtype).name}", 0, y.data, ty.detach().numpy(), tol)
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    (tg_,) = torch.autograd.grad(ty.sum(), t, create_graph=True)
    note(f"{name} {np.dtype(dtype).name}", 1, g.data, tg_.detach().numpy(), tol)
    h = tg.grad(g.sum(), x)[0].data if g.requires_grad else np.zeros_like(g.data)
    try:
        th = torch.autograd.grad(tg_.sum(), t)[0].numpy() if tg_.requires_grad else np.zeros_like(h)
    except RuntimeError as e:  # torch has no double backward for some of them
        print(f"{name}: torch cannot take the second derivative ({str(e).splitlines()[0]})")
        return
    note(f"{name} {np.dtype(dtype).name}", 2, h, th, tol * 10)


def compare_vectors() -> None:
    for _ in range(200):
        shape = tuple(int(n) for n in rng.integers(1, 5, rng.integers(1, 4)))
        dim = int(rng.integers(-len(shape), len(shape)))
        a, b = rng.standard_normal(shape), rng.standard_normal(shape)
        if rng.random() < 0.2:
            a[..., 0] = 0  # some zero vectors along the last dim
        p = float(rng.choice([2.0, 1.0, 3.0, np.inf]))
        x, t = tg.Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = F.normalize(x, p=p, dim=dim), TF.normalize(t, p=p, dim=dim)
        note("normalize", 0, y.data, ty.detach().numpy(), 1e-12)
        v = rng.standard_normal(shape)
        y.backward(v)
        ty.backward(torch.tensor(v))
        note("normalize", 1, x.grad, t.grad.numpy(), 1e-10)
        xs = [tg.Tensor(a.copy(), requires_grad=True), tg.Tensor(b.copy(), requires_grad=True)]
        ts = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
        y, ty = F.cosine_similarity(*xs, dim=dim), TF.cosine_similarity(*ts, dim=dim)
        note("cosine_similarity", 0, y.data, ty.detach().numpy(), 1e-12)
        y.sum().backward()
        ty.sum().backward()
        for x, t in zip(xs, ts):
            note("cosine_similarity", 1, x.grad, t.grad.numpy(), 1e-10)
        labels = rng.integers(0, 5, shape)
        ours, theirs = F.one_hot(labels).data, TF.one_hot(torch.tensor(labels)).numpy()
        assert ours.dtype == theirs.dtype == np.int64 and (ours == theirs).all()


# ---- losses --------------------------------------------------------------------------------------
def same_loss(name: str, ours: Callable, theirs: Callable, arrays: list, grads: list[bool], kw: dict) -> None:
    """Value and the gradients (for a random upstream gradient) of every array flagged in `grads`."""
    xs = [tg.Tensor(a.copy(), requires_grad=True) if g else a for a, g in zip(arrays, grads)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out, ref = ours(*xs, **kw), theirs(*ts, **tkw)
    assert out.shape == tuple(ref.shape), (name, kw, out.shape, tuple(ref.shape))
    note(name, 0, out.data, ref.detach().numpy(), 1e-12)
    v = rng.standard_normal(out.shape)
    out.backward(v)
    ref.backward(torch.tensor(v))
    for x, t in zip(xs, ts):
        if isinstance(x, tg.Tensor):
            note(name, 1, x.grad, t.grad.numpy(), 1e-12)


def class_config() -> tuple[np.ndarray, np.ndarray, dict]:
    c = int(rng.integers(2, 6))
    extra = tuple(int(n) for n in rng.integers(1, 4, rng.integers(0, 3)))
    shape = (c,) if rng.random() < 0.15 and not extra else (int(rng.integers(1, 5)), c, *extra)
    y_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    y = rng.integers(0, c, y_shape)
    kw: dict = {"reduction": str(rng.choice(["mean", "sum", "none"]))}
    if rng.random() < 0.5:
        kw["weight"] = rng.uniform(0.1, 3.0, c)
    if rng.random() < 0.5:
        kw["ignore_index"] = int(rng.integers(0, c))
    return rng.standard_normal(shape) * 3, y, kw


def compare_losses() -> None:
    for _ in range(300):
        x, y, kw = class_config()
        same_loss("nll_loss", F.nll_loss, TF.nll_loss, [x, y], [True, False], kw)
        kw["label_smoothing"] = float(rng.choice([0.0, 0.1, 0.5, 1.0]))
        same_loss("cross_entropy", F.cross_entropy, TF.cross_entropy, [x, y], [True, False], kw)
        c = x.shape[0] if x.ndim == 1 else x.shape[1]
        p = np.moveaxis(rng.dirichlet(np.ones(c), x.shape[:1] + x.shape[2:]), -1, 1) if x.ndim > 1 else None
        if p is not None:
            kw.pop("ignore_index", None)
            same_loss(
                "cross_entropy (probabilities)", F.cross_entropy, TF.cross_entropy, [x, p], [True, True], kw
            )
        shape = tuple(int(n) for n in rng.integers(1, 5, rng.integers(0, 4)))
        a, b = rng.standard_normal(shape) * 2, rng.standard_normal(shape) * 2
        r = str(rng.choice(["mean", "sum", "none"]))
        same_loss("l1_loss", F.l1_loss, TF.l1_loss, [a, b], [True, True], {"reduction": r})
        beta = float(rng.choice([1.0, 0.5, 2.0, 0.0]))
        same_loss(
            "smooth_l1_loss",
            F.smooth_l1_loss,
            TF.smooth_l1_loss,
            [a, b],
            [True, True],
            {"reduction": r, "beta": beta},
        )
        delta = float(rng.choice([1.0, 0.5, 2.0]))
        same_loss(
            "huber_loss", F.huber_loss, TF.huber_loss, [a, b], [True, True], {"reduction": r, "delta": delta}
        )
        q = rng.standard_normal(shape) - 1
        t = rng.uniform(0.0, 1.0, shape) * (rng.random(shape) < 0.8)  # some exact zeros
        kr = str(rng.choice(["mean", "batchmean", "sum", "none"]))
        same_loss("kl_div", F.kl_div, TF.kl_div, [q, t], [True, False], {"reduction": kr})
        same_loss(
            "kl_div (log_target)",
            F.kl_div,
            TF.kl_div,
            [q, np.log(t + 0.1)],
            [True, True],
            {"reduction": kr, "log_target": True},
        )
    # every target ignored: NaN, and the gradient
    for ours, theirs in ((F.cross_entropy, TF.cross_entropy), (F.nll_loss, TF.nll_loss)):
        x = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
        t = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
        a, b = ours(x, np.array([1, 1]), ignore_index=1), theirs(t, torch.tensor([1, 1]), ignore_index=1)
        a.backward()
        b.backward()
        assert np.isnan(a.item()) and np.isnan(b.item())
        note("all targets ignored", 1, x.grad, t.grad.numpy(), 0.0)


def main() -> None:
    for name, (ours, theirs) in ACTIVATIONS.items():
        for dtype in (np.float64, np.float32):
            compare_activation(name, ours, theirs, dtype)
    compare_vectors()
    compare_losses()
    print(f"torch {torch.__version__}, numpy {np.__version__}: largest differences (relative above 1)")
    print(f"{'function':28s} {'value':>10s} {'f′':>10s} {'f″':>10s}")
    for name, row in worst.items():
        print(f"{name:28s} " + " ".join(f"{d:10.2e}" for d in row))
    for name, xs in torch_nonfinite.items():
        print(f"torch gives NaN/inf, we a finite number: {name} at x = {sorted(set(xs))}")
    if beyond:
        raise AssertionError("beyond the tolerance:\n" + "\n".join(beyond))


if __name__ == "__main__":
    main()
