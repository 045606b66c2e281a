"""The op-declaration mechanism: a `Function` holds an op's forward and its backward side by side.

A Function's `forward` works on numpy arrays (fast); its `backward` receives the upstream
gradient as a Tensor and returns one gradient per input, written in Tensor operations. The
engine runs backward rules without recording, unless `create_graph=True` asks for a
differentiable gradient: that is how higher-order derivatives come for free.

The instance of a Function is the graph node (the "ctx"): it remembers its `inputs`, which of
them need a gradient, and whatever `forward` saved on it.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from contextlib import ContextDecorator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tinygrad_edu.tensor import Tensor


class _Modes(threading.local):
    """The switches every op reads, one set per thread as in PyTorch: a `no_grad` block in one
    thread leaves the others recording. A new thread starts from these class defaults."""

    enabled = True
    anomaly = False


_GradMode = _Modes()


def is_grad_enabled() -> bool:
    """True when ops record the graph (the default)."""
    return _GradMode.enabled


class _Switch(ContextDecorator):
    """Set some of _GradMode's flags for the duration of a `with` block (or a decorated call)."""

    # NOTE: a class, not a @contextmanager generator: the engine enters one on every backward().
    # A decorated function gets a fresh switch per call (`_recreate_cm`), so recursion and calls
    # from several threads at once each restore their own state. Only the flags a switch sets are
    # restored, so switches that close out of order (a generator suspended inside no_grad) do
    # not undo each other. One switch object entered by two threads at once shares its saved
    # stack (as PyTorch's switches share `prev`): each thread writes its own `with tg.no_grad():`.
    def __init__(self, **flags: bool) -> None:
        self.flags = flags
        self.saved: list[dict[str, bool]] = []  # a stack: one instance may be entered again

    def _recreate_cm(self) -> _Switch:
        return _Switch(**self.flags)

    def __enter__(self) -> None:
        self.saved.append({name: getattr(_GradMode, name) for name in self.flags})
        vars(_GradMode).update(self.flags)  # this thread's flags

    def __exit__(self, *exc: object) -> None:
        vars(_GradMode).update(self.saved.pop())


def no_grad():
    """Context manager (and decorator) in which ops record nothing: inference and optimizer steps."""
    return _Switch(enabled=False)


def enable_grad():
    """Context manager that turns recording back on, e.g. inside `no_grad`."""
    return _Switch(enabled=True)


def detect_anomaly():
    """Raise at the first op whose forward output or backward gradient holds NaN or inf.

    Costs one `isfinite` scan per op and a stack capture per recorded op, so it is off by default.
    """
    return _Switch(anomaly=True)


# NOTE: the clock behind PyTorch's "modified by an inplace operation" error. It ticks at every
# in-place change of a tensor's array made through the library (`x -= y` under no_grad, optimizer
# steps, load_state_dict, nn.init) and notes the time against the array that owns the memory, so
# every tensor sharing it (a view, `detach()`, a Parameter made from the array) sees the change. A
# graph node notes the time it was made, and its backward refuses a tensor changed later: the
# values it would use are not the ones its forward saw. Writing to `.data` directly bypasses it,
# as in PyTorch.
_now = 0
_changed_at: dict[int, int] = {}  # id of an array that owns memory -> when it was last changed


def _owner(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def mark_changed(t: Tensor) -> None:
    """Record that `t`'s array was just changed in place (graph nodes made before must not use it)."""
    global _now
    _now += 1
    owner = _owner(t.data)
    if id(owner) not in _changed_at:
        weakref.finalize(owner, _changed_at.pop, id(owner), None)  # forgotten with the array
    _changed_at[id(owner)] = _now


def changed_since(t: Tensor, time: int) -> bool:
    """Whether `t`'s memory was changed in place after `time` (a value of the clock `_now`)."""
    return _changed_at.get(id(_owner(t.data)), 0) > time


def _check_finite(fn: Function, arrays: tuple, where: str) -> None:
    for i, a in enumerate(arrays):
        if a is not None and a.dtype.kind == "f" and not np.isfinite(a).all():
            what = "output" if where == "forward" else f"gradient for input {i}"
            msg = f"detect_anomaly: {type(fn).__name__}.{where} produced NaN/inf in its {what}"
            if where == "backward" and getattr(fn, "_stack", None):
                msg += "\nThe op was created here:\n" + "".join(fn._stack)
            raise FloatingPointError(msg)


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
    """

    __slots__ = ("__dict__", "_made", "_out", "_stack", "inputs", "needs_input_grad")

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
        out = _wrap(data if type(data) is np.ndarray else np.asarray(data))
        if _GradMode.enabled:
            needs = tuple([x._requires_grad for x in xs])
            if True in needs:
                ctx.inputs, ctx.needs_input_grad, ctx._made = xs, needs, _now
                ctx._out = weakref.ref(out)
                out._ctx, out._requires_grad = ctx, True
        if _GradMode.anomaly:
            _check_finite(ctx, (out.data,), "forward")
            ctx._stack = traceback.format_stack()[:-1]
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


# Imported last: tensor.py builds on Function (the package __init__ imports this module first).
from tinygrad_edu.tensor import Tensor, _wrap, constant  # noqa: E402
