"""Convolution, pooling and padding, and their layers, against PyTorch on random configurations.

Not part of the test suite (torch is not a dependency). Run it with a Python that has torch:

    PYTHONPATH=. python benchmarks/compare_torch_conv.py

For each functional op it draws random shapes, strides, paddings, dilations, groups and modes,
and compares outputs and the gradients of every input (float64, to 1e-10). For each layer it
builds ours, loads our state_dict into the torch.nn layer built with the same arguments (strict:
same keys, shapes and layouts), and compares outputs, gradients, reprs and the init's bounds.
Last, a LeNet-5 checkpoint written by tg.save loads into the same torch.nn model unchanged.
It raises at the first disagreement and prints what it compared.
"""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
from tinygrad_edu import functional as F
from tinygrad_edu import nn

TRIALS = 300
rng = np.random.default_rng(0)
checked: dict[str, int] = {}


def same(name: str, ours: Callable, theirs: Callable, arrays: list[np.ndarray], **kw) -> None:
    """Outputs and gradients (for a random upstream gradient) equal to 1e-10 in float64."""
    xs = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs, **kw), theirs(*ts, **kw)
    if isinstance(ref, tuple):  # max pooling's return_indices
        (out, idx), (ref, ref_idx) = out, ref
        if not np.isfinite(out.data).all():
            # NOTE: with dilation, a window can hold padding only: both give -inf, but PyTorch then
            # reports (and routes the gradient to) an index of a pixel outside that window
            return
        np.testing.assert_array_equal(idx.data, ref_idx.numpy(), err_msg=f"{name} indices {kw}")
    assert out.shape == tuple(ref.shape), (name, kw, out.shape, tuple(ref.shape))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=0, atol=1e-10, err_msg=f"{name} {kw}")
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(
            x.grad, t.grad.numpy(), rtol=0, atol=1e-10, err_msg=f"{name} grad {i} {kw}"
        )
    checked[name] = checked.get(name, 0) + 1


def ints(lo: int, hi: int, n: int = 2) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(lo, hi + 1, n))


def fits(size, kernel, padding, dilation) -> bool:
    return all(n + 2 * p >= d * (k - 1) + 1 for n, k, p, d in zip(size, kernel, padding, dilation))


def compare_ops() -> None:
    for _ in range(TRIALS):
        n, groups = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        size, kernel = ints(1, 8), ints(1, 3)
        stride, dilation, padding = ints(1, 3), ints(1, 2), ints(0, 2)
        x = rng.standard_normal((n, c_in, *size))
        w, b = rng.standard_normal((c_out, c_in // groups, *kernel)), rng.standard_normal(c_out)
        conv = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        if fits(size, kernel, padding, dilation):
            same("conv2d", F.conv2d, TF.conv2d, [x, w, b], **conv)
            same(
                "conv1d",
                F.conv1d,
                TF.conv1d,
                [x[:, :, 0], w[:, :, 0], b],
                **{k: v[1] if k != "groups" else v for k, v in conv.items()},
            )
        if fits(size, kernel, (0, 0), dilation):
            same(
                "conv2d 'valid'",
                F.conv2d,
                TF.conv2d,
                [x, w, b],
                padding="valid",
                dilation=dilation,
                groups=groups,
            )
        same(
            "conv2d 'same'", F.conv2d, TF.conv2d, [x, w, b], padding="same", dilation=dilation, groups=groups
        )

        wt = rng.standard_normal((c_in, c_out // groups, *kernel))
        extra = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        out = [
            (m - 1) * s - 2 * p + d * (k - 1) + e + 1
            for m, s, p, d, k, e in zip(size, stride, padding, dilation, kernel, extra)
        ]
        if min(out) >= 1:
            kw = {
                "stride": stride,
                "padding": padding,
                "output_padding": extra,
                "groups": groups,
                "dilation": dilation,
            }
            same("conv_transpose2d", F.conv_transpose2d, TF.conv_transpose2d, [x, wt, b], **kw)

        pool_pad = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
        for ceil_mode in (False, True):
            if fits(size, kernel, pool_pad, dilation):
                kw = {"kernel_size": kernel, "stride": stride, "padding": pool_pad, "dilation": dilation}
                same(
                    "max_pool2d",
                    F.max_pool2d,
                    TF.max_pool2d,
                    [x],
                    ceil_mode=ceil_mode,
                    return_indices=True,
                    **kw,
                )
                kw1 = {k: v[1] for k, v in kw.items()}
                same(
                    "max_pool1d",
                    F.max_pool1d,
                    TF.max_pool1d,
                    [x[:, :, 0]],
                    ceil_mode=ceil_mode,
                    return_indices=True,
                    **kw1,
                )
            if fits(size, kernel, pool_pad, (1, 1)):
                for include in (True, False):
                    kw = {
                        "kernel_size": kernel,
                        "stride": stride,
                        "padding": pool_pad,
                        "ceil_mode": ceil_mode,
                    }
                    same("avg_pool2d", F.avg_pool2d, TF.avg_pool2d, [x], count_include_pad=include, **kw)
                    kw1 = {k: v[1] if isinstance(v, tuple) else v for k, v in kw.items()}
                    same(
                        "avg_pool1d",
                        F.avg_pool1d,
                        TF.avg_pool1d,
                        [x[:, :, 0]],
                        count_include_pad=include,
                        **kw1,
                    )
                same(
                    "avg_pool2d divisor_override",
                    F.avg_pool2d,
                    TF.avg_pool2d,
                    [x],
                    kernel_size=kernel,
                    padding=pool_pad,
                    divisor_override=3,
                )
        same(
            "adaptive_avg_pool2d", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, [x], output_size=ints(1, 6)
        )

        for mode in ("constant", "reflect", "replicate", "circular"):
            amounts = ints(-2, 3, 4)
            try:
                F.pad(tg.Tensor(x), amounts, mode)
            except ValueError:
                continue  # refused; the tests check the messages
            try:
                same(f"pad {mode}", F.pad, TF.pad, [x], pad=amounts, mode=mode)
            except RuntimeError as e:  # PyTorch refuses what we accept: report it, do not hide it
                print(f"PyTorch refuses pad {amounts} mode {mode} of shape {x.shape} that we accept: {e}")


def compare_layer(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray) -> None:
    """Our state_dict loads into theirs (strict); then outputs, gradients and reprs agree."""
    name = type(ours).__name__
    assert repr(ours) == repr(theirs), (repr(ours), repr(theirs))
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()}, strict=True)
    xt, xo = torch.tensor(x, requires_grad=True), tg.Tensor(x.copy(), requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    out, ref = (out[0], ref[0]) if isinstance(ref, tuple) else (out, ref)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    g = rng.standard_normal(out.shape).astype(x.dtype)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
    for (key, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=f"{name}.{key}")
    checked[f"layer {name}"] = checked.get(f"layer {name}", 0) + 1


def compare_layers() -> None:
    f32 = np.float32
    for _ in range(40):
        groups = int(rng.integers(1, 3))
        c_in, c_out = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
        k, s, p, d = ints(1, 3), ints(1, 2), ints(0, 2), ints(1, 2)
        bias = bool(rng.integers(2))
        x = rng.standard_normal((2, c_in, 9, 8)).astype(f32)
        mode = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
        args = (c_in, c_out, k, s, p, d, groups, bias, mode)
        compare_layer(nn.Conv2d(*args), torch.nn.Conv2d(*args), x)
        args1 = (c_in, c_out, k[0], s[0], p[0], d[0], groups, bias, mode)
        compare_layer(nn.Conv1d(*args1), torch.nn.Conv1d(*args1), x[:, :, 0])
        compare_layer(
            nn.Conv2d(c_in, c_out, k, padding="same", dilation=d, bias=bias),
            torch.nn.Conv2d(c_in, c_out, k, padding="same", dilation=d, bias=bias),
            x,
        )
        extra = tuple(int(rng.integers(0, v)) for v in s)
        argst = (c_in, c_out, k, s, p, extra, groups, bias, d)
        compare_layer(nn.ConvTranspose2d(*argst), torch.nn.ConvTranspose2d(*argst), x)
        pp = tuple(min(a, b // 2) for a, b in zip(p, k))
        compare_layer(
            nn.MaxPool2d(k, s, pp, d, ceil_mode=True), torch.nn.MaxPool2d(k, s, pp, d, ceil_mode=True), x
        )
        compare_layer(
            nn.MaxPool1d(k[0], s[0], pp[0], d[0]), torch.nn.MaxPool1d(k[0], s[0], pp[0], d[0]), x[:, :, 0]
        )
        compare_layer(nn.AvgPool2d(k, s, pp, True, False), torch.nn.AvgPool2d(k, s, pp, True, False), x)
        compare_layer(nn.AvgPool1d(k[0], None, pp[0]), torch.nn.AvgPool1d(k[0], None, pp[0]), x[:, :, 0])
        compare_layer(nn.AdaptiveAvgPool2d((None, 3)), torch.nn.AdaptiveAvgPool2d((None, 3)), x)
        compare_layer(nn.ZeroPad2d((1, -1, 2, 0)), torch.nn.ZeroPad2d((1, -1, 2, 0)), x)
    # ConvTranspose2d(output_size=...) picks the output_padding
    ours, theirs = nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((1, 2, 4, 5)).astype(f32)
    out, ref = ours(tg.Tensor(x), output_size=(10, 11)), theirs(torch.tensor(x), output_size=(10, 11))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=1e-6)


def compare_init() -> None:
    """Weights and biases fill U(±1/√fan_in) with PyTorch's fan_in (torch's own function computes it)."""
    for ours, theirs in [
        (nn.Conv2d(16, 32, 5), torch.nn.Conv2d(16, 32, 5)),
        (nn.Conv1d(8, 64, 7, groups=4), torch.nn.Conv1d(8, 64, 7, groups=4)),
        (nn.ConvTranspose2d(16, 24, 3, groups=2), torch.nn.ConvTranspose2d(16, 24, 3, groups=2)),
    ]:
        fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)
        bound = 1 / np.sqrt(fan_in)
        for key, t in theirs.state_dict().items():
            a = ours.state_dict()[key]
            assert a.shape == tuple(t.shape) and a.dtype == t.numpy().dtype, key
            assert np.abs(a).max() <= bound and np.abs(t.numpy()).max() <= bound, key
            if a.size > 1000:  # enough draws to come close to the bound
                assert np.abs(a).max() > 0.99 * bound, (type(ours).__name__, key, np.abs(a).max(), bound)
        checked["init bounds"] = checked.get("init bounds", 0) + 1


def lenet5(n: Any) -> Any:
    """LeNet-5 built from `n`, tinygrad_edu.nn or torch.nn: the same layers under the same names,
    so the same state_dict keys ("features.0.weight", ...)."""
    features = n.Sequential(
        n.Conv2d(1, 6, 5, padding=2), n.ReLU(), n.MaxPool2d(2),
        n.Conv2d(6, 16, 5), n.ReLU(), n.MaxPool2d(2),
    )  # fmt: skip
    classifier = n.Sequential(
        n.Flatten(), n.Linear(400, 120), n.ReLU(), n.Linear(120, 84), n.ReLU(), n.Linear(84, 10)
    )
    return n.Sequential(OrderedDict(features=features, classifier=classifier))


def compare_checkpoint() -> None:
    """A LeNet-5 saved by tg.save (.npz) loads into torch.nn's LeNet-5 unchanged."""
    model, theirs = lenet5(nn), lenet5(torch.nn)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lenet5.npz"
        tg.save(model.state_dict(), path)
        with np.load(path) as archive:
            state = {key: torch.from_numpy(archive[key]) for key in archive.files}
    theirs.load_state_dict(state, strict=True)
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(
        model(tg.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )
    checked["LeNet-5 checkpoint"] = 1


if __name__ == "__main__":
    torch.set_default_dtype(torch.float32)
    tg.manual_seed(0)
    torch.manual_seed(0)
    compare_ops()
    compare_layers()
    compare_init()
    compare_checkpoint()
    width = max(map(len, checked))
    for name, count in sorted(checked.items()):
        print(f"{name:<{width}}  {count:4d} configurations agree")
    print(
        f"torch {torch.__version__}, numpy {np.__version__}: "
        "all agree (functional ops: outputs and gradients to 1e-10 in float64)"
    )
