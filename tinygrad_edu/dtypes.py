"""Which dtype a result has: PyTorch's type promotion, on numpy arrays (imports nothing of ours).

The kinds rank bool < integer < float. Where numpy would widen float32 to float64 (float32 with
an int64 array or a float64 0-d array), PyTorch keeps the float32: so do we. Where numpy would
compute in float16 (sigmoid of uint8 pixels) or float64 (exp of int64), PyTorch computes in its
default float32: so do we.
"""

from __future__ import annotations

from typing import Any

import numpy as np

KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool, unsigned, int, float: the kinds Tensors hold
DEFAULT_DTYPE = {
    "b": np.dtype(bool),
    "u": np.dtype(np.int64),
    "i": np.dtype(np.int64),
    "f": np.dtype(np.float32),
}
NUMBER_KINDS = {bool: "b", int: "i", float: "f"}


def result_type(x: np.ndarray, y: np.ndarray) -> np.dtype:
    """The dtype of an op on two tensors' arrays, PyTorch's rule: the higher kind wins whole
    (float32 with int64 or bool is float32), within a kind the wider type (float32 with float64
    is float64, uint8 with int8 is int16), and a 0-d array meeting a dimensioned one counts only
    if its kind is higher."""
    if (x.ndim == 0) != (y.ndim == 0):
        lead, other = (y, x) if x.ndim == 0 else (x, y)
        return other.dtype if KIND_RANK[other.dtype.kind] > KIND_RANK[lead.dtype.kind] else lead.dtype
    rx, ry = KIND_RANK[x.dtype.kind], KIND_RANK[y.dtype.kind]
    if rx != ry:
        return x.dtype if rx > ry else y.dtype
    return np.promote_types(x.dtype, y.dtype)


def promoted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y in their common dtype (`result_type`); binary ops call it when the dtypes differ."""
    dtype = result_type(x, y)
    return x.astype(dtype, copy=False), y.astype(dtype, copy=False)


def float_array(x: np.ndarray) -> np.ndarray:
    """x itself if floating-point, else x in float32 (PyTorch's default dtype): what float-valued
    ops (exp, sigmoid, softmax, ...) compute in for integer and bool inputs.

    NOTE: numpy's own choice would be float16 for uint8 and bool (so sigmoid of uint8 pixels lost
    all precision) and float64 for int64."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def number_kind(value: Any) -> str:
    """numpy's kind letter of a number: "b" bool, "i" int, "f" float (a numpy scalar's own)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.dtype.kind
    return "b" if isinstance(value, bool) else "i" if isinstance(value, int) else "f"


def constant_array(value: Any, like: np.dtype, op: str) -> np.ndarray | None:
    """`value`, an operand that is not a Tensor, as an array in the dtype PyTorch gives it when it
    meets a tensor of dtype `like`; None when no rule applies (the caller makes a plain Tensor).

    A number (Python's, numpy's, a 0-d array) takes `like` unless its kind is higher, then that
    kind's default: `x32 * 2.0` and `x32 * np.float64(2)` stay float32, `int64_tensor + 1` stays
    int64, `int64_tensor * 0.5` is float32, `bool_tensor + 1` int64. An integer or bool array
    meeting a float tensor takes its dtype, so that ops which do not promote (`x32 @ np.arange(3)`)
    stay float32 too.
    """
    # NOTE: `x * 2.0` and `1 - x` are on every network's hot path: Python numbers are looked up by
    # their exact type first, before any isinstance.
    kind = NUMBER_KINDS.get(type(value))
    if kind is None and isinstance(value, (np.generic, np.ndarray)) and value.ndim == 0:
        kind = value.dtype.kind
    if kind in KIND_RANK:
        dtype = like if like.kind == "f" else integer_constant_dtype(value, kind, like, op)
        return np.asarray(value, dtype=dtype)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu" and like.kind == "f":
        return value.astype(like)
    return None


def integer_constant_dtype(value: Any, kind: str, dtype: np.dtype, op: str) -> np.dtype:
    """The dtype of a number meeting an integer or bool tensor of `dtype` (see `constant_array`)."""
    if KIND_RANK[kind] > KIND_RANK[dtype.kind]:
        return DEFAULT_DTYPE[kind]
    if kind in "iu" and dtype.kind in "iu" and not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max:
        # NOTE: PyTorch would wrap around (uint8 + 300 is 45): a silent wrong answer.
        raise OverflowError(
            f"{op.lower()}: {value} does not fit in the {dtype} of the tensor it meets; "
            "convert the tensor first, e.g. x.long() or x.float()"
        )
    return dtype


def as_array(data: Any, dtype: Any) -> np.ndarray:
    """`Tensor(data, dtype=...)`'s array: an ndarray keeps its dtype (and memory); Python numbers
    and nested lists become float32 by default, as in PyTorch; anything not numeric is refused."""
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data, dtype=dtype)
    elif isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} {data!r}")
    else:
        try:
            arr = np.array(data)  # no dtype yet: casting to float would accept "1.5" and None
        except ValueError as e:
            raise ValueError(f"Tensor: data is not a rectangular array of numbers ({e})") from None
        if arr.dtype.kind in KIND_RANK:
            arr = arr.astype(dtype or np.float32, copy=False)
    if arr.dtype.kind not in KIND_RANK:
        raise TypeError(f"Tensor: data of dtype {arr.dtype} is not numeric")
    return arr
