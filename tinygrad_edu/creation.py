"""Creating tensors, with PyTorch's names, arguments and dtypes.

`tensor(data)` infers the dtype as `torch.tensor` does (Python ints -> int64, floats -> float32,
bools -> bool; an array keeps its own), while `Tensor(data)` makes lists float32 (`torch.Tensor`).
The other functions make float32 unless `dtype` says otherwise, except that `full` follows its
fill value and `arange`/`randint` of integers make int64, as in PyTorch. Random ones draw from the
library's generator (see `manual_seed`). The dtype names below (`tg.float32`, `tg.int64`, ...)
stand where PyTorch code writes `torch.float32`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_edu import rng
from tinygrad_edu.axes import shape_args
from tinygrad_edu.core import Tensor
from tinygrad_edu.dtypes import DEFAULT_DTYPE, number_kind

float16, float32, float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
half, double = float16, float64
uint8, int8, int16, int32, int64 = (np.dtype(t) for t in (np.uint8, np.int8, np.int16, np.int32, np.int64))
long = int64
bool_ = np.dtype(np.bool_)


def _made(data: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    return Tensor(data if dtype is None else data.astype(dtype, copy=False), requires_grad=requires_grad)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`, its dtype inferred as `torch.tensor` infers it."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
        if arr.dtype.kind in DEFAULT_DTYPE:  # anything else is refused by Tensor, naming it
            dtype = DEFAULT_DTYPE[arr.dtype.kind]
    return Tensor(np.array(data, dtype=dtype), requires_grad=requires_grad)


def zeros(*size: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(shape_args(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(shape_args(size), dtype=dtype), requires_grad=requires_grad)


def empty(*size: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Uninitialised memory (whatever was there), as `torch.empty`: fill it before reading."""
    return Tensor(np.empty(shape_args(size), dtype=dtype), requires_grad=requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`fill_value` everywhere; the dtype follows it (int64, float32 or bool) unless given."""
    dtype = DEFAULT_DTYPE[number_kind(fill_value)] if dtype is None else dtype
    return Tensor(np.full(shape_args((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """start, start + step, ... up to but not including end (`arange(n)` is 0 … n-1): int64 when
    all three are integers, else float32."""
    start, end = (0, start) if end is None else (start, end)
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        dtype = int64 if all(number_kind(v) in "iu" for v in (start, end, step)) else float32
    # NOTE: the count is computed in float64 from the arguments, as PyTorch does, then each value
    # as start + i·step: no drift from adding step again and again.
    n = max(math.ceil((end - start) / step), 0)
    return _made(start + np.arange(n) * step, dtype, requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = float32, requires_grad: bool = False
) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    return _made(np.linspace(start, end, steps), dtype, requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the library's generator (see `manual_seed`)."""
    return _made(rng.generator().standard_normal(shape_args(size)), dtype, requires_grad)


def rand(*size: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from the library's generator (see `manual_seed`)."""
    return _made(rng.generator().random(shape_args(size)), dtype, requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randint(*args: Any, size: Any = None, dtype: Any = int64, requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high): `randint(high, size)` or `randint(low, high, size)`."""
    if size is not None:
        args = (*args, size)
    if len(args) not in (2, 3):
        raise TypeError("randint: takes (high, size) or (low, high, size)")
    low, high, size = (0, *args) if len(args) == 2 else args
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be larger than low ({low})")
    data = rng.generator().integers(low, high, shape_args((size,)), dtype=np.int64)
    return _made(data, dtype, requires_grad)
