"""Convolution and pooling layers with PyTorch's names, arguments, attributes, reprs and state dicts.

A `Conv2d` here and a `torch.nn.Conv2d` built with the same arguments have the same parameter
names, shapes and layouts ("weight" (C_out, C_in/groups, kH, kW), "bias" (C_out,)), so a
checkpoint written by one loads into the other unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_edu import arguments
from tinygrad_edu import functional as F
from tinygrad_edu.core import Tensor
from tinygrad_edu.nn import init
from tinygrad_edu.nn.module import Module, Parameter
from tinygrad_edu.ops import conv as conv_ops

Size = int | tuple[int, ...]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share: checked arguments, parameters, init, repr."""

    dims = 2
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size = 1,
        padding: Size | str = 0,
        dilation: Size = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        args = arguments.conv_args(type(self).__name__, self.dims, kernel_size, stride, padding, dilation)
        self._build(in_channels, out_channels, args, groups, bias, padding_mode, dtype)

    def _build(
        self,
        in_channels: int,
        out_channels: int,
        args: arguments.ConvArgs,
        groups: int,
        bias: bool,
        padding_mode: str,
        dtype: Any,
    ) -> None:
        """Checks the channels, keeps the arguments as PyTorch does (kernel_size, stride, padding,
        dilation as tuples, or padding's string) and makes the parameters."""
        name = type(self).__name__
        for arg, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {n!r}")
        for arg, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ValueError(f"{name}: {arg} ({n}) must be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size, self.stride, self.padding, self.dilation = args[:4]
        self.output_padding = args.output_padding or (0,) * self.dims
        self.padding_mode = padding_mode
        channels = (
            (in_channels, out_channels // groups)
            if self.transposed
            else (out_channels, in_channels // groups)
        )
        self.weight = Parameter(np.empty(channels + self.kernel_size, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's: W ~ kaiming_uniform_(a=√5), which is U(±1/√fan_in), and b ~ U(±1/√fan_in),
        with fan_in = weight.shape[1]·kH·kW."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.shape[1] * math.prod(self.kernel_size))
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        d = self.dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * d:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv(self, x: Any) -> Tensor:
        conv = F.conv1d if self.dims == 1 else F.conv2d
        padding = self.padding
        if self.padding_mode != "zeros":  # padded first, by F.pad; the convolution adds none
            sizes = self.kernel_size, self.stride, self.padding, self.dilation
            widths = arguments.conv_args(type(self).__name__, self.dims, *sizes).widths
            x = F.pad(x, tuple(w for pair in reversed(widths) for w in pair), mode=self.padding_mode)
            padding = 0
        return conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L): weight (C_out, C_in/groups, k), bias (C_out,)."""

    dims = 1

    def forward(self, x: Any) -> Tensor:
        return self._conv(x)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W): weight (C_out, C_in/groups, kH, kW), bias (C_out,).

    `padding` is an int, a pair, "valid" or "same"; `padding_mode` "zeros", "reflect",
    "replicate" or "circular". The input must have the weight's dtype (float32 by default).
    """

    def forward(self, x: Any) -> Tensor:
        return self._conv(x)


class ConvTranspose2d(_ConvNd):
    """The transposed convolution (the adjoint of Conv2d in its input, an upsampling): weight
    (C_in, C_out/groups, kH, kW), bias (C_out,). `forward(x, output_size)` may name the size
    wanted among those a strided Conv2d maps to x's size (it sets output_padding)."""

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size = 1,
        padding: Size = 0,
        output_padding: Size = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size = 1,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode 'zeros' is supported, got {padding_mode!r}")
        args = arguments.conv_args(
            "ConvTranspose2d", 2, kernel_size, stride, padding, dilation, output_padding
        )
        self._build(in_channels, out_channels, args, groups, bias, padding_mode, dtype)

    def forward(self, x: Any, output_size: tuple[int, ...] | None = None) -> Tensor:
        extra = self.output_padding
        if output_size is not None:
            x = x if isinstance(x, Tensor) else Tensor(x)
            smallest = tuple(
                (n - 1) * s - 2 * p + d * (k - 1) + 1
                for n, s, p, d, k in zip(
                    x.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size
                )
            )
            wanted = tuple(output_size)[-2:]
            extra = tuple(w - m for w, m in zip(wanted, smallest))
            if len(wanted) != 2 or min(extra) < 0 or any(e >= s for e, s in zip(extra, self.stride)):
                largest = tuple(m + s - 1 for m, s in zip(smallest, self.stride))
                raise ValueError(
                    f"{self!r}: output_size {tuple(output_size)} is not between {smallest} and {largest}, "
                    f"the sizes it can give for input of shape {x.shape}"
                )
        return F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, extra, self.groups, self.dilation
        )


class MaxPool1d(Module):
    """The maximum of each window of length kernel_size (stride defaults to kernel_size)."""

    dims = 1

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        dilation: Size = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        arguments.pool_args(type(self).__name__, self.dims, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride  # as given
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Any) -> Tensor | tuple[Tensor, Tensor]:
        return F.max_pool1d(x, *self._args())

    def _args(self) -> tuple:
        return self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(MaxPool1d):
    """The maximum of each kH×kW window (stride defaults to kernel_size: windows side by side)."""

    dims = 2

    def forward(self, x: Any) -> Tensor | tuple[Tensor, Tensor]:
        return F.max_pool2d(x, *self._args())


class AvgPool2d(Module):
    """The mean of each kH×kW window (stride defaults to kernel_size)."""

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        arguments.pool_args("AvgPool2d", 2, kernel_size, stride, padding)
        if divisor_override is not None:
            conv_ops.as_ints(divisor_override, 1, "divisor_override", "AvgPool2d", 1)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride  # as given
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """The mean of each window of length kernel_size (stride defaults to kernel_size)."""

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        # PyTorch's AvgPool1d, unlike the other pooling layers, keeps its sizes as 1-tuples
        self.kernel_size, self.stride, self.padding, _ = arguments.pool_args(
            "AvgPool1d", 1, kernel_size, stride, padding
        )
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (1: global average pooling); None keeps that axis."""

    def __init__(self, output_size: Size | tuple[int | None, int | None]) -> None:
        arguments.adaptive_size("AdaptiveAvgPool2d", output_size)
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class ZeroPad2d(Module):
    """Zeros around the last two axes: padding is an int or (left, right, top, bottom); negative crops."""

    def __init__(self, padding: Size) -> None:
        self.padding = conv_ops.as_ints(padding, 4, "padding", "ZeroPad2d")

    def forward(self, x: Any) -> Tensor:
        return F.pad(x, self.padding)

    def extra_repr(self) -> str:
        return f"{self.padding}"
