"""Creating tensors: `tensor`, `zeros`, `ones`, `rand`, `randn` (float32 unless `dtype` says
otherwise; random ones from the library's generator, see `manual_seed`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu import rng
from tinygrad_edu.axes import shape_args
from tinygrad_edu.core import Tensor


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(shape_args(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(shape_args(shape), dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the library's generator (see `manual_seed`)."""
    data = rng.generator().standard_normal(shape_args(shape)).astype(dtype, copy=False)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from the library's generator (see `manual_seed`)."""
    data = rng.generator().random(shape_args(shape)).astype(dtype, copy=False)
    return Tensor(data, requires_grad=requires_grad)
