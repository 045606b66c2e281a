"""PyTorch's arguments checked, for `functional` (F) at the call and for the nn layers in their
constructors, so that a mistake is reported where it is made and names the function or the layer:
convolution and pooling sizes, adaptive pooling's output size, a loss's reduction."""

from __future__ import annotations

from typing import Any, NamedTuple

from tinygrad_edu.ops import conv

Reduction = str  # "mean" | "sum" | "none"


REDUCTIONS = ("mean", "sum", "none")
KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")  # kl_div's


def check_reduction(reduction: Reduction, fn: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    """Raise ValueError naming `fn` (a loss function, or a loss layer in its constructor) unless
    `reduction` is one of `allowed`."""
    if reduction not in allowed:
        names = ", ".join(map(repr, allowed[:-1])) + f" or {allowed[-1]!r}"
        raise ValueError(f"{fn}: reduction must be {names}, got {reduction!r}")


class ConvArgs(NamedTuple):
    """A convolution's arguments as `conv_args` checked them, in PyTorch's form: tuples of one int
    per spatial axis (padding may be "valid" or "same"), as the Conv layers store them."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]  # a transposed convolution's; () for a convolution

    @property
    def widths(self) -> tuple[tuple[int, int], ...]:
        """The (before, after) padding of each spatial axis."""
        if self.padding == "same":
            return conv.same_padding(self.kernel, self.dilation)
        return tuple((p, p) for p in ((0,) * len(self.kernel) if self.padding == "valid" else self.padding))


def conv_args(
    op: str, dims: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any, output_padding: Any = None
) -> ConvArgs:
    """PyTorch's convolution arguments checked, for F.conv1d/conv2d/conv_transpose2d at the call
    and for the Conv layers in their constructor (`op` names which): kernel_size, stride and
    dilation ints >= 1 or tuples of `dims` of them, padding ints >= 0, or "valid" or "same"
    (stride 1 only). A transposed convolution (output_padding given) takes no padding string,
    and its output_padding must be smaller than the stride or the dilation."""
    kernel = conv.as_ints(kernel_size, dims, "kernel_size", op, 1)
    stride = conv.as_ints(stride, dims, "stride", op, 1)
    dilation = conv.as_ints(dilation, dims, "dilation", op, 1)
    if not isinstance(padding, str) or output_padding is not None:
        padding = conv.as_ints(padding, dims, "padding", op, 0)
    elif padding not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    elif padding == "same" and max(stride) > 1:
        raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
    extra = () if output_padding is None else conv.as_ints(output_padding, dims, "output_padding", op, 0)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding {extra} must be smaller than "
            f"the stride {stride} or the dilation {dilation}"
        )
    return ConvArgs(kernel, stride, padding, dilation, extra)


def pool_args(
    op: str, dims: int, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1
) -> tuple[tuple[int, ...], ...]:
    """PyTorch's pooling arguments checked, for F's pooling functions at the call and for the
    pooling layers in their constructor (`op` names which): (kernel, stride, padding, dilation)
    as tuples of `dims` ints; stride defaults to the kernel size, padding is at most half of it."""
    kernel = conv.as_ints(kernel_size, dims, "kernel_size", op, 1)
    stride = kernel if stride is None else conv.as_ints(stride, dims, "stride", op, 1)
    dilation = conv.as_ints(dilation, dims, "dilation", op, 1)
    pads = conv.as_ints(padding, dims, "padding", op, 0)
    if any(2 * p > k for p, k in zip(pads, kernel)):
        raise ValueError(f"{op}: padding {pads} must be at most half the kernel size {kernel}")
    return kernel, stride, pads, dilation


def adaptive_size(op: str, output_size: Any, size: tuple[int, ...] = (1, 1)) -> tuple[int, int]:
    """Adaptive pooling's output_size checked, for F at the call and the layer in its constructor:
    an int or two, each at least 1, or None to keep that axis's `size` (the input's)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) == 2:
        sizes = tuple(n if o is None else o for o, n in zip(sizes, size))
    return conv.as_ints(sizes, 2, "output_size", op, 1)
