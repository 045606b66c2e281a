"""Reading axis and shape arguments the way numpy and PyTorch do, with errors that name the op.

Imports nothing of the package: Tensor's methods, the ops and the layers all use these.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

Shape = tuple[int, ...]


def as_axis(a: Any, op: str) -> int:
    """An axis as a Python int: ints and numpy ints pass; floats, strings and bools raise TypeError."""
    if not isinstance(a, (bool, np.bool_)):
        try:
            return operator.index(a)
        except TypeError:
            pass
    raise TypeError(f"{op}: an axis must be an int, got {a!r}")


def norm_axis(axis: int | tuple[int, ...] | None, ndim: int, op: str) -> tuple[int, ...]:
    """`axis` as a sorted tuple of non-negative ints (None means every axis).

    A 0-d tensor accepts axis 0 and -1, as in PyTorch, and has no axis to act on: ().
    """
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = [as_axis(a, op) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}") from None
    n = max(ndim, 1)
    for a in axes:
        if not -n <= a < n:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    normal = sorted([a % n for a in axes])
    if len(set(normal)) < len(normal):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return tuple(normal) if ndim else ()


def new_axis(axis: int, shape: Shape, op: str) -> int:
    """The position of an axis to insert into `shape`, counted in the result: in [-(ndim+1), ndim]."""
    n = len(shape) + 1
    axis = as_axis(axis, op)
    if not -n <= axis < n:
        raise ValueError(f"{op}: axis {axis} is out of range [-{n}, {n}) for a tensor of shape {shape}")
    return axis % n


def kept_shape(shape: Shape, axis: tuple[int, ...]) -> Shape:
    """`shape` with the reduced axes kept as 1 (what keepdims=True gives)."""
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def shape_args(args: tuple) -> tuple:
    """`f(2, 3)` and `f((2, 3))` alike, as PyTorch's reshape, permute and zeros take them."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


class Unset:
    """The default of a numpy alias whose None means something of its own (numpy's
    `concatenate(axis=None)` flattens), so that passing None can be told from passing nothing."""

    def __repr__(self) -> str:
        return "unset"


UNSET = Unset()


class Size(tuple):
    """A shape, as `Tensor.size()` returns it (PyTorch's `torch.Size`): a tuple of ints."""

    def numel(self) -> int:
        n = 1
        for side in self:
            n *= side
        return n

    def __repr__(self) -> str:
        return f"Size({list(self)})"


def dims(
    op: str, dim: Any, axis: Any, keepdim: bool = False, keepdims: bool | None = None, default: Any = None
) -> tuple[Any, bool]:
    """PyTorch's `dim`/`keepdim` or their numpy spellings `axis`/`keepdims`: either, never both.

    Returns (dim, keepdim). `default` is the dim the op takes when neither is given; passing `dim`
    at that value with `axis` cannot be told from not passing it, so it is not refused.
    """
    if axis is not None:
        if dim != default:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}, two names for one argument")
        dim = axis
    if keepdims is not None:
        if keepdim:
            raise TypeError(f"{op}: got both keepdim and keepdims={keepdims!r}, two names for one argument")
        keepdim = bool(keepdims)
    return dim, keepdim


def one_axis(axis: Any, ndim: int, op: str) -> int:
    """A single axis as a non-negative int (a 0-d tensor accepts 0 and -1, as in PyTorch, giving 0)."""
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: takes one dim, got {axis!r}")
    n = max(ndim, 1)
    a = as_axis(axis, op)
    if not -n <= a < n:
        raise ValueError(f"{op}: dim {a} is out of range for a tensor with {ndim} dimensions")
    return a % n
