"""Activation modules with PyTorch's names, arguments, defaults and reprs: thin fronts for the
functions in `tinygrad_edu.functional`, where each one's formula and derivative are described.

`inplace=True` is accepted (and shown in the repr, as PyTorch does) so that PyTorch code runs
unchanged; the result is always a new tensor and the input is left as it was.
"""

from __future__ import annotations

from typing import Any

from tinygrad_edu import functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.nn.module import Module


def _inplace(inplace: bool, first: bool = False) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class InplaceArgument(Module):
    """An activation whose only argument is `inplace` (accepted, shown in the repr when True)."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace(self.inplace, first=True)


class ReLU(InplaceArgument):
    """max(x, 0)"""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class Sigmoid(Module):
    """1 / (1 + exp(-x))"""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x)"""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    """exp(x_i) / Σ_j exp(x_j) along `dim`."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """x_i - log Σ_j exp(x_j) along `dim` (pair with NLLLoss)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class LeakyReLU(Module):
    """x for x > 0, negative_slope · x otherwise."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Any) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace(self.inplace)


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Any) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace(self.inplace)


class CELU(ELU):
    """max(0, x) + min(0, alpha (exp(x/alpha) - 1))."""

    def forward(self, input: Any) -> Tensor:
        return F.celu(input, self.alpha)


class SELU(InplaceArgument):
    """scale · elu(x, alpha) with the self-normalising constants alpha ≈ 1.6733, scale ≈ 1.0507."""

    def forward(self, input: Any) -> Tensor:
        return F.selu(input)


class SiLU(InplaceArgument):
    """x σ(x)."""

    def forward(self, input: Any) -> Tensor:
        return F.silu(input)


class Mish(InplaceArgument):
    """x tanh(softplus(x))."""

    def forward(self, input: Any) -> Tensor:
        return F.mish(input)


class GELU(Module):
    """x Φ(x), or its tanh approximation with approximate="tanh"."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Any) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Any) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, input: Any) -> Tensor:
        return F.softsign(input)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val {max_val} must be above min_val {min_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Any) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace(self.inplace)


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace, first=True)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6 (PyTorch's repr does not show inplace for this one)."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.hardsigmoid(input)


class Hardswish(Hardsigmoid):
    """x relu6(x + 3) / 6."""

    def forward(self, input: Any) -> Tensor:
        return F.hardswish(input)
