"""Layers: `Linear`, `Identity`, `Flatten`, `Unflatten` and `Dropout` (the activations are in
activation.py)."""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from tinygrad_edu import functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.nn import init
from tinygrad_edu.nn.module import Module, Parameter


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Linear(Module):
    """y = x Wᵀ + b, with W of shape (out_features, in_features) and b of shape (out_features,).

    Initialised as PyTorch's `nn.Linear`, so a state dict maps one-to-one onto a PyTorch
    model's: W ~ kaiming_uniform_(a=√5), which is U(-1/√in, 1/√in), and b ~ U(-1/√in, 1/√in).
    The input must have the weight's dtype (float32 by default), as in PyTorch: a silent
    float64 input would make the whole network compute, and train, in float64.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        shape = x.data.shape  # the array's own attributes: this check runs on every call
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: input of shape {shape} does not end in {self.in_features} features")
        if x.data.dtype != self.weight.data.dtype:
            raise TypeError(
                f"{self!r}: input dtype {x.dtype} differs from the weight's {self.weight.dtype} (convert "
                f"the input, e.g. x.astype(np.{self.weight.dtype}), or build the layer with that dtype)"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as in PyTorch): a
    placeholder, e.g. to remove a layer from a network without renumbering the others."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Merge the dimensions start_dim..end_dim into one: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`: `Unflatten(1, (1, 28, 28))` turns (N, 784)
    into (N, 1, 28, 28); one size may be -1 (inferred), as in PyTorch."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        sizes = tuple(unflattened_size)
        if not sizes or not all(isinstance(n, (int, np.integer)) and (n >= 0 or n == -1) for n in sizes):
            raise ValueError(
                f"Unflatten: unflattened_size must be non-negative ints (one may be -1), got {sizes}"
            )
        if sizes.count(-1) > 1:
            raise ValueError(f"Unflatten: only one size may be -1, got {sizes}")
        self.dim, self.unflattened_size = operator.index(dim), sizes

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        dim = self.dim + x.ndim if self.dim < 0 else self.dim
        if not 0 <= dim < x.ndim:
            raise ValueError(f"{self!r}: dim {self.dim} is out of range for an input of shape {x.shape}")
        n, known = x.shape[dim], math.prod(s for s in self.unflattened_size if s != -1)
        if (n != known) if -1 not in self.unflattened_size else (known == 0 or n % known):
            raise ValueError(
                f"{self!r}: dimension {self.dim} of the input of shape {x.shape} has {n} elements, "
                f"which do not split into {self.unflattened_size}"
            )
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Inverted dropout: in training, each element is zeroed with probability p and the
    survivors are scaled by 1/(1-p), so E[out] = x and evaluation needs no rescaling;
    in eval mode (`model.eval()`) it is the identity. Masks come from the library's generator
    (`tg.manual_seed`).
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
