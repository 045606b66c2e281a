"""Normalisation layers with PyTorch's arguments, defaults, and parameter and buffer names:
`BatchNorm1d`, `BatchNorm2d`, `LayerNorm` and `GroupNorm`.

Each standardises x over some axes, x̂ = (x - mean) / sqrt(var + eps) with the biased variance
(the mean of the squared deviations), then applies the learned elementwise map y = γ x̂ + β.
The standardisation is one op, `Standardize`, whose backward is written in Tensor ops, so the
layers have second derivatives too; γ and β are ordinary Tensor ops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.grad_mode import is_grad_enabled
from tinygrad_edu.nn import init
from tinygrad_edu.nn.module import Module, Parameter
from tinygrad_edu.versions import mark_changed


class Standardize(Function):
    """x̂ = (x - μ) / σ over `axes`, with μ = `mean` and 1/σ = `inv_std` = 1/sqrt(var + eps) x's
    own statistics there (var biased), computed by the caller, which also needs them; the
    backward differentiates through them as functions of x."""

    @staticmethod
    def forward(ctx, x, axes, eps, mean, inv_std):
        ctx.axes, ctx.eps, ctx.inv_std = axes, eps, inv_std
        return (x - mean) * inv_std

    @staticmethod
    def backward(ctx, g):
        """dx = (g - mean(g) - x̂ mean(g x̂)) / σ, the means over `axes`: x̂ moves with x directly
        (g / σ) and through μ and σ, which take away the parts of g along 1 and along x̂."""
        xhat, axes = ctx.output, ctx.axes
        if not is_grad_enabled():
            # NOTE: nothing is recorded (no create_graph), so the formula runs on the arrays: this
            # saves the seven op dispatches that would dominate the layer's backward.
            return Tensor(_standardize_vjp(g.data, xhat.data, ctx.inv_std, axes))
        # create_graph: 1/σ must be recorded as a function of x, to be differentiated again
        x = ctx.inputs[0]
        centered = x - x.mean(axes, keepdims=True)
        inv_std = ((centered * centered).mean(axes, keepdims=True) + ctx.eps) ** -0.5
        return _standardize_vjp(g, xhat, inv_std, axes)


def _standardize_vjp(g: Any, xhat: Any, inv_std: Any, axes: tuple[int, ...]) -> Any:
    """Standardize's backward, for Tensors or arrays alike."""
    return (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True)) * inv_std


def normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """(x̂, mean, var): x̂ = (x - mean) / sqrt(var + eps) over `axes`, and the statistics as arrays
    (kept dims, var biased)."""
    mean = x.data.mean(axis=axes, keepdims=True)
    centered = x.data - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return Standardize.apply(x, axes=axes, eps=eps, mean=mean, inv_std=1 / np.sqrt(var + eps)), mean, var


def _per_channel(t: Any, ndim: int) -> Any:
    """A (C,) tensor or array shaped to broadcast along dim 1 of an (N, C, *) input."""
    return t.reshape((-1,) + (1,) * (ndim - 2)) if ndim > 2 else t


def _count(layer: str, name: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {n!r}")
    return int(n)


def _eps(layer: str, eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < math.inf:
        raise ValueError(f"{layer}: eps must be a finite number >= 0, got {eps!r}")
    return float(eps)


def _input(layer: Module, x: Any, like: Tensor | None) -> Tensor:
    """`x` as a float Tensor of the layer's dtype (that of `like`, its weight or a statistic)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.data.dtype.kind != "f" or (like is not None and x.data.dtype != like.data.dtype):
        want = "a floating-point dtype" if like is None else f"the layer's {like.dtype}"
        raise TypeError(
            f"{layer!r}: input dtype {x.dtype} is not {want} (convert the input, e.g. "
            "x.astype(np.float32), or build the layer with dtype=...)"
        )
    return x


def _affine(x: Tensor, weight: Parameter | None, bias: Parameter | None, per_channel: bool) -> Tensor:
    """γ x + β, with γ and β along dim 1 (`per_channel`) or along the trailing dims."""
    if weight is not None:
        x = x * (_per_channel(weight, x.ndim) if per_channel else weight)
    if bias is not None:
        x = x + (_per_channel(bias, x.ndim) if per_channel else bias)
    return x


class _BatchNorm(Module):
    """Normalise each channel (dim 1) over the batch and every other dim.

    Training: the batch's mean and biased variance normalise; the running statistics move
    towards the batch's as r ← (1 - m) r + m s, with the UNBIASED variance (n / (n - 1) times the
    biased one, n values per channel), and m = `momentum`, or 1 / num_batches_tracked (a
    cumulative average) when momentum is None. Evaluation: the running statistics normalise.
    With `track_running_stats=False` the batch statistics are used in both modes and no
    buffers exist (running_mean etc. are None), as in PyTorch.
    """

    _ranks: tuple[int, ...]
    _layout: str

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        name = type(self).__name__
        self.num_features = _count(name, "num_features", num_features)
        self.eps = _eps(name, eps)
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum, self.affine, self.track_running_stats = momentum, affine, track_running_stats
        c = self.num_features
        self.weight = Parameter(np.ones(c, dtype)) if affine else None
        self.bias = Parameter(np.zeros(c, dtype)) if affine else None
        tracked = track_running_stats
        self.register_buffer("running_mean", np.zeros(c, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(c, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64) if tracked else None)

    def reset_running_stats(self) -> None:
        for buffer, value in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
            if buffer is not None:
                buffer.data[...] = value
                mark_changed(buffer)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        x = _input(self, x, self.weight if self.weight is not None else self.running_mean)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r}: expected an input of shape {self._layout} with C = {self.num_features}, "
                f"got shape {x.shape}"
            )
        if not self.training and self.running_mean is not None:
            # NOTE: fixed statistics make the layer one affine map per channel, x s + t with
            # s = γ / sqrt(running_var + eps) and t = β - running_mean s: two passes over x.
            scale = 1 / np.sqrt(self.running_var.data + self.eps)
            if self.weight is not None:
                scale = self.weight * scale
            shift = -self.running_mean.data * scale
            if self.bias is not None:
                shift = shift + self.bias
            return x * _per_channel(scale, x.ndim) + _per_channel(shift, x.ndim)
        n = x.numel() // self.num_features  # values per channel
        if n <= 1:
            raise ValueError(
                f"{self!r}: expected more than 1 value per channel when training, got shape {x.shape}"
            )
        xhat, mean, var = normalize(x, (0, *range(2, x.ndim)), self.eps)
        if self.training and self.track_running_stats and self.running_mean is not None:
            self._track(mean.reshape(-1), var.reshape(-1), n)
        return _affine(xhat, self.weight, self.bias, per_channel=True)

    def _track(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        """Move the running statistics towards the batch's (in place: they are buffers)."""
        factor = self.momentum
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            mark_changed(self.num_batches_tracked)
            if factor is None:
                factor = 1 / int(self.num_batches_tracked.data)
        factor = factor or 0.0  # momentum None without a counter: PyTorch leaves the statistics
        for buffer, batch in ((self.running_mean, mean), (self.running_var, var * (n / (n - 1)))):
            buffer.data *= 1 - factor
            buffer.data += factor * batch
            mark_changed(buffer)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.\n\n" + _BatchNorm.__doc__
    _ranks, _layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C, H, W) inputs, per channel C.\n\n" + _BatchNorm.__doc__
    _ranks, _layout = (4,), "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its trailing dims `normalized_shape` (the last one for an int),
    then y = γ x̂ + β with γ (ones) and β (zeros) of shape normalized_shape. Same in training
    and evaluation: no running statistics."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...] | list[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        self.normalized_shape = tuple(_count("LayerNorm", "normalized_shape", n) for n in shape)
        if not self.normalized_shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one dimension")
        self.eps, self.elementwise_affine = _eps("LayerNorm", eps), elementwise_affine
        affine = elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if affine and bias else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        x = _input(self, x, self.weight)
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"{self!r}: input of shape {x.shape} does not end in {self.normalized_shape}")
        xhat, _, _ = normalize(x, tuple(range(x.ndim - k, x.ndim)), self.eps)
        return _affine(xhat, self.weight, self.bias, per_channel=False)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Split the C channels (dim 1) of each sample into `num_groups` groups of consecutive
    channels and normalise each group over its channels and the remaining dims, then
    y = γ x̂ + β per channel. Same in training and evaluation."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        dtype: Any = np.float32,
    ) -> None:
        self.num_groups = _count("GroupNorm", "num_groups", num_groups)
        self.num_channels = _count("GroupNorm", "num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.eps, self.affine = _eps("GroupNorm", eps), affine
        self.weight = Parameter(np.ones(self.num_channels, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_channels, dtype)) if affine else None

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        x = _input(self, x, self.weight)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"{self!r}: expected an input of shape (N, C, *) with C = {self.num_channels}, got {x.shape}"
            )
        groups = x.reshape(x.shape[0], self.num_groups, x.numel() // max(x.shape[0] * self.num_groups, 1))
        xhat, _, _ = normalize(groups, (2,), self.eps)
        return _affine(xhat.reshape(x.shape), self.weight, self.bias, per_channel=True)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
