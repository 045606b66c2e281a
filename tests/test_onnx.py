"""ONNX export: each exported file is run by ONNX Runtime (an independent implementation of every
op) and compared with tinygrad_edu's own output, for two batch sizes; `onnx.checker` validates
the file; errors name the op, the module and the file."""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import onnx
import pytest
from hypothesis import assume, given, settings

import tinygrad_edu as tg
import tinygrad_edu.functional as F
from tinygrad_edu import nn, ops
from tinygrad_edu.data.mnist import flatten, load_mnist_subset, to_float
from tinygrad_edu.nn import normalization
from tinygrad_edu.onnx import CONVERTERS, ExportError, export, run

RTOL = 1e-5  # float32: the largest difference, relative to the largest output


def max_rel_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    return float(np.abs(ours - theirs).max() / np.abs(ours).max())


def agreement(model, path, *inputs) -> float:
    """ONNX Runtime against the model on `inputs` (a batch each): the max relative difference."""
    theirs = run(path, *inputs)
    with tg.no_grad():
        ours = model(*[tg.Tensor(x) for x in inputs])
    ours = ours if isinstance(ours, tuple) else (ours,)
    assert len(theirs) == len(ours)
    return max(max_rel_diff(o.data, t) for o, t in zip(ours, theirs))


def graph_ops(out: tg.Tensor) -> set[type]:
    """The op classes in the graph that made `out`."""
    seen, stack = set(), [out]
    while stack:
        t = stack.pop()
        if t.grad_fn is not None and t.grad_fn not in seen:
            seen.add(t.grad_fn)
            stack.extend(t.grad_fn.inputs)
    return {type(node) for node in seen}


def batches(*shapes: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


# ---- models ------------------------------------------------------------------------------------------
@functools.cache
def mnist() -> tg.data.MNIST:
    return load_mnist_subset()


def mnist_images(n: int, seed: int) -> np.ndarray:
    """n test images of the bundled subset, picked at random, as (n, 784) float32 in [0, 1]."""
    pick = np.random.default_rng(seed).choice(len(mnist().test_images), n, replace=False)
    return flatten(to_float(mnist().test_images[pick]))


def mnist_mlp() -> nn.Module:
    """The README's MNIST MLP, 784-256-128-10 with dropout, trained for a few steps on the subset so
    its weights are not the initial ones."""
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    x, y = flatten(to_float(mnist().train_images[:640])), mnist().train_labels[:640]
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    for i in range(0, 640, 64):
        opt.zero_grad()
        loss = tg.functional.cross_entropy(model(tg.Tensor(x[i : i + 64])), y[i : i + 64])
        loss.backward()
        opt.step()
    return model


class EveryOp(nn.Module):
    """A forward that uses every elementwise, reduction and movement op with an ONNX translation."""

    def __init__(self) -> None:
        tg.manual_seed(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6, 5)
        self.drop = nn.Dropout(0.5)
        self.w = nn.Parameter(tg.randn(5, 5).data * 0.5)
        self.row = nn.Parameter(tg.randn(1, 5).data)
        self.mask = np.array([True, False, True, True, False])  # a constant condition
        self.per_item = nn.Linear(5, 4, bias=False)  # on a 3-D input: MatMul, not Gemm
        self.per_item_b = nn.Linear(4, 4)
        self.softmax, self.log_softmax = nn.Softmax(dim=1), nn.LogSoftmax(dim=-1)

    def forward(self, x: tg.Tensor) -> tg.Tensor:  # x: (B, 2, 3)
        h = self.drop(self.fc(self.flat(x)))  # Reshape, Linear
        h = h.tanh() + h.sigmoid() * h.relu() - (-h).abs() / 2  # Tanh Sigmoid ReLU Neg Abs Add Mul Sub Div
        h = h @ self.w  # MatMul
        positive = ((h * h + 1).sqrt().log() + 0.5) ** 1.5  # Sqrt Log Pow
        h = tg.where(self.mask, h, positive + h.exp().clip(0.1, 3.0))  # Where Exp Clip
        rows = ops.Expand.apply(self.row, shape=(3, 5))  # Expand
        h3 = self.per_item(h.unsqueeze(1) + rows)  # (B, 3, 4): Linear through MatMul
        h3 = self.per_item_b(h3.transpose(1, 2).permute(0, 2, 1))  # Permute, Linear with a bias
        h64 = ops.Cast.apply(h3, dtype=np.float64)  # Cast
        s = ops.Cast.apply(h64.sum(1) + h64.mean(axis=(1, 2)).unsqueeze(1), dtype=np.float32)
        m = h3.amax(1) - h3.amin(1)  # ReduceMax, ReduceMin
        both = tg.concatenate([s, m], axis=1)  # Concatenate
        both = both[:, [7, 0, 3, 3, 1, 2, 4, 5, 6]][..., ::-1]  # Index: a Gather, then a Slice
        return tg.concatenate([self.softmax(both), self.log_softmax(both)], axis=1)


# ---- agreement with ONNX Runtime -------------------------------------------------------------------
def mnist_cnn() -> nn.Module:
    """A small CNN for MNIST (conv, batch norm, both pools, dropout, linear), trained for a few
    steps on the subset so the weights and batch-norm statistics are not the initial ones."""
    tg.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(16 * 6 * 6, 10),
    )
    x, y = to_float(mnist().train_images[:320])[:, None], mnist().train_labels[:320]
    opt = tg.optim.SGD(model.parameters(), lr=0.05)
    for i in range(0, 320, 32):
        opt.zero_grad()
        tg.functional.cross_entropy(model(tg.Tensor(x[i : i + 32])), y[i : i + 32]).backward()
        opt.step()
    return model


class ConvZoo(nn.Module):
    """The other convolution, padding and normalisation layers, on (N, 4, 8, 8) inputs."""

    def __init__(self) -> None:
        tg.manual_seed(5)
        self.pad = nn.ZeroPad2d((1, 0, 2, 1))
        self.up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.group_norm = nn.GroupNorm(3, 6)
        self.layer_norm = nn.LayerNorm(11)
        self.conv1d = nn.Conv1d(6, 5, 3, stride=2, dilation=2, bias=False)
        self.pool = nn.MaxPool1d(2, ceil_mode=True)
        self.squeeze = nn.AdaptiveAvgPool2d((2, 3))

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        # NOTE: the zero padding comes after the norm: normalising the padding's rows, where the
        # transposed convolution leaves only its bias, would divide float32 rounding noise by sqrt(eps)
        h = self.pad(self.group_norm(self.up(x)))  # (N, 6, 19, 17)
        h = tg.functional.pad(h, (1, -2, 0, 0), mode="reflect")[:, :, :11, :11]  # a Gather, a crop
        h = self.conv1d(self.layer_norm(h).mean(axis=2))  # (N, 5, 3)
        return tg.concatenate([self.pool(h).flatten(1), self.squeeze(x).flatten(1)], axis=1)


class Activations(nn.Module):
    """Every activation module, each applied to 3x (inputs around [-6, 6], where each one bends)."""

    def __init__(self) -> None:
        self.layers = nn.Sequential(
            nn.LeakyReLU(0.2), nn.ELU(0.5), nn.SELU(), nn.CELU(2.0), nn.GELU(), nn.GELU("tanh"), nn.SiLU(),
            nn.Softplus(2.0, threshold=1.0), nn.Mish(), nn.Softsign(), nn.Hardtanh(-0.5, 0.7), nn.ReLU6(),
            nn.Hardsigmoid(), nn.Hardswish(),
        )  # fmt: skip

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return tg.concatenate([layer(x * 3) for layer in self.layers], axis=1)


class TensorMath(nn.Module):
    """The tensor API's other elementwise, rounding, scan and shape ops, on (N, 3, 5) inputs."""

    def __init__(self) -> None:
        tg.manual_seed(6)
        self.w = nn.Parameter(tg.randn(5).data)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x, pos = x * 2, x.abs() + 0.5
        parts = [
            x.sin(), x.cos(), (x * 0.3).tan(), pos.log2(), pos.log10(), pos.log1p(), x.exp2(), x.expm1(),
            pos.rsqrt(), x.floor(), x.ceil(), x.trunc(), x.round(), x.round(1), x.sign(), x.maximum(self.w),
            x.minimum(self.w), x.flip(1), x.cumsum(2), x[:, :1].expand(-1, 2, -1), x.repeat(1, 2, 1),
            x.norm(dim=1), x.norm(p=1, dim=2), x.norm(p=3, dim=(1, 2), keepdim=True),
        ]  # fmt: skip
        return tg.cat([p.flatten(1) for p in parts], 1)


class Tokens(nn.Module):
    """Vectors looked up by the input's integers (a Gather of the input), averaged, then a Linear."""

    def __init__(self) -> None:
        tg.manual_seed(3)
        self.embedding = nn.Embedding(20, 6)
        self.fc = nn.Linear(6, 3)

    def forward(self, tokens: tg.Tensor) -> tg.Tensor:
        return self.fc(self.embedding(tokens).mean(axis=1))


MODELS = {  # name: (make the model, draw n inputs from a seed)
    "mnist_mlp": (mnist_mlp, mnist_images),
    "mnist_cnn": (mnist_cnn, lambda n, seed: mnist_images(n, seed).reshape(n, 1, 28, 28)),
    "every_op": (EveryOp, lambda n, seed: batches((n, 2, 3), seed=seed)[0]),
    "conv_zoo": (ConvZoo, lambda n, seed: batches((n, 4, 8, 8), seed=seed)[0]),
    "activations": (Activations, lambda n, seed: batches((n, 7), seed=seed)[0]),
    "tensor_math": (TensorMath, lambda n, seed: batches((n, 3, 5), seed=seed)[0]),
    "tokens": (Tokens, lambda n, seed: np.random.default_rng(seed).integers(0, 20, (n, 5))),
}


def test_the_models_use_every_translated_op():
    used = set()
    for make, sample in MODELS.values():
        x = sample(2, 0)
        used |= graph_ops(make().eval()(tg.Tensor(x, requires_grad=x.dtype.kind == "f")))
    assert used == set(CONVERTERS)


@pytest.mark.parametrize("name", MODELS)
def test_onnx_runtime_agrees_with_the_model_for_two_batch_sizes(tmp_path, name):
    make, sample = MODELS[name]
    model = make()
    path = tmp_path / "model.onnx"
    proto = export(model, sample(4, 0), path)
    onnx.checker.check_model(os.fspath(path), full_check=True)
    assert onnx.load(os.fspath(path)) == proto
    assert model.training  # export ran the model in eval mode, and undid it
    model.eval()
    for n in (1, 33):
        assert agreement(model, path, sample(n, n)) <= RTOL


def test_float64_models_and_integer_inputs_export_in_their_dtypes(tmp_path):
    tg.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.Tanh())
    x = np.random.default_rng(0).standard_normal((5, 3))
    export(model, x, tmp_path / "f64.onnx")
    assert agreement(model, tmp_path / "f64.onnx", x[:2]) <= 1e-12
    w = nn.Parameter(np.array([0.5, -2.0, 3.0], dtype=np.float32))

    def scale(counts):  # an int64 input times a float32 weight: a Cast in the file
        return counts * w

    counts = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    export(scale, counts, tmp_path / "int.onnx")
    (theirs,) = run(tmp_path / "int.onnx", counts[:1])
    np.testing.assert_array_equal(theirs, [[0.5, -4.0, 9.0]])


def test_several_inputs_and_outputs_with_names(tmp_path):
    def two(a, b):
        return a * b + 1, a  # the second output is an input as it was: an Identity in the file

    a, b = batches((3, 4), (3, 4))
    proto = export(two, (a, b), tmp_path / "two.onnx", input_names=["a", "b"], output_names=["y", "same_a"])
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["y", "same_a"]
    y, same_a = run(tmp_path / "two.onnx", a[:2], b[:2])
    np.testing.assert_allclose(y, a[:2] * b[:2] + 1, rtol=1e-6)
    np.testing.assert_array_equal(same_a, a[:2])


def test_parameters_and_buffers_keep_their_state_dict_names(tmp_path):
    class Shifted(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
            self.register_buffer("shift", np.full(3, 0.5, dtype=np.float32))

        def forward(self, x):
            return self.body(x) + self.shift

    model = Shifted()
    proto = export(model, batches((2, 3))[0], tmp_path / "s.onnx")
    stored = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    assert set(stored) == set(model.state_dict())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(stored[name], value)
    assert [n.name for n in proto.graph.node] == ["body.0/Gemm_0", "body.1/Tanh_1", "Add_2"]


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_batch_axis_is_symbolic_only_with_dynamic_batch(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
    x = batches((4, 2, 3))[0]
    proto = export(model, x, tmp_path / "dynamic.onnx")
    assert _dims(proto.graph.input[0]) == ["batch", 2, 3] and _dims(proto.graph.output[0]) == ["batch", 2]
    proto = export(model, x, tmp_path / "static.onnx", dynamic_batch=False)
    assert _dims(proto.graph.input[0]) == [4, 2, 3] and _dims(proto.graph.output[0]) == [4, 2]


# ---- errors ----------------------------------------------------------------------------------------------
class Cube(tg.Function):
    """An op of the user's own: it has no ONNX translation."""

    @staticmethod
    def forward(ctx, x):
        return x**3

    @staticmethod
    def backward(ctx, g):
        """d x³/dx = 3x²"""
        return g * 3 * ctx.inputs[0] ** 2


class Head(nn.Module):
    def forward(self, x):
        return Cube.apply(x)


class Net(nn.Module):
    def __init__(self):
        self.blocks = nn.Sequential(nn.Linear(4, 4), Head())

    def forward(self, x):
        return self.blocks(x).exp()


def test_an_op_without_translation_is_named_with_its_module(tmp_path):
    target = tmp_path / "net.onnx"
    target.write_bytes(b"an older file")
    model = Net()
    with pytest.raises(ExportError, match=r"op Cube from module 'blocks\.1' \(Head\) has no ONNX transl"):
        export(model, batches((2, 4))[0], target)
    assert target.read_bytes() == b"an older file" and os.listdir(tmp_path) == ["net.onnx"]
    assert model.training  # restored after the failure too
    with pytest.raises(ExportError, match=r"op CrossEntropy from cross_entropy_of_3 has no ONNX translation"):

        def cross_entropy_of_3(x):
            return tg.functional.cross_entropy(x, np.full(len(x), 3))

        export(cross_entropy_of_3, batches((2, 4))[0], target)
    with pytest.raises(ExportError, match=r"op Index from Top\.forward: indexing with boolean masks"):

        class Top(nn.Module):
            def forward(self, x):
                return x[:, np.array([True, False, True, False])]

        export(Top(), batches((2, 4))[0], target)


class LeakyReLU(nn.Module):
    def forward(self, x):
        return tg.where(x > 0, x, x * 0.1)  # the comparison is not recorded: its result is frozen


@pytest.mark.parametrize("dynamic_batch", [True, False])
def test_a_value_frozen_from_the_example_is_refused(tmp_path, dynamic_batch):
    model = nn.Sequential(nn.Linear(3, 3), LeakyReLU())
    with pytest.raises(ExportError, match=r"op Where from module '1' \(LeakyReLU\) uses a value that chan"):
        export(model, batches((4, 3))[0], tmp_path / "m.onnx", dynamic_batch=dynamic_batch)


def test_an_output_padding_beyond_the_stride_is_refused(tmp_path):
    up = nn.ConvTranspose2d(2, 2, 3, stride=1, output_padding=1, dilation=2)  # PyTorch allows it
    with pytest.raises(ExportError, match=r"op ConvTranspose2d from ConvTranspose2d.forward: ONNX Runtime "):
        export(up, batches((1, 2, 4, 4))[0], tmp_path / "up.onnx")


def test_control_flow_on_values_is_refused(tmp_path):
    def branchy(x):
        return x.exp() if x.data[0, 0] > 0 else -x.tanh()

    x = np.array([[1.0, 2.0], [3.0, -4.0]], dtype=np.float32)  # reversed, the first value is negative
    with pytest.raises(ExportError, match=r"the graph changes with the input's values, at op \w+ from br"):
        export(branchy, x, tmp_path / "m.onnx", dynamic_batch=False)


def test_a_mean_over_the_batch_needs_a_static_batch(tmp_path):
    def centered(x):
        return x - x.mean(axis=0)

    x = batches((5, 3))[0]
    with pytest.raises(ExportError, match=r"op Mul from centered .* needs dynamic_batch=False"):
        export(centered, x, tmp_path / "c.onnx")
    export(centered, x, tmp_path / "c.onnx", dynamic_batch=False)
    assert agreement(centered, tmp_path / "c.onnx", x) <= RTOL


def test_unwritable_targets_name_the_file_and_leave_nothing(tmp_path):
    model, x = nn.Linear(2, 2), batches((3, 2))[0]
    missing = tmp_path / "no_such_folder" / "m.onnx"
    with pytest.raises(FileNotFoundError, match=f"cannot write {missing}"):
        export(model, x, missing)
    folder = tmp_path / "a_folder.onnx"
    folder.mkdir()
    with pytest.raises(OSError, match=f"cannot write {folder}"):
        export(model, x, folder)
    assert os.listdir(tmp_path) == ["a_folder.onnx"] and not os.listdir(folder)


def test_bad_arguments_are_clear_errors(tmp_path):
    model, x, path = nn.Linear(2, 2), batches((3, 2))[0], tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"1 outputs, so 1 non-empty output_names, got \['a', 'b'\]"):
        export(model, x, path, output_names=["a", "b"])
    with pytest.raises(ValueError, match=r"names must differ .*\['weight'\] taken"):
        export(model, x, path, input_names=["weight"])
    with pytest.raises(ValueError, match=r"opset must be an int in \[18, "):
        export(model, x, path, opset=13)
    with pytest.raises(ValueError, match="dynamic_batch needs inputs with a batch axis"):
        export(lambda s: s * 2, np.float32(3), path)
    with pytest.raises(TypeError, match="the model's outputs must be Tensors, got dict"):
        export(lambda x: {"y": x}, x, path)
    assert not path.exists()


def test_the_library_imports_without_onnx_and_export_names_the_extra():
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # an installed package made unimportable
        "import tinygrad_edu as tg\n"
        "assert 'onnxruntime' not in sys.modules\n"
        "try:\n"
        "    tg.onnx.export(tg.nn.Linear(2, 2), tg.ones(1, 2), 'never.onnx')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert 'needs the onnx package: pip install "tinygrad_edu[onnx]"' in out.stdout


# ---- every translation against ONNX Runtime, on drawn shapes and values ---------------------------------
Shape = tuple[int, ...]


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    lo, hi = float(np.float32(lo)), float(np.float32(hi))  # bounds a float32 can hold
    return st.floats(lo, hi, width=32, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def arrays(shape: Shape, lo: float, hi: float) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float32, shape, elements=_floats(lo, hi))


def no_operands(shape: Shape) -> st.SearchStrategy[list[Shape]]:
    return st.just([])


def broadcast_to_features(shape: Shape) -> st.SearchStrategy[list[Shape]]:
    """One operand that broadcasts against the input's axes after the batch axis."""
    return hnp.broadcastable_shapes(shape[1:], min_dims=0, max_dims=len(shape) - 1).map(lambda s: [s])


def matrix_after(shape: Shape) -> st.SearchStrategy[list[Shape]]:
    return st.integers(1, 4).map(lambda m: [(shape[-1], m)])


def no_params(shape: Shape) -> st.SearchStrategy[dict]:
    return st.just({})


def feature_axes(shape: Shape) -> st.SearchStrategy[dict]:
    """Reduction axes among those after the batch axis (a mean over the batch is refused; see above)."""
    ax = st.lists(st.integers(1, len(shape) - 1), unique=True, min_size=1).map(tuple)
    return st.fixed_dictionaries({"axis": ax | st.integers(1, len(shape) - 1), "keepdims": st.booleans()})


def one_axis(shape: Shape) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"axis": st.integers(-len(shape), len(shape) - 1)})


def permutation(shape: Shape) -> st.SearchStrategy[dict]:
    return st.permutations(range(len(shape))).map(lambda p: {"axes": tuple(p)})


def clip_bounds(shape: Shape) -> st.SearchStrategy[dict]:
    bound = st.none() | _floats(-2, 2)
    return st.fixed_dictionaries({"min": bound, "max": bound})


def features_reshaped(shape: Shape) -> st.SearchStrategy[dict]:
    """A new shape for the axes after the batch axis: their size split in 1 or 2 axes."""
    size = math.prod(shape[1:])
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    return st.sampled_from(divisors).flatmap(
        lambda d: st.sampled_from([(size,), (d, size // d)]).map(lambda s: {"shape": s})
    )


def basic_index(shape: Shape) -> st.SearchStrategy[dict]:
    """Ints, slices (negative steps too), None and Ellipsis after ':' on the batch axis."""
    rest = hnp.basic_indices(shape[1:], min_dims=0, allow_newaxis=True, allow_ellipsis=True)
    return rest.map(lambda i: {"idx": (slice(None), *(i if isinstance(i, tuple) else (i,)))})


def index_array(shape: Shape) -> st.SearchStrategy[dict]:
    """An integer array (repeats and negative indices too) on one axis after the batch axis."""

    def on(axis: int) -> st.SearchStrategy[dict]:
        n = shape[axis]
        rows = hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2), elements=st.integers(-n, n - 1))
        return rows.map(lambda a: {"idx": (slice(None),) * axis + (a,)})

    return st.integers(1, len(shape) - 1).flatmap(on)


def images(dims: int) -> st.SearchStrategy[Shape]:
    """(N, C, L) or (N, C, H, W) input shapes."""
    return st.tuples(st.integers(1, 3), st.integers(1, 4), *[st.integers(1, 7)] * dims)


@st.composite
def window(draw: st.DrawFn, shape: Shape, max_pad: Callable[[int], int], dilate: bool = True) -> dict:
    """Kernel, stride, padding and dilation per spatial axis, the window fitting the padded input."""
    axes = [
        draw(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2 if dilate else 1)))
        for _ in shape[2:]
    ]
    pads = [draw(st.integers(0, max_pad(k))) for k, _, _ in axes]
    assume(all(d * (k - 1) + 1 <= n + 2 * p for (k, _, d), p, n in zip(axes, pads, shape[2:])))
    kernel, stride, dilation = (tuple(column) for column in zip(*axes))
    return {"kernel": kernel, "stride": stride, "padding": tuple(pads), "dilation": dilation}


@st.composite
def conv_params(draw: st.DrawFn, shape: Shape, transposed: bool = False) -> dict:
    c = shape[1]
    groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
    per_group = draw(st.integers(1, 2))
    win = draw(window(shape, lambda k: 2))
    stride, dilation = win["stride"], win["dilation"]
    kw = {"stride": stride, "padding": win["padding"], "dilation": dilation, "groups": groups}
    if transposed:
        weight_shape = (c, per_group, *win["kernel"])
        extra = tuple(draw(st.integers(0, s - 1)) for s in stride)  # ONNX Runtime's limit (see below)
        sizes = zip(shape[2:], stride, win["padding"], dilation, win["kernel"], extra)
        assume(all((n - 1) * s - 2 * p + d * (k - 1) + e >= 0 for n, s, p, d, k, e in sizes))
        kw["output_padding"] = extra
    else:
        weight_shape = (groups * per_group, c // groups, *win["kernel"])
        if draw(st.booleans()):
            kw["padding"], kw["stride"] = "same", 1
    kw["weight"] = tg.Tensor(draw(arrays(weight_shape, -1, 1)))
    kw["bias"] = draw(st.none() | arrays((groups * per_group,), -1, 1).map(tg.Tensor))
    return kw


@st.composite
def pool_params(draw: st.DrawFn, shape: Shape, average: bool) -> dict:
    win = draw(window(shape, lambda k: k // 2, dilate=not average))
    kw = {
        "kernel_size": win["kernel"],
        "stride": draw(st.none() | st.just(win["stride"])),
        "padding": win["padding"],
    }
    kw["ceil_mode"] = draw(st.booleans())
    if average:
        kw["count_include_pad"] = draw(st.booleans())
    else:
        kw["dilation"] = win["dilation"]
    return kw


@st.composite
def pad_params(draw: st.DrawFn, shape: Shape) -> dict:
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    amounts = []
    for n in reversed(shape[2:]):  # PyTorch's order: the last axis first
        lo, hi = {"constant": (-1, 2), "reflect": (0, n - 1), "replicate": (0, 2), "circular": (0, n)}[mode]
        amounts += [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]
    assume(all(n + b + e > 0 for n, b, e in zip(reversed(shape[2:]), amounts[::2], amounts[1::2])))
    value = draw(_floats(-2, 2)) if mode == "constant" else None
    return {"pad": tuple(amounts), "mode": mode, "value": value}


@st.composite
def standardized_axes(draw: st.DrawFn, shape: Shape) -> dict:
    axes = draw(st.lists(st.integers(1, len(shape) - 1), unique=True, min_size=1).map(sorted))
    return {"axes": tuple(axes), "eps": draw(st.sampled_from([1e-5, 0.1]))}


def convolve(x: tg.Tensor, **kw: Any) -> tg.Tensor:
    return (F.conv1d if x.ndim == 3 else F.conv2d)(x, **kw)


def max_pool(x: tg.Tensor, **kw: Any) -> tg.Tensor:
    return (F.max_pool1d if x.ndim == 3 else F.max_pool2d)(x, **kw)


def avg_pool(x: tg.Tensor, **kw: Any) -> tg.Tensor:
    return (F.avg_pool1d if x.ndim == 3 else F.avg_pool2d)(x, **kw)


@dataclass(frozen=True)
class Case:
    """`fn(x, *operands, **params)`: x (batch first) is the graph's input, the operands are constants."""

    fn: Callable[..., tg.Tensor]
    lo: float = -3.0  # the values of x and of the operands
    hi: float = 3.0
    operands: Callable[[Shape], st.SearchStrategy[list[Shape]]] = no_operands
    params: Callable[[Shape], st.SearchStrategy[dict]] = no_params
    min_dims: int = 1
    shapes: st.SearchStrategy[Shape] | None = None  # x's shapes; else 1 to 4 axes of 1 to 4


CASES = {
    "neg": Case(lambda x: -x),
    "exp": Case(tg.Tensor.exp),
    "log": Case(tg.Tensor.log, 0.1, 5.0),
    "sqrt": Case(tg.Tensor.sqrt, 0.0, 5.0),
    "tanh": Case(tg.Tensor.tanh),
    "sigmoid": Case(tg.Tensor.sigmoid, -20.0, 20.0),
    "relu": Case(tg.Tensor.relu),
    "abs": Case(abs),
    "clip": Case(tg.Tensor.clip, params=clip_bounds),
    "softmax": Case(tg.Tensor.softmax, -30.0, 30.0, params=one_axis),
    "log_softmax": Case(tg.Tensor.log_softmax, -30.0, 30.0, params=one_axis),
    "add": Case(lambda x, y: x + y, operands=broadcast_to_features),
    "sub": Case(lambda x, y: y - x, operands=broadcast_to_features),
    "mul": Case(lambda x, y: x * y, operands=broadcast_to_features),
    "div": Case(lambda x, y: x / y, 0.5, 3.0, operands=broadcast_to_features),
    "pow": Case(lambda x, y: x**y, 0.5, 2.0, operands=broadcast_to_features),
    "matmul": Case(lambda x, w: x @ w, operands=matrix_after, min_dims=2),
    "linear": Case(lambda x, w: tg.functional.linear(x, w.T, w[0]), operands=matrix_after, min_dims=2),
    "where": Case(lambda x, y: tg.where(y.numpy() > 0, x, y), operands=broadcast_to_features),
    "sum": Case(tg.Tensor.sum, params=feature_axes, min_dims=2),
    "mean": Case(tg.Tensor.mean, params=feature_axes, min_dims=2),
    "max": Case(tg.Tensor.amax, params=feature_axes, min_dims=2),
    "min": Case(tg.Tensor.amin, params=feature_axes, min_dims=2),
    "reshape": Case(lambda x, shape: x.reshape(len(x), *shape), params=features_reshaped, min_dims=2),
    "flatten": Case(lambda x: x.flatten(1), min_dims=2),
    "permute": Case(lambda x, axes: x.permute(axes), params=permutation),
    "unsqueeze_squeeze": Case(lambda x, axis: x.unsqueeze(axis).squeeze(axis), params=one_axis),
    "index": Case(lambda x, idx: x[idx], params=basic_index),
    "gather": Case(lambda x, idx: x[idx], params=index_array, min_dims=2),
    "leaky_relu": Case(
        F.leaky_relu, params=lambda s: st.fixed_dictionaries({"negative_slope": _floats(-1, 1)})
    ),
    "elu": Case(F.elu, params=lambda s: st.fixed_dictionaries({"alpha": _floats(0.1, 3)})),
    "selu": Case(F.selu),
    "celu": Case(F.celu, params=lambda s: st.fixed_dictionaries({"alpha": _floats(0.1, 3)})),
    "gelu": Case(
        F.gelu,
        -6.0,
        6.0,
        params=lambda s: st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])}),
    ),
    "softplus": Case(
        F.softplus,
        params=lambda s: st.fixed_dictionaries({"beta": _floats(0.5, 3), "threshold": _floats(0.5, 20)}),
    ),
    "hardtanh": Case(
        lambda x, lo, width: F.hardtanh(x, lo, lo + width),
        params=lambda s: st.fixed_dictionaries({"lo": _floats(-2, 1), "width": _floats(0, 2)}),
    ),
    "hardswish": Case(F.hardswish, -5.0, 5.0),
    "sin": Case(tg.Tensor.sin),
    "cos": Case(tg.Tensor.cos),
    "tan": Case(tg.Tensor.tan, -1.4, 1.4),
    "log2": Case(tg.Tensor.log2, 0.1, 5.0),
    "log10": Case(tg.Tensor.log10, 0.1, 5.0),
    "log1p": Case(tg.Tensor.log1p, -0.5, 5.0),
    "exp2": Case(tg.Tensor.exp2),
    "expm1": Case(tg.Tensor.expm1),
    "rsqrt": Case(tg.Tensor.rsqrt, 0.1, 5.0),
    "staircase": Case(
        lambda x, fn: getattr(x, fn)(),
        params=lambda s: st.fixed_dictionaries(
            {"fn": st.sampled_from(["floor", "ceil", "trunc", "round", "sign"])}
        ),
    ),
    "round_decimals": Case(
        tg.Tensor.round, params=lambda s: st.fixed_dictionaries({"decimals": st.integers(-1, 2)})
    ),
    "maximum": Case(tg.Tensor.maximum, operands=broadcast_to_features),
    "minimum": Case(tg.Tensor.minimum, operands=broadcast_to_features),
    "flip": Case(
        lambda x, axes: x.flip(axes),
        params=lambda s: st.lists(st.integers(0, len(s) - 1), unique=True).map(lambda a: {"axes": tuple(a)}),
    ),
    "norm": Case(
        lambda x, p, axis, keepdims: x.norm(p, axis, keepdims),
        params=lambda s: st.tuples(st.sampled_from([0.5, 1.0, 2.0, 3.0]), feature_axes(s)).map(
            lambda a: {"p": a[0], **a[1]}
        ),
        min_dims=2,
    ),
    "cumsum": Case(lambda x, axis: x.cumsum(axis), params=one_axis),
    "repeat": Case(
        lambda x, reps: x.repeat(1, *reps),
        params=lambda s: st.lists(st.integers(1, 3), min_size=len(s) - 1, max_size=len(s)).map(
            lambda r: {"reps": r}
        ),
    ),
    "conv1d": Case(convolve, params=conv_params, shapes=images(1)),
    "conv2d": Case(convolve, params=conv_params, shapes=images(2)),
    "conv_transpose2d": Case(
        F.conv_transpose2d, params=functools.partial(conv_params, transposed=True), shapes=images(2)
    ),
    "max_pool": Case(
        max_pool, params=functools.partial(pool_params, average=False), shapes=images(1) | images(2)
    ),
    "avg_pool": Case(
        avg_pool, params=functools.partial(pool_params, average=True), shapes=images(1) | images(2)
    ),
    "pad": Case(F.pad, params=pad_params, shapes=images(1) | images(2)),
    "standardize": Case(
        lambda x, **kw: normalization.normalize(x, **kw)[0], params=standardized_axes, min_dims=2
    ),
    "concatenate": Case(lambda x, axis: tg.concatenate([x, x.exp()], axis), params=one_axis),
}


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=10)
@given(data=st.data())
def test_each_translation_agrees_with_onnx_runtime(name, data):
    case = CASES[name]
    shapes = (
        hnp.array_shapes(min_dims=case.min_dims, max_dims=4, max_side=4)
        if case.shapes is None
        else case.shapes
    )
    shape = data.draw(shapes, label="shape")
    operands = [data.draw(arrays(s, case.lo, case.hi)) for s in data.draw(case.operands(shape))]
    params = data.draw(case.params(shape), label="params")

    def model(x):
        return case.fn(x, *[tg.Tensor(a) for a in operands], **params)

    x = data.draw(arrays(shape, case.lo, case.hi), label="x")
    other = data.draw(arrays((data.draw(st.integers(1, 5)), *shape[1:]), case.lo, case.hi), label="other")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.onnx")
        export(model, x, path)
        for batch in (x, other):
            (theirs,) = run(path, batch)
            ours = model(tg.Tensor(batch)).data
            assert theirs.shape == ours.shape and theirs.dtype == ours.dtype
            # NOTE: the floor: ONNX Runtime's CPU Sigmoid is accurate to 1.5e-7 absolute only (5x the
            # value at x = -17.75, where the value is 2e-8); tinygrad_edu's is within 3e-7 relative.
            assert np.abs(theirs - ours).max(initial=0) <= max(RTOL * np.abs(ours).max(initial=0), 1e-6)
