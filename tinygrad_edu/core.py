"""`Tensor`, an n-dimensional array that remembers the op that made it, and `Function`, the
base class of every op: forward and backward side by side.

A Function's `forward` works on numpy arrays (fast); its `backward` receives the upstream
gradient as a Tensor and returns one gradient per input, written in Tensor operations. The
engine runs backward rules without recording, unless `create_graph=True` asks for a
differentiable gradient: that is how higher-order derivatives come for free.

Tensor's methods are thin fronts for the ops in `ops/` (where each derivative lives); `backward`
hands over to `engine.py`. Those two are the layer above this module: the one import that goes
upward is at the end of this file (docs/architecture.md).
"""

from __future__ import annotations

import traceback
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_edu import versions
from tinygrad_edu.axes import Shape, as_axis, new_axis, norm_axis, shape_args
from tinygrad_edu.grad_mode import modes

_ALLOWED_KINDS = "biuf"  # bool, int, unsigned, float: what arithmetic ops accept


class Function:
    """Base class of every differentiable op. Subclass it and define two static methods:

    - ``forward(ctx, *xs: np.ndarray, **params) -> np.ndarray`` computes the output from the
      inputs' arrays; it may save anything backward needs as attributes of ``ctx``.
    - ``backward(ctx, grad: Tensor) -> Tensor | tuple[Tensor | None, ...]`` returns the
      vector-Jacobian product for each input (None where ``ctx.needs_input_grad[i]`` is False),
      written in Tensor operations. ``ctx.inputs`` are the input Tensors, ``ctx.output`` the
      output Tensor. Gradients may have the broadcast shape: the engine un-broadcasts them.

    Call it with ``MyOp.apply(x, y, param=...)``: positional arguments are inputs (scalars and
    arrays are wrapped as constant Tensors), keyword arguments go to ``forward`` unchanged.
    The instance is the graph node (the "ctx"); ``ctx.made`` is the version clock's reading when
    it was recorded (see versions.py).
    """

    __slots__ = ("__dict__", "_out", "inputs", "made", "needs_input_grad", "stack")

    inputs: tuple[Tensor, ...] | None
    needs_input_grad: tuple[bool, ...]

    @staticmethod
    def forward(ctx: Any, *xs: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor | tuple[Tensor | None, ...] | None:
        raise NotImplementedError

    @property
    def output(self) -> Tensor:
        # NOTE: held weakly; a strong reference would make the cycle output -> node -> output,
        # which only the cyclic GC frees, so activations would pile up between collections.
        return self._out()

    @classmethod
    def apply(cls, *args: Any, **params: Any) -> Tensor:
        ctx = cls()
        xs = args
        for a in args:
            if not isinstance(a, Tensor):  # wrap scalars and arrays; all-Tensor calls skip the copy
                xs = tuple(a if isinstance(a, Tensor) else constant(a, args) for a in args)
                break
        try:
            data = cls.forward(ctx, *[x.data for x in xs], **params)
        except ValueError as e:
            shapes = " and ".join(str(x.shape) for x in xs)
            raise ValueError(f"{cls.__name__.lower()}: inputs of shapes {shapes}: {e}") from None
        # numpy returns scalars, not arrays, from full reductions
        out = wrap(data if type(data) is np.ndarray else np.asarray(data))
        if modes.enabled:
            needs = tuple([x._requires_grad for x in xs])
            if True in needs:
                ctx.inputs, ctx.needs_input_grad, ctx.made = xs, needs, versions.now
                ctx._out = weakref.ref(out)
                out._ctx, out._requires_grad = ctx, True
        if modes.anomaly:
            check_finite(ctx, (out.data,), "forward")
            ctx.stack = traceback.format_stack()[:-1]
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def check_finite(node: Function, arrays: Sequence[Any], where: str) -> None:
    """detect_anomaly's check: raise if a float array of `node`'s forward or backward holds NaN/inf."""
    for i, a in enumerate(arrays):
        if a is not None and a.dtype.kind == "f" and not np.isfinite(a).all():
            what = "output" if where == "forward" else f"gradient for input {i}"
            msg = f"detect_anomaly: {type(node).__name__}.{where} produced NaN/inf in its {what}"
            if where == "backward" and getattr(node, "stack", None):
                msg += "\nThe op was created here:\n" + "".join(node.stack)
            raise FloatingPointError(msg)


def wrap(data: np.ndarray) -> Tensor:
    """A constant Tensor around an ndarray you have just made: no conversion, no checks, no copy.

    For op authors: the fast way to hand an array back as a Tensor (in a backward rule that
    computes with arrays when nothing is recorded, say)."""
    t = Tensor.__new__(Tensor)
    t.data, t.grad, t.name, t._ctx, t._requires_grad = data, None, None, None, False
    return t


def constant(value: Any, args: Sequence[Any] = ()) -> Tensor:
    """Wrap a non-Tensor operand. Numbers (Python's, numpy's, 0-d arrays) and integer arrays take
    the floating dtype of the Tensor they meet, so `x32 * 2.0`, `x32 * np.array(2.0)` and
    `x32 + np.arange(3)` stay float32 (PyTorch's promotion rule; numpy's would give float64)."""
    if isinstance(value, (np.ndarray, np.generic)):
        kind = value.dtype.kind
        follows = kind in "biu" or (kind == "f" and value.ndim == 0)
    else:
        follows = isinstance(value, (int, float))
    if follows:  # anything else (strings, dates, complex) is checked, and refused, by Tensor()
        for a in args:
            if isinstance(a, Tensor) and a.data.dtype.kind == "f":
                return wrap(np.asarray(value, dtype=a.data.dtype))
    return Tensor(value)


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data, dtype=dtype)
    elif isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} {data!r}")
    else:  # Python numbers and (nested) lists: float32 by default, as in PyTorch
        try:
            arr = np.array(data)  # no dtype yet: casting to float would accept "1.5" and None
        except ValueError as e:
            raise ValueError(f"Tensor: data is not a rectangular array of numbers ({e})") from None
        if arr.dtype.kind in _ALLOWED_KINDS:
            arr = arr.astype(dtype or np.float32, copy=False)
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(f"Tensor: data of dtype {arr.dtype} is not numeric")
    return arr


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    `Tensor(data, requires_grad=False, dtype=None, name=None)`: Python numbers and lists become
    float32; an `np.ndarray` keeps its dtype (float64 stays float64) and is shared, not copied.
    After `backward()`, `.grad` is an `np.ndarray` of the tensor's shape and dtype; gradients
    accumulate across calls until an optimizer's `zero_grad()` resets them to None.
    """

    __slots__ = ("__weakref__", "_ctx", "_requires_grad", "data", "grad", "name")
    __array_priority__ = 1000  # so `ndarray * Tensor` defers to Tensor.__rmul__
    __hash__ = object.__hash__  # == is elementwise, so identity is the hash (as in PyTorch)

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        self.data: np.ndarray = _to_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.name = name
        self._ctx: Function | None = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- properties and conversions -------------------------------------------------------
    @property
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def grad_fn(self) -> Function | None:
        """The graph node that produced this tensor (None for leaves)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be True or False, got {flag!r}")
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor of dtype {self.data.dtype} cannot require grad: "
                "only floating-point tensors have gradients"
            )
        if not flag and self._ctx is not None:
            raise RuntimeError(
                "requires_grad: only a leaf can have it turned off; "
                "use .detach() for a copy cut from the graph"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if self._requires_grad:
            # NOTE: numpy functions (np.exp(x), np.maximum(x, 0)) would see a constant array and
            # their result would silently carry no gradient back to x (PyTorch refuses too).
            raise TypeError(
                f"a Tensor of shape {self.shape} that requires grad cannot become a numpy array "
                "implicitly: the gradient would stop there. Use the Tensor's own ops (x.exp(), "
                "x.relu()), or take the values explicitly with x.numpy() or x.detach()"
            )
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype: Any) -> Tensor:
        """A constant copy in another dtype (cut from the graph, like numpy's astype)."""
        return Tensor(self.data.astype(dtype))

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        `grad` is the upstream gradient (needed unless self has one element). The graph's saved
        values are freed afterwards unless `retain_graph=True`.
        """
        engine.backward(self, grad, retain_graph=retain_graph)

    # ---- arithmetic (the derivatives are in ops/) ----------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(other, self)

    # In place: `x -= y` changes x's array, as in PyTorch (on a recorded tensor, it records a new
    # one). NOTE: without these, Python would run `x = x - y`, and the update loop
    # `for p in params: p -= lr * p.grad` would silently leave the model as it was.
    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, np.add, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, np.subtract, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, np.multiply, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, np.true_divide, Tensor.__truediv__)

    def _inplace(self, other: Any, ufunc: np.ufunc, op: Any) -> Tensor:
        if modes.enabled and (self._requires_grad or getattr(other, "_requires_grad", False)):
            if self._ctx is None and self._requires_grad:
                raise RuntimeError(
                    f"{ufunc.__name__} in place: a leaf tensor of shape {self.shape} that requires grad "
                    "cannot be changed in place while the graph is recorded; update parameters "
                    "inside `with tg.no_grad():`"
                )
            out = op(self, other)  # recorded as a new tensor, which the name now refers to
            return out if out.dtype == self.dtype else ops.Cast.apply(out, dtype=self.dtype)
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, value, out=self.data)
        except (TypeError, ValueError) as e:  # numpy's casting and broadcasting errors
            raise (TypeError if isinstance(e, TypeError) else ValueError)(
                f"{ufunc.__name__} in place: tensor of shape {self.shape} and dtype {self.dtype}, "
                f"operand of shape {np.shape(value)}: {e}"
            ) from None
        versions.mark_changed(self)
        return self

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(other, self)

    def __getitem__(self, idx: Any) -> Tensor:
        return ops.Index.apply(self, idx=ops.as_index(idx))

    # Comparisons are not differentiable: they return constant bool tensors.
    def _compare(self, other: Any, fn: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(fn(self.data, other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # ---- named ops --------------------------------------------------------------------------
    def add(self, other: Any) -> Tensor:
        return self + other

    def sub(self, other: Any) -> Tensor:
        return self - other

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, other: Any) -> Tensor:
        return self**other

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=norm_axis(axis, self.ndim, "sum"), keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        axis = norm_axis(axis, self.ndim, "mean")
        count = int(np.prod([self.shape[a] for a in axis]))
        return self.sum(axis, keepdims) * (1.0 / count if count else np.nan)  # empty: NaN, as numpy

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=norm_axis(axis, self.ndim, "max"), keepdims=keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """-max(-x): max's op and its tie convention."""
        if self.data.dtype.kind != "f":
            # NOTE: integers have no gradient, and negating them wraps around (-0 is 0 for uint8,
            # -(-128) is -128 for int8), so they take numpy's own min.
            axes = norm_axis(axis, self.ndim, "min")
            try:
                return Tensor(self.data.min(axis=axes, keepdims=keepdims))
            except ValueError as e:  # an empty reduction
                raise ValueError(f"min: input of shape {self.shape}: {e}") from None
        return -((-self).max(axis, keepdims))

    def argmax(self, axis: int | None = None) -> Tensor:
        return Tensor(np.argmax(self.data, axis=axis))

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, axis=axis)

    # ---- shape ops ----------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, shape=shape_args(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge the axes start_dim..end_dim (both included) into one, as `torch.flatten`."""
        dims = [norm_axis(a, self.ndim, "flatten") for a in (start_dim, end_dim)]
        if self.ndim == 0:  # its dims may be 0 or -1, and it flattens to one element
            return self.reshape((1,))
        (start,), (end,) = dims
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} is after end_dim {end_dim}, shape {self.shape}")
        merged = int(np.prod(self.shape[start : end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def permute(self, *axes: Any) -> Tensor:
        """The axes in a new order, e.g. `x.permute(2, 0, 1)`; negative axes count from the end."""
        axes = shape_args(axes)
        order = tuple([a + self.ndim if a < 0 else a for a in [as_axis(a, "permute") for a in axes]])
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not an order of the axes of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=order)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two axes (PyTorch's meaning; `permute` takes a full order)."""
        order = list(range(self.ndim))
        swap = norm_axis(dim0, self.ndim, "transpose") + norm_axis(dim1, self.ndim, "transpose")
        if swap:  # a 0-d tensor has no axes to swap
            a, b = swap
            order[a], order[b] = order[b], order[a]
        return self.permute(order)

    @property
    def T(self) -> Tensor:
        """All axes reversed (numpy's meaning): the matrix transpose for 2-D tensors."""
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of length 1 at `axis` (counted in the result, so -1 appends one)."""
        axis = new_axis(axis, self.shape, "unsqueeze")
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Tensor:
        """Drop the axes of length 1 (all of them, or those among `axis`; as in PyTorch, an axis
        given whose length is not 1 is left as it is)."""
        axes = norm_axis(axis, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if n != 1 or i not in axes))


# NOTE: the one import that goes upward (docs/architecture.md): Tensor's methods call the ops and
# the engine, which are built on Tensor, so they can only be imported once Tensor exists.
from tinygrad_edu import engine, ops  # noqa: E402
