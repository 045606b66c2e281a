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
