"""Export a model to ONNX, the exchange format of ONNX Runtime, model viewers (Netron) and most
frameworks: `tg.onnx.export(model, example_input, "model.onnx")`. Needs the `onnx` extra.

How: the model runs on the example input with recording on, and the graph the library builds
for backward (each node an op instance holding its inputs and saved attributes) is translated
node by node (`CONVERTERS`: op class -> ONNX nodes). Parameters and buffers become initializers
named by their state_dict keys; each ONNX node is named after the module that made it ("fc1/Gemm_3").
No Python source is read: loops and branches export as they ran for the example.

NOTE: a trace sees one run. A value that depends on the input but is not a recorded op (a
comparison feeding `where`, `x.numpy()`, a mask made with numpy) would be baked into the file
as a constant of the example. So the model runs twice, on the example and on a second input
made of its values reversed (one row longer with `dynamic_batch`), and the two graphs must be
identical except where the batch size goes; anything else that differs raises `ExportError`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.fileio import atomic_write
from tinygrad_edu.grad_mode import enable_grad
from tinygrad_edu.nn import normalization
from tinygrad_edu.nn.module import Module

if TYPE_CHECKING:
    import onnx as onnx_pkg

DEFAULT_OPSET = 18  # every reduction takes its axes as an input from 18 on
MIN_OPSET = 18
INSTALL_HINT = 'pip install "tinygrad_edu[onnx]" (or pip install -e ".[onnx]" in the clone)'


class ExportError(RuntimeError):
    """The model cannot be written as ONNX: an op without a translation, or a graph that changes
    with the input's values. The message names the op and the module it came from."""


def _require(package: str) -> Any:
    try:
        return __import__(package)
    except ImportError:
        raise ImportError(f"tinygrad_edu.onnx needs the {package} package: {INSTALL_HINT}") from None


# ---- tracing ----------------------------------------------------------------------------------------
@dataclass
class _Trace:
    """One recorded run: inputs, outputs, the op nodes' outputs in topological order, and the
    module path that made each node (keyed by id of the node)."""

    inputs: list[Tensor]
    outputs: list[Tensor]
    order: list[Tensor] = field(default_factory=list)
    module_of: dict[int, str] = field(default_factory=dict)


def _tensors(value: Any, what: str) -> list[Tensor]:
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(f"onnx.export: the model's {what} must be Tensors, got {type(item).__name__}")
    return items


def _label(module_of: dict[int, str], name: str, args: tuple, output: Any) -> None:
    """Attribute to module `name` the nodes between its arguments and its output not yet claimed by
    one of its sub-modules (they return first, so they label their own nodes first)."""
    stop = {id(a) for a in args if isinstance(a, Tensor)}
    stack = [t for t in (output if isinstance(output, (tuple, list)) else [output]) if isinstance(t, Tensor)]
    while stack:
        t = stack.pop()
        node = t.grad_fn
        if node is None or id(t) in stop or id(node) in module_of:
            continue
        module_of[id(node)] = name
        stack.extend(node.inputs)


def _topological(outputs: list[Tensor]) -> list[Tensor]:
    """The outputs of every op node the outputs depend on, each after its inputs' (iterative DFS)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        t, inputs_done = stack.pop()
        if t.grad_fn is None:
            continue
        if inputs_done:
            order.append(t)
        elif id(t.grad_fn) not in seen:
            seen.add(id(t.grad_fn))
            stack.append((t, True))
            stack.extend((x, False) for x in reversed(t.grad_fn.inputs))
    return order


def _trace(model: Callable, arrays: list[np.ndarray]) -> _Trace:
    """Run `model` once in eval mode, recording every op, with each node's module noted."""
    # NOTE: ops record only when an input requires grad, so float inputs are made to; an op on
    # an integer input alone (Embedding's lookup) is recorded through its weight.
    inputs = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    modules = list(model.named_modules()) if isinstance(model, Module) else []
    module_of: dict[int, str] = {}
    handles = [
        m.register_forward_hook(lambda m, args, out, name=name: _label(module_of, name, args, out))
        for name, m in modules
    ]
    modes = [(m, m.training) for _, m in modules]
    try:
        for m, _ in modes:
            m.training = False  # Dropout is the identity, BatchNorm uses its running statistics
        with enable_grad():
            outputs = _tensors(model(*inputs), "outputs")
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes:
            m.training = mode
    return _Trace(inputs, outputs, _topological(outputs), module_of)


def second_input(a: np.ndarray, dynamic_batch: bool) -> np.ndarray:
    """The example's values reversed (one more row if the batch is dynamic): an input for the
    second run that differs from the example in every value a model could depend on."""
    if dynamic_batch and a.ndim == 0:
        raise ValueError(
            "onnx.export: dynamic_batch needs inputs with a batch axis (axis 0); got a 0-d input"
        )
    shape = (a.shape[0] + 1,) + a.shape[1:] if dynamic_batch else a.shape
    return np.resize(a.ravel()[::-1], shape)


# ---- building one ONNX graph from a trace ------------------------------------------------------------
class _Builder:
    """Turns a trace into ONNX nodes and initializers. `batch_fill[name] = v`: the initializer
    `name` is a shape whose batch-sized entries become v when the batch is dynamic."""

    def __init__(self, trace: _Trace, params: dict[int, str], modules: dict[str, str], onnx: Any) -> None:
        self.onnx, self.trace, self.params, self.modules = onnx, trace, params, modules
        self.names: dict[int, str] = {}  # id(tensor) -> ONNX value name
        self.nodes: list[Any] = []
        self.made_by: list[str] = []  # per ONNX node: "op Linear from module 'fc1' (Linear)"
        self.initializers: dict[str, np.ndarray] = {}
        self.batch_fill: dict[str, int] = {}
        self.scope, self.op = "", "the graph's outputs"  # where the node being converted came from
        self.constants = 0
        self.stored: dict[tuple[int, np.dtype], str] = {}  # (id(constant tensor), dtype) -> name

    def build(self, input_names: list[str], output_names: list[str]) -> None:
        for t, name in zip(self.trace.inputs, input_names):
            self.names[id(t)] = name
        for t, name in zip(self.trace.outputs, output_names):
            if t.grad_fn is not None and id(t) not in self.names:
                self.names[id(t)] = name  # the op that makes an output writes it under its name
        for t in self.trace.order:
            node = t.grad_fn
            self.scope = self.trace.module_of.get(id(node), "")
            self.op = f"op {type(node).__name__} from {self.modules[self.scope]}"
            convert = CONVERTERS.get(type(node))
            if convert is None:
                raise ExportError(
                    f"onnx.export: {self.op} has no ONNX translation; "
                    f"supported ops: {', '.join(sorted(c.__name__ for c in CONVERTERS))}"
                )
            convert(self, node, t)
        self.scope, self.op = "", "the graph's outputs"
        for t, name in zip(self.trace.outputs, output_names):
            if self.names.get(id(t)) != name:  # an input, a constant, or an output listed twice
                self.emit("Identity", [self.value(t)], out_name=name)

    # -- helpers for converters --
    def value(self, t: Tensor, dtype: np.dtype | None = None) -> str:
        """The ONNX name of `t` (as `dtype`, cast if needed); constants become initializers."""
        dtype = np.dtype(dtype or t.dtype)
        if id(t) not in self.names:
            if id(t) in self.params:
                self.names[id(t)] = self.params[id(t)]
                self.initializers[self.params[id(t)]] = t.data
            else:  # a constant: stored once per dtype it is used in
                key = (id(t), dtype)
                if key not in self.stored:
                    self.stored[key] = self.constant(t.data.astype(dtype, copy=False))
                return self.stored[key]
        name = self.names[id(t)]
        if t.dtype == dtype:
            return name
        return self.emit("Cast", [name], to=self.onnx.helper.np_dtype_to_tensor_dtype(dtype))

    def indices(self, array: np.ndarray) -> str:
        """An index array: the graph input it is (Embedding's lookup of its input), else a constant."""
        for t in self.trace.inputs:
            if t.data is array:
                return self.value(t, np.int64)
        return self.constant(array, np.int64)

    def constant(self, value: Any, dtype: Any = None, batch_fill: int | None = None) -> str:
        """A new initializer holding `value` (as `dtype`)."""
        name = f"const_{self.constants}"
        self.constants += 1
        self.initializers[name] = np.asarray(value, dtype=dtype)
        if batch_fill is not None:
            self.batch_fill[name] = batch_fill
        return name

    def emit(
        self, op_type: str, inputs: list[str], out: Tensor | None = None, out_name: str = "", **attrs: Any
    ) -> str:
        """Append an ONNX node; its output is `out`'s name (made if new), else `out_name` or fresh."""
        node_name = (
            f"{self.scope}/{op_type}_{len(self.nodes)}" if self.scope else f"{op_type}_{len(self.nodes)}"
        )
        if out is not None:
            out_name = self.names.setdefault(id(out), node_name)
        out_name = out_name or node_name
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out_name], name=node_name, **attrs))
        self.made_by.append(self.op)
        return out_name


# ---- the translations, one per op class -------------------------------------------------------------
Converter = Callable[[_Builder, Function, Tensor], None]


def _same(op_type: str) -> Converter:
    """An elementwise op with an ONNX twin of the same meaning; inputs are cast to the output's dtype."""

    def convert(b: _Builder, node: Function, out: Tensor) -> None:
        b.emit(op_type, [b.value(x, out.dtype) for x in node.inputs], out)

    return convert


def _reduce(op_type: str) -> Converter:
    def convert(b: _Builder, node: Function, out: Tensor) -> None:
        (x,) = node.inputs
        if not node.axis:  # a 0-d input: nothing to reduce
            b.emit("Identity", [b.value(x)], out)
            return
        axes = b.constant(node.axis, np.int64)
        b.emit(op_type, [b.value(x), axes], out, keepdims=int(node.keepdims))

    return convert


def _linear(b: _Builder, node: Function, out: Tensor) -> None:
    x, w, *bias = node.inputs
    if x.ndim == 2:
        b.emit("Gemm", [b.value(x), b.value(w)] + [b.value(t) for t in bias], out, transB=1)
        return
    xw = [b.value(x), b.emit("Transpose", [b.value(w)], perm=[1, 0])]
    if bias:
        b.emit("Add", [b.emit("MatMul", xw), b.value(bias[0])], out)
    else:
        b.emit("MatMul", xw, out)


def _reshape(b: _Builder, node: Function, out: Tensor) -> None:
    # NOTE: the recorded shape holds the example's batch size; export() compares it with the second
    # run's and writes -1 (inferred) where the two differ.
    shape = b.constant(out.shape, np.int64, batch_fill=-1)
    b.emit("Reshape", [b.value(node.inputs[0]), shape], out)


def _expand(b: _Builder, node: Function, out: Tensor) -> None:
    """Broadcast to out's shape. The target is 1 (keep: ONNX's Expand broadcasts both ways) where x
    already has the size, so a batch axis that is only carried along does not freeze its size."""
    x = node.inputs[0]
    lead = out.ndim - x.ndim
    shape = [1 if i >= lead and x.shape[i - lead] == n else n for i, n in enumerate(out.shape)]
    b.emit("Expand", [b.value(x), b.constant(shape, np.int64)], out)


def _permute(b: _Builder, node: Function, out: Tensor) -> None:
    b.emit("Transpose", [b.value(node.inputs[0])], out, perm=list(node.axes))


def _where(b: _Builder, node: Function, out: Tensor) -> None:
    x, y = node.inputs
    b.emit("Where", [b.constant(node.cond), b.value(x, out.dtype), b.value(y, out.dtype)], out)


def _clip(b: _Builder, node: Function, out: Tensor) -> None:
    bounds = ["" if v is None else b.constant(v, out.dtype) for v in (node.lo, node.hi)]
    b.emit("Clip", [b.value(node.inputs[0])] + bounds, out)


def _cast(b: _Builder, node: Function, out: Tensor) -> None:
    b.emit("Cast", [b.value(node.inputs[0])], out, to=b.onnx.helper.np_dtype_to_tensor_dtype(out.dtype))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # "from the end" and "to the end" for ONNX's Slice


def _index(b: _Builder, node: Function, out: Tensor) -> None:
    """`x[idx]`: one integer array on one axis (':' on the others) is a Gather; ints, slices and
    None are a Slice, then a Squeeze of the ints' axes and an Unsqueeze at the Nones."""
    (x,) = node.inputs
    items = list(node.idx) if isinstance(node.idx, tuple) else [node.idx]
    for at, item in enumerate(items):
        if item is Ellipsis:  # the axes no other item names
            used = sum(i is not None for i in items) - 1
            items[at : at + 1] = [slice(None)] * (x.ndim - used)
            break
    arrays = [i for i, item in enumerate(items) if isinstance(item, np.ndarray)]
    full = slice(None)
    if len(arrays) == 1 and items[arrays[0]].dtype.kind in "iu":
        if any(item != full for item in items if not isinstance(item, np.ndarray)):
            raise ExportError(f"onnx.export: {b.op}: an index array goes with ':' on every other axis here")
        b.emit("Gather", [b.value(x), b.indices(items[arrays[0]])], out, axis=arrays[0])
        return
    if arrays:
        raise ExportError(
            f"onnx.export: {b.op}: indexing with boolean masks or several index arrays has no translation"
        )
    name, axis, cut, squeezed, inserted = b.value(x), 0, [], [], []
    for item in items:
        if item is None:
            inserted.append(axis - len(squeezed) + len(inserted))
            continue
        if isinstance(item, slice) and item != full:
            step = 1 if item.step is None else item.step
            start = item.start if item.start is not None else 0 if step > 0 else INT64_MAX
            stop = item.stop if item.stop is not None else INT64_MAX if step > 0 else INT64_MIN
            cut.append((start, stop, axis, step))
        elif not isinstance(item, slice):  # an int: a slice of one, squeezed away
            cut.append((item, item + 1 if item != -1 else INT64_MAX, axis, 1))
            squeezed.append(axis)
        axis += 1
    if cut:
        starts_ends_axes_steps = [b.constant(column, np.int64) for column in zip(*cut)]
        name = b.emit("Slice", [name, *starts_ends_axes_steps])
    if squeezed:
        name = b.emit("Squeeze", [name, b.constant(squeezed, np.int64)])
    if inserted:
        name = b.emit("Unsqueeze", [name, b.constant(inserted, np.int64)])
    b.emit("Identity", [name], out)


def _window(b: _Builder, win: ops.conv.Window, size: tuple[int, ...], dilations: bool = True) -> dict:
    """The attributes of an ONNX Conv or pool for `win` over an input of spatial `size`.

    NOTE: a pool's window may crop the last rows no window reaches (a negative padding after); ONNX
    pads are never negative, so they are padded by 0 instead, which leaves the same windows.
    """
    pads = [p for side in zip(*win.padding) for p in side]  # ONNX: the befores, then the afters
    ends = [max(p, 0) for p in pads[2:]]
    onnx_out = tuple(
        (n + p + e - s) // t + 1 for n, p, e, s, t in zip(size, pads, ends, win.span, win.stride)
    )
    if min(pads[:2]) < 0 or onnx_out != win.out_size(size):
        raise ExportError(f"onnx.export: {b.op}: a window padded by {win.padding} has no ONNX equivalent")
    attrs = {"kernel_shape": list(win.kernel), "strides": list(win.stride), "pads": pads[:2] + ends}
    if dilations:
        attrs["dilations"] = list(win.dilation)
    elif win.dilation != (1, 1):
        raise ExportError(f"onnx.export: {b.op}: a dilated window has no ONNX equivalent")
    return attrs


def _conv(b: _Builder, node: Function, out: Tensor) -> None:
    x = node.inputs[0]
    attrs = _window(b, node.win, x.shape[2:])
    b.emit("Conv", [b.value(t) for t in node.inputs], out, group=node.groups, **attrs)


def _conv_transpose(b: _Builder, node: Function, out: Tensor) -> None:
    """ONNX's output size is s (n - 1) + span - pads + output_padding: the last makes it `out`'s."""
    x, win = node.inputs[0], node.win
    pads = [p for side in zip(*win.padding) for p in side]
    sizes = [
        s * (n - 1) + e - p - q for n, s, e, p, q in zip(x.shape[2:], win.stride, win.span, pads, pads[2:])
    ]
    extra = [want - size for want, size in zip(out.shape[2:], sizes)]
    # NOTE: PyTorch allows an output_padding up to the dilation; ONNX Runtime only below the stride.
    if min(pads) < 0 or any(not 0 <= e < s for e, s in zip(extra, win.stride)):
        raise ExportError(
            f"onnx.export: {b.op}: ONNX Runtime needs output_padding below the stride {win.stride}"
        )
    attrs = {"kernel_shape": list(win.kernel), "strides": list(win.stride), "dilations": list(win.dilation)}
    inputs = [b.value(t) for t in node.inputs]
    b.emit("ConvTranspose", inputs, out, group=node.groups, pads=pads, output_padding=extra, **attrs)


def _padded(
    b: _Builder, name: str, widths: Sequence[tuple[int, int]], value: float, dtype: np.dtype, out: Any = None
) -> str:
    """An ONNX Pad of the last len(widths) axes by (before, after) each; negative widths crop."""
    pads = b.constant([p for side in zip(*widths) for p in side], np.int64)
    axes = b.constant(range(-len(widths), 0), np.int64)
    return b.emit("Pad", [name, pads, b.constant(value, dtype), axes], out, mode="constant")


def _pool(b: _Builder, node: Function, op_type: str, fill: float, out: Any = None, **attrs: Any) -> str:
    """An ONNX pool over the node's window.

    NOTE: ONNX Runtime wants every pad smaller than the kernel, which ceil_mode's last window can
    exceed: the input is then padded by a Pad node first, with the pool's own padding value.
    """
    (x,) = node.inputs
    window = _window(b, node.win, x.shape[2:], dilations=op_type == "MaxPool")
    name, pads = b.value(x), window["pads"]
    if any(p >= k for p, k in zip(pads, window["kernel_shape"] * 2)):
        name = _padded(b, name, list(zip(pads[:2], pads[2:])), fill, x.dtype)
        window["pads"] = [0] * len(pads)
    return b.emit(op_type, [name], out, **window, **attrs)


def _max_pool(b: _Builder, node: Function, out: Tensor) -> None:
    _pool(b, node, "MaxPool", -np.inf, out)


def _window_sum(b: _Builder, node: Function, out: Tensor) -> None:
    """Each window's sum: an average pool (the padding counted, so every window's count is the
    kernel's size) times that size."""
    mean = _pool(b, node, "AveragePool", 0.0, count_include_pad=1)
    b.emit("Mul", [mean, b.constant(math.prod(node.win.kernel), out.dtype)], out)


def _pad(b: _Builder, node: Function, out: Tensor) -> None:
    """Constant padding of the last axes (ONNX's Pad crops where a width is negative, as Pad does)."""
    _padded(b, b.value(node.inputs[0]), node.widths, node.value, out.dtype, out)


def _standardize(b: _Builder, node: Function, out: Tensor) -> None:
    """(x - mean) / sqrt(var + eps) over the axes, written out (ONNX Runtime fuses it back into its
    LayerNormalization kernel where the axes are the trailing ones)."""
    (x,) = node.inputs
    axes = b.constant(node.axes, np.int64)
    centered = b.emit("Sub", [name := b.value(x), b.emit("ReduceMean", [name, axes], keepdims=1)])
    var = b.emit("ReduceMean", [b.emit("Mul", [centered, centered]), axes], keepdims=1)
    eps = b.constant(node.eps, out.dtype)
    b.emit("Div", [centered, b.emit("Sqrt", [b.emit("Add", [var, eps])])], out)


def _leaky_relu(b: _Builder, node: Function, out: Tensor) -> None:
    b.emit("LeakyRelu", [b.value(node.inputs[0])], out, alpha=float(node.slope))


def _elu(b: _Builder, node: Function, out: Tensor) -> None:
    """ELU's family: Elu (scale 1), Selu (any scale), Celu (input scaled by 1/alpha)."""
    x, alpha, scale, input_scale = b.value(node.inputs[0]), float(node.alpha), node.scale, node.input_scale
    if input_scale == 1 and scale == 1:
        b.emit("Elu", [x], out, alpha=alpha)
    elif input_scale == 1:
        b.emit("Selu", [x], out, alpha=alpha, gamma=float(scale))
    elif scale == 1 and input_scale == 1 / alpha:
        b.emit("Celu", [x], out, alpha=alpha)
    else:
        raise ExportError(f"onnx.export: {b.op}: scale {scale} with input_scale {input_scale} has no ONNX op")


def _softplus(b: _Builder, node: Function, out: Tensor) -> None:
    """softplus(beta x) / beta, and x itself where beta x > threshold (ONNX's Softplus has neither)."""
    x = b.value(node.inputs[0])
    beta = b.constant(node.beta, out.dtype)
    z = b.emit("Mul", [x, beta])
    soft = b.emit("Div", [b.emit("Softplus", [z]), beta])
    linear = b.emit("Greater", [z, b.constant(node.threshold, out.dtype)])
    b.emit("Where", [linear, x, soft], out)


def _normal_cdf(b: _Builder, node: Function, out: Tensor) -> None:
    """Φ(x) = (1 + erf(x / √2)) / 2 (ONNX's Gelu comes only with opset 20)."""
    erf = b.emit("Erf", [b.emit("Mul", [b.value(node.inputs[0]), b.constant(1 / math.sqrt(2), out.dtype)])])
    b.emit("Mul", [b.emit("Add", [erf, b.constant(1.0, out.dtype)]), b.constant(0.5, out.dtype)], out)


def _unary(*steps: tuple[str, float | None]) -> Converter:
    """An elementwise op written as ONNX ops applied in turn: (op, None) on the value alone, (op, c)
    with the constant c as second operand (e.g. log1p = [("Add", 1), ("Log", None)])."""

    def convert(b: _Builder, node: Function, out: Tensor) -> None:
        name = b.value(node.inputs[0], out.dtype)
        for i, (op_type, c) in enumerate(steps):
            inputs = [name] if c is None else [name, b.constant(c, out.dtype)]
            name = b.emit(op_type, inputs, out if i == len(steps) - 1 else None)

    return convert


# NOTE: ONNX has no log1p or expm1: written as log(1 + x) and exp(x) - 1, they lose the digits of a
# tiny x (absolute errors stay at float32's rounding, relative ones do not).
_LOG1P = _unary(("Add", 1.0), ("Log", None))
_EXPM1 = _unary(("Exp", None), ("Sub", 1.0))


def _log_base(b: _Builder, node: Function, out: Tensor) -> None:
    _unary(("Log", None), ("Mul", 1 / math.log(node.base)))(b, node, out)


def _exp2(b: _Builder, node: Function, out: Tensor) -> None:
    b.emit("Pow", [b.constant(2.0, out.dtype), b.value(node.inputs[0], out.dtype)], out)


_STAIRS = {np.floor: "Floor", np.ceil: "Ceil", np.round: "Round", np.sign: "Sign"}  # Round: halves to even


def _staircase(b: _Builder, node: Function, out: Tensor) -> None:
    """floor, ceil, round (to `decimals` places: by scaling, as numpy), sign, trunc = sign · floor(|x|)."""
    fn, decimals = node.fn, 0
    if isinstance(fn, functools.partial):
        fn, decimals = fn.func, fn.keywords.get("decimals", 0)
    (x,) = node.inputs
    if x.dtype.kind != "f" and not (fn is np.sign and x.dtype.kind != "b"):
        b.emit("Identity", [b.value(x)], out)  # integers are whole already
    elif fn is np.trunc:
        name = b.value(x)
        b.emit("Mul", [b.emit("Sign", [name]), b.emit("Floor", [b.emit("Abs", [name])])], out)
    elif decimals:
        _unary(("Mul", 10.0**decimals), ("Round", None), ("Div", 10.0**decimals))(b, node, out)
    else:
        b.emit(_STAIRS[fn], [b.value(x)], out)


def _flip(b: _Builder, node: Function, out: Tensor) -> None:
    axes = list(node.axes)
    steps = [b.constant([v] * len(axes), np.int64) for v in (-1, INT64_MIN)]
    b.emit("Slice", [b.value(node.inputs[0]), *steps, b.constant(axes, np.int64), steps[0]], out)


def _norm(b: _Builder, node: Function, out: Tensor) -> None:
    """‖x‖_p over the axes: ReduceL2, ReduceL1, else (Σ |x|^p)^(1/p)."""
    x, axes, keep = b.value(node.inputs[0]), b.constant(node.axis, np.int64), int(node.keepdims)
    if node.p in (1, 2):
        b.emit(f"ReduceL{int(node.p)}", [x, axes], out, keepdims=keep)
        return
    powered = b.emit("Pow", [b.emit("Abs", [x]), b.constant(node.p, out.dtype)])
    total = b.emit("ReduceSum", [powered, axes], keepdims=keep)
    b.emit("Pow", [total, b.constant(1 / node.p, out.dtype)], out)


def _cumsum(b: _Builder, node: Function, out: Tensor) -> None:
    b.emit("CumSum", [b.value(node.inputs[0], out.dtype), b.constant(node.axis, np.int64)], out)


def _along_axis(op_type: str) -> Converter:
    def convert(b: _Builder, node: Function, out: Tensor) -> None:
        b.emit(op_type, [b.value(x, out.dtype) for x in node.inputs], out, axis=int(node.axis))

    return convert


CONVERTERS: dict[type[Function], Converter] = {
    ops.Add: _same("Add"),
    ops.Sub: _same("Sub"),
    ops.Mul: _same("Mul"),
    ops.Div: _same("Div"),
    ops.Pow: _same("Pow"),
    ops.Neg: _same("Neg"),
    ops.Exp: _same("Exp"),
    ops.Log: _same("Log"),
    ops.Sqrt: _same("Sqrt"),
    ops.Tanh: _same("Tanh"),
    ops.Sigmoid: _same("Sigmoid"),
    ops.ReLU: _same("Relu"),
    ops.Abs: _same("Abs"),
    ops.MatMul: _same("MatMul"),
    ops.Sin: _same("Sin"),
    ops.Cos: _same("Cos"),
    ops.Tan: _same("Tan"),
    ops.Log2: _log_base,
    ops.Log10: _log_base,
    ops.Log1p: _LOG1P,
    ops.Exp2: _exp2,
    ops.Expm1: _EXPM1,
    ops.Rsqrt: _unary(("Sqrt", None), ("Reciprocal", None)),
    ops.Staircase: _staircase,
    ops.Maximum: _same("Max"),
    ops.Minimum: _same("Min"),
    ops.Flip: _flip,
    ops.Norm: _norm,
    ops.CumSum: _cumsum,
    ops.Clip: _clip,
    ops.Hardtanh: _clip,
    ops.LeakyReLU: _leaky_relu,
    ops.ELU: _elu,
    ops.Softplus: _softplus,
    ops.Hardswish: _same("HardSwish"),
    ops.NormalCDF: _normal_cdf,
    ops.Where: _where,
    ops.Sum: _reduce("ReduceSum"),
    ops.Max: _reduce("ReduceMax"),
    ops.Min: _reduce("ReduceMin"),
    ops.Expand: _expand,
    ops.Cast: _cast,
    ops.Reshape: _reshape,
    ops.Permute: _permute,
    ops.Concatenate: _along_axis("Concat"),
    ops.Linear: _linear,
    ops.Softmax: _along_axis("Softmax"),
    ops.LogSoftmax: _along_axis("LogSoftmax"),
    ops.Index: _index,
    ops.conv.Conv2d: _conv,
    ops.conv.ConvTranspose2d: _conv_transpose,
    ops.conv.MaxPool2d: _max_pool,
    ops.conv.WindowSum: _window_sum,
    ops.conv.Pad: _pad,
    normalization.Standardize: _standardize,
}
"""Op class -> function writing its ONNX nodes. Keyed by the exact class: a subclass may compute
something else."""


# ---- export -------------------------------------------------------------------------------------------
def export(
    model: Callable[..., Any],
    example_input: Any,
    path: str | os.PathLike,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
    opset: int = DEFAULT_OPSET,
) -> onnx_pkg.ModelProto:
    """Write `model` (a Module, or any function of Tensors) as an ONNX file at `path`, atomically.

    `example_input`: a Tensor or array, or a tuple of them for a model of several inputs. The model
    runs on it in eval mode (training flags are restored afterwards). `input_names` default to
    "input" ("input_0", ... for several), `output_names` to "output". With `dynamic_batch`, axis 0
    of every input is the symbolic dimension "batch", so the file runs on any batch size. `opset`:
    the ONNX operator set version, from 18. Returns the ModelProto written (checked by
    `onnx.checker.check_model`). Raises `ExportError` naming the op and the module it came from
    for an op without a translation or a graph that changes with the input's values.
    """
    onnx = _require("onnx")
    from tinygrad_edu.version import __version__

    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"onnx.export: opset must be an int in [{MIN_OPSET}, {newest}], got {opset!r}")
    examples = example_input if isinstance(example_input, tuple) else (example_input,)
    arrays = [Tensor(x).data for x in examples]  # Python lists become float32, as everywhere
    modules = {"": f"{getattr(model, '__name__', type(model).__name__)}"}
    params: dict[int, str] = {}
    if isinstance(model, Module):
        modules = {name: f"module '{name}' ({type(m).__name__})" for name, m in model.named_modules()}
        modules[""] = f"{type(model).__name__}.forward"
        params = {id(t): name for name, t in [*model.named_buffers(), *model.named_parameters()]}

    traces = [_trace(model, arrays), _trace(model, [second_input(a, dynamic_batch) for a in arrays])]
    n_out = len(traces[0].outputs)
    input_names = _names(input_names, "input", len(arrays), "inputs")
    output_names = _names(output_names, "output", n_out, "outputs")
    clash = set(params.values()) & set(input_names + output_names)
    if clash or len(set(input_names + output_names)) < len(input_names + output_names):
        raise ValueError(
            f"onnx.export: names must differ from each other and from the parameters' ({sorted(clash)} taken)"
        )
    if len(traces[1].outputs) != n_out:
        raise ExportError("onnx.export: the number of outputs changes with the input's values")
    first, second = (_Builder(t, params, modules, onnx) for t in traces)
    for b in (first, second):
        b.build(input_names, output_names)
    initializers = _agree(first, second, dynamic_batch)

    batch = (arrays[0].shape[0], traces[1].inputs[0].shape[0]) if dynamic_batch else None
    graph = onnx.helper.make_graph(
        first.nodes,
        type(model).__name__ if isinstance(model, Module) else modules[""],
        [_value_info(onnx, n, *ts, batch) for n, *ts in zip(input_names, *[t.inputs for t in traces])],
        [_value_info(onnx, n, *ts, batch) for n, *ts in zip(output_names, *[t.outputs for t in traces])],
        initializer=[onnx.numpy_helper.from_array(a, name) for name, a in initializers.items()],
    )
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="tinygrad_edu",
        producer_version=__version__,
    )
    proto.ir_version = onnx.helper.find_min_ir_version_for(proto.opset_import)  # the widest support
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as e:
        raise ExportError(
            f"onnx.export: the translated graph fails onnx's checker (a bug here): {e}"
        ) from None
    with atomic_write(path) as f:
        f.write(proto.SerializeToString())
    return proto


def _names(names: Sequence[str] | None, stem: str, count: int, what: str) -> list[str]:
    if names is None:
        return [stem] if count == 1 else [f"{stem}_{i}" for i in range(count)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"onnx.export: {count} {what}, so {count} non-empty {stem}_names, got {names!r}")
    return names


def _agree(first: _Builder, second: _Builder, dynamic_batch: bool) -> dict[str, np.ndarray]:
    """The initializers of `first`, after checking that the two runs built the same graph; a
    reshape's target entries that follow the batch size become -1."""
    for i in range(max(len(first.nodes), len(second.nodes))):
        if i >= len(first.nodes) or i >= len(second.nodes) or first.nodes[i] != second.nodes[i]:
            made_by = (first.made_by + second.made_by[len(first.made_by) :])[i]
            raise ExportError(
                f"onnx.export: the graph changes with the input's values, at {made_by}: Python control "
                "flow on a tensor's values (if, while, a shape from data) cannot be exported"
            )
    initializers = {}
    for name, a in first.initializers.items():
        b = second.initializers[name]
        if a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            initializers[name] = a
            continue
        differ = np.flatnonzero(a != b) if a.shape == b.shape else []
        if dynamic_batch and name in first.batch_fill and len(differ) == 1:
            initializers[name] = a.copy()
            initializers[name][differ] = first.batch_fill[name]
            continue
        user = next(by for node, by in zip(first.nodes, first.made_by) if name in node.input)
        raise ExportError(
            f"onnx.export: {user} uses a value that changes with the input but is not a recorded op "
            f"(shape {a.shape} for the example, {b.shape} for a second input): e.g. a comparison "
            "feeding where(), values taken out with .numpy(), or random numbers; it would be frozen "
            "into the file. A value that follows the batch size (a mean over the batch axis) needs "
            "dynamic_batch=False"
        )
    return initializers


def _value_info(onnx: Any, name: str, t1: Tensor, t2: Tensor, batch: tuple[int, int] | None) -> Any:
    """A graph input's or output's type: its dimension is "batch" where it follows the batch size."""
    if t1.ndim != t2.ndim:
        raise ExportError(
            f"onnx.export: {name} has {t1.ndim} dimensions for the example, {t2.ndim} for another"
        )
    dims = [
        n1 if n1 == n2 else "batch" if (n1, n2) == batch else f"{name}_dim{i}"
        for i, (n1, n2) in enumerate(zip(t1.shape, t2.shape))
    ]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(t1.dtype), dims)


def run(path: str | os.PathLike, *inputs: Any) -> list[np.ndarray]:
    """Run an ONNX file with ONNX Runtime (CPU) on `inputs`, given in the file's input order."""
    ort = _require("onnxruntime")
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    if len(inputs) != len(names):
        raise ValueError(
            f"onnx.run: {path} takes {len(names)} inputs ({', '.join(names)}), got {len(inputs)}"
        )
    return session.run(None, {n: Tensor(x).data for n, x in zip(names, inputs)})
