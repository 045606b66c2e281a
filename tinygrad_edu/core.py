"""`Tensor`, an n-dimensional array that remembers the op that made it, and `Function`, the
base class of every op: forward and backward side by side.

A Function's `forward` works on numpy arrays (fast); its `backward` receives the upstream
gradient as a Tensor and returns one gradient per input, written in Tensor operations. The
engine runs backward rules without recording, unless `create_graph=True` asks for a
differentiable gradient: that is how higher-order derivatives come for free.

This file holds what a reader needs to see how autodiff works: Tensor's data, its arithmetic
(fronts for the ops in `ops/`, where each derivative lives) and `backward` (which hands over to
`engine.py`). PyTorch's other Tensor methods (`x.sum(dim)`, `x.reshape`, casts, ...) are in
`tensor_methods.py`. Those modules are the layer above this one: the one import that goes
upward is at the end of this file (docs/architecture.md).
"""

from __future__ import annotations

import traceback
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_edu import dtypes, versions
from tinygrad_edu.axes import Shape
from tinygrad_edu.grad_mode import check_finite, modes

if TYPE_CHECKING:  # static checkers see PyTorch's methods; at run time tensor_methods.py adds them
    from tinygrad_edu.tensor_methods import TensorMethods
else:
    TensorMethods = object


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
                xs = tuple(a if isinstance(a, Tensor) else constant(a, args, cls.__name__) for a in args)
                break
        try:
            data = cls.forward(ctx, *[x.data for x in xs], **params)
        except (TypeError, ValueError) as e:
            raise input_error(cls.__name__.lower(), xs, e) from None
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


def wrap(data: np.ndarray) -> Tensor:
    """A constant Tensor around an ndarray you have just made: no conversion, no checks, no copy.

    For op authors: the fast way to hand an array back as a Tensor (in a backward rule that
    computes with arrays when nothing is recorded, say)."""
    t = Tensor.__new__(Tensor)
    t.data, t.grad, t.name, t._ctx, t._requires_grad = data, None, None, None, False
    return t


def input_error(op: str, xs: Sequence[Tensor], e: Exception) -> Exception:
    """A forward's ValueError (shapes) or TypeError (dtypes, e.g. numpy's "boolean subtract is not
    supported"), raised again naming the op and its inputs."""
    if isinstance(e, ValueError):
        return ValueError(f"{op}: inputs of shapes {' and '.join(str(x.shape) for x in xs)}: {e}")
    names = " and ".join(str(x.dtype) for x in xs)
    hint = "" if all(x.dtype.kind == "f" for x in xs) else " (convert first, e.g. x.float())"
    return TypeError(f"{op}: inputs of dtypes {names}: {e}{hint}")


def constant(value: Any, args: Sequence[Any] = (), op: str = "") -> Tensor:
    """Wrap `value`, a non-Tensor operand of the Tensors in `args`, in the dtype PyTorch gives it
    (`dtypes.constant_array`: `x32 * 2.0` stays float32)."""
    for a in args:
        if isinstance(a, Tensor):
            arr = dtypes.constant_array(value, a.data.dtype, op)
            return Tensor(value) if arr is None else wrap(arr)
    return Tensor(value)


class Tensor(TensorMethods):
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
        self.data: np.ndarray = dtypes.as_array(data.data if isinstance(data, Tensor) else data, dtype)
        self.grad: np.ndarray | None = None
        self.name = name
        self._ctx: Function | None = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- the data and its place in the graph -----------------------------------------------
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

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

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


# NOTE: the one import that goes upward (docs/architecture.md): Tensor's methods call the ops, the
# engine and tensor_methods, which are built on Tensor, so they can only be imported once it exists.
from tinygrad_edu import engine, ops, tensor_methods  # noqa: E402, F401
