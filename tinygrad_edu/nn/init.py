"""Weight initialisation, in place (the trailing `_` says so), with PyTorch's names and formulas.

For a weight of shape (out, in, *k) the fans are fan_in = in·∏k and fan_out = out·∏k: the
number of inputs that feed one output unit, and of outputs that one input feeds. The schemes
pick the variance that keeps activations (fan_in) or gradients (fan_out) from growing or
shrinking layer after layer.

Every function takes an optional `generator: np.random.Generator`; without it the library's
generator is used, so `tg.manual_seed(n)` makes initialisation reproducible bit for bit.
Samples are drawn in float64 and rounded to the tensor's dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_edu import rng
from tinygrad_edu.core import Tensor
from tinygrad_edu.versions import mark_changed

_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "selu": 0.75,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which a nonlinearity shrinks the standard deviation, to be undone by init.

    linear, identity, sigmoid: 1;  tanh: 5/3;  relu: √2;  selu: 3/4;
    leaky_relu with negative slope a (default 0.01): √(2 / (1 + a²)).
    """
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + a**2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")
    return _GAINS[nonlinearity]


def _calculate_fan_in_and_fan_out(tensor: Tensor | np.ndarray) -> tuple[int, int]:
    """(fan_in, fan_out) = (in·∏k, out·∏k) for a weight of shape (out, in, *k)."""
    shape = _array(tensor, "init").shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with >= 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _array(tensor: Tensor | np.ndarray, fn: str) -> np.ndarray:
    data = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        what = f"dtype {data.dtype}" if isinstance(data, np.ndarray) else f"a {type(tensor).__name__}"
        raise TypeError(f"{fn}: expects a floating-point Tensor or array, got {what}")
    return data


def _fan(tensor: Tensor, mode: str, fn: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{fn}: {mode} is 0 for a tensor of shape {tensor.shape}")
    return fan


def _gen(generator: np.random.Generator | None) -> np.random.Generator:
    return rng.generator() if generator is None else generator


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Fill with samples of U(a, b)."""
    data = _array(tensor, "uniform_")
    return _fill(tensor, _gen(generator).uniform(a, b, size=data.shape), "uniform_")


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    data = _array(tensor, "normal_")
    return _fill(tensor, _gen(generator).normal(mean, std, size=data.shape), "normal_")


def constant_(tensor: Tensor, val: float, _fn: str = "constant_") -> Tensor:
    return _fill(tensor, val, _fn)


def _fill(tensor: Tensor, values: Any, fn: str) -> Tensor:
    _array(tensor, fn)[...] = values
    if isinstance(tensor, Tensor):
        mark_changed(tensor)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0, "ones_")


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor:
    """He et al. (2015), for ReLU layers: U(-bound, bound) with

        std = gain / √fan,   bound = √3 · std,   gain = calculate_gain(nonlinearity, a)

    (a uniform on [-b, b] has std b/√3). With the defaults (leaky_relu, a = 0) gain = √2,
    so bound = √(6 / fan_in). `mode="fan_out"` preserves the gradients' scale instead.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_uniform_"))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor:
    """He et al. (2015), for ReLU layers: N(0, std²) with std = gain / √fan
    (gain = calculate_gain(nonlinearity, a); √2 by default, so std = √(2 / fan_in))."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_normal_"))
    return normal_(tensor, 0.0, std, generator)


def _xavier_std(tensor: Tensor, gain: float) -> float:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        raise ValueError(f"xavier init: fan_in + fan_out is 0 for a tensor of shape {tensor.shape}")
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010), for sigmoid/tanh layers: U(-bound, bound) with

    std = gain · √(2 / (fan_in + fan_out)),   bound = √3 · std = gain · √(6 / (fan_in + fan_out))
    """
    bound = math.sqrt(3.0) * _xavier_std(tensor, gain)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010), for sigmoid/tanh layers: N(0, std²) with
    std = gain · √(2 / (fan_in + fan_out))."""
    return normal_(tensor, 0.0, _xavier_std(tensor, gain), generator)
