"""The rest of PyTorch's Tensor methods: named ops (`x.exp()`, `x.sum(dim)`), shape ops
(`x.reshape`, `x.permute`), casts and in-place changes: each a thin front that checks its
arguments and calls an op of `ops/` (where each derivative lives).

`core.py` keeps what a reader needs to see how autodiff works: Tensor's data, its arithmetic and
`backward`. The methods here become Tensor's own when this module is imported, which core.py's
last line does (`attach`, at the end of this file), so every Tensor has them; static checkers see
them through `Tensor`'s base class `TensorMethods`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from tinygrad_edu import ops, versions
from tinygrad_edu.axes import Size, as_axis, dims, new_axis, norm_axis, one_axis, shape_args
from tinygrad_edu.core import Tensor, wrap
from tinygrad_edu.dtypes import KIND_RANK
from tinygrad_edu.grad_mode import modes

if TYPE_CHECKING:
    from tinygrad_edu.axes import Shape

Dims = int | tuple[int, ...] | None


class TensorMethods:
    """PyTorch's Tensor methods beyond arithmetic and backward (see the module's docstring)."""

    if TYPE_CHECKING:
        data: np.ndarray
        shape: Shape
        dtype: np.dtype
        ndim: int
        _ctx: Any
        _requires_grad: bool

    # ---- conversions ---------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if self._requires_grad:
            # NOTE: numpy functions (np.exp(x), np.maximum(x, 0)) would see a constant array and
            # their result would silently carry no gradient back to x (PyTorch refuses too).
            raise TypeError(
                f"a Tensor of shape {self.shape} that requires grad cannot become a numpy array "
                "implicitly: the gradient would stop there. Use the Tensor's own ops (x.exp(), "
                "x.relu()), or take the values explicitly with x.numpy() or x.detach()"
            )
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def size(self, dim: int | None = None) -> Size | int:
        """The shape (`size()`, a tuple) or the length of one dimension (`size(d)`), as PyTorch's."""
        if dim is None:
            return Size(self.data.shape)
        if self.ndim == 0:
            raise IndexError(f"size: a 0-d tensor has no dimension {dim}")
        return self.data.shape[one_axis(dim, self.ndim, "size")]

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def dim(self) -> int:
        """The number of dimensions (as `ndim`)."""
        return self.data.ndim

    def astype(self, dtype: Any) -> Tensor:
        """A constant copy in another dtype (cut from the graph, like numpy's astype)."""
        return Tensor(self.data.astype(dtype))

    # In place: `x -= y` changes x's array, as in PyTorch (on a recorded tensor, it records a new
    # one). NOTE: without these, Python would run `x = x - y`, and the update loop
    # `for p in params: p -= lr * p.grad` would silently leave the model as it was.
    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, np.add, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, np.subtract, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, np.multiply, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, np.true_divide, Tensor.__truediv__)

    def _inplace(self, other: Any, ufunc: np.ufunc, op: Any) -> Tensor:
        if modes.enabled and (self._requires_grad or getattr(other, "_requires_grad", False)):
            if self._ctx is None and self._requires_grad:
                raise RuntimeError(
                    f"{ufunc.__name__} in place: a leaf tensor of shape {self.shape} that requires grad "
                    "cannot be changed in place while the graph is recorded; update parameters "
                    "inside `with tg.no_grad():`"
                )
            out = op(self, other)  # recorded as a new tensor, which the name now refers to
            return out if out.dtype == self.dtype else ops.Cast.apply(out, dtype=self.dtype)
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, value, out=self.data)
        except (TypeError, ValueError) as e:  # numpy's casting and broadcasting errors
            raise (TypeError if isinstance(e, TypeError) else ValueError)(
                f"{ufunc.__name__} in place: tensor of shape {self.shape} and dtype {self.dtype}, "
                f"operand of shape {np.shape(value)}: {e}"
            ) from None
        versions.mark_changed(self)
        return self

    # Comparisons are not differentiable: they return constant bool tensors.
    def _compare(self, other: Any, fn: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(fn(self.data, other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # ---- named ops --------------------------------------------------------------------------
    def add(self, other: Any) -> Tensor:
        return self + other

    def sub(self, other: Any) -> Tensor:
        return self - other

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, other: Any) -> Tensor:
        return self**other

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    # Float-valued functions: integer and bool tensors compute in float32, as in PyTorch.
    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def tan(self) -> Tensor:
        return ops.Tan.apply(self)

    def log2(self) -> Tensor:
        return ops.Log2.apply(self)

    def log10(self) -> Tensor:
        return ops.Log10.apply(self)

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self)

    def exp2(self) -> Tensor:
        return ops.Exp2.apply(self)

    def expm1(self) -> Tensor:
        return ops.Expm1.apply(self)

    def rsqrt(self) -> Tensor:
        return ops.Rsqrt.apply(self)

    def reciprocal(self) -> Tensor:
        """1 / x (in float32 for integer tensors, as `/`)."""
        return 1.0 / float_tensor(self)

    def square(self) -> Tensor:
        return self * self

    # Piecewise constant: zero gradient everywhere (at the jumps too, as in PyTorch).
    def floor(self) -> Tensor:
        return ops.Staircase.apply(self, fn=np.floor)

    def ceil(self) -> Tensor:
        return ops.Staircase.apply(self, fn=np.ceil)

    def trunc(self) -> Tensor:
        return ops.Staircase.apply(self, fn=np.trunc)

    def round(self, decimals: int = 0) -> Tensor:
        """Halves to even (0.5 -> 0, 1.5 -> 2), as PyTorch and numpy."""
        return ops.Staircase.apply(
            self, fn=np.round if decimals == 0 else functools.partial(np.round, decimals=decimals)
        )

    def sign(self) -> Tensor:
        return ops.Staircase.apply(self, fn=np.sign)

    def maximum(self, other: Any) -> Tensor:
        """The elementwise maximum (ties share the gradient equally, as in PyTorch)."""
        return ops.Maximum.apply(self, other)

    def minimum(self, other: Any) -> Tensor:
        """The elementwise minimum (ties share the gradient equally, as in PyTorch)."""
        return ops.Minimum.apply(self, other)

    # ---- reductions: PyTorch's dim/keepdim, or numpy's axis/keepdims ---------------------------
    def sum(
        self, dim: Dims = None, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None
    ) -> Tensor:
        dim, keepdim = dims("sum", dim, axis, keepdim, keepdims)
        # NOTE: a sum of bools or small unsigned ints would overflow (numpy sums uint8 in uint64):
        # PyTorch sums every integer kind in int64.
        x = self if self.data.dtype.kind in "fi" else wrap(self.data.astype(np.int64))
        return ops.Sum.apply(x, axis=norm_axis(dim, self.ndim, "sum"), keepdims=keepdim)

    def mean(
        self, dim: Dims = None, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None
    ) -> Tensor:
        dim, keepdim = dims("mean", dim, axis, keepdim, keepdims)
        axes = norm_axis(dim, self.ndim, "mean")
        count = math.prod([self.shape[a] for a in axes])
        return self._floating("mean").sum(axes, keepdim) * (1.0 / count if count else np.nan)  # empty: NaN

    def var(
        self,
        dim: Dims = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        axis: Dims = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Σ (x - mean)² / (N - correction): the unbiased variance (correction=1) by default, as
        PyTorch's; `unbiased=False` is correction=0. N - correction <= 0 gives inf (or NaN)."""
        return self._variance("var", dim, unbiased, keepdim, correction, axis, keepdims)

    def std(
        self,
        dim: Dims = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        axis: Dims = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """sqrt(var), with var's arguments and defaults."""
        return self._variance("std", dim, unbiased, keepdim, correction, axis, keepdims).sqrt()

    def _variance(
        self, op: str, dim: Any, unbiased: Any, keepdim: bool, correction: Any, axis: Any, keepdims: Any
    ):
        dim, keepdim = dims(op, dim, axis, keepdim, keepdims)
        if unbiased is not None and correction is not None:
            raise TypeError(f"{op}: got both unbiased and correction; pass one")
        correction = (1 if unbiased in (None, True) else 0) if correction is None else correction
        axes = norm_axis(dim, self.ndim, op)
        x = self._floating(op)
        d = x - x.mean(axes, keepdim=True)
        dof = math.prod([self.shape[a] for a in axes]) - correction
        if dof > 0:
            return (d * d).sum(axes, keepdim) * (1.0 / dof)
        with np.errstate(invalid="ignore"):  # 0 * inf: no spread to divide, as PyTorch's NaN
            return (d * d).sum(axes, keepdim) * np.inf

    def norm(
        self,
        p: float | str = "fro",
        dim: Dims = None,
        keepdim: bool = False,
        *,
        axis: Dims = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """(Σ |x|^p)^(1/p) over `dim` (all elements by default): p=2 ("fro"), 1, any p > 0, inf
        (max |x|) or -inf (min |x|). The gradient at x = 0 is 0, as in PyTorch."""
        dim, keepdim = dims("norm", dim, axis, keepdim, keepdims)
        p = 2.0 if p == "fro" else p
        if (
            isinstance(p, (str, bool))
            or not isinstance(p, (int, float, np.number))
            or not (p > 0 or np.isinf(p))
        ):
            raise ValueError(f"norm: p must be a number > 0, 'fro', inf or -inf, got {p!r}")
        axes = norm_axis(dim, self.ndim, "norm")
        x = self._floating("norm")
        if np.isinf(p):
            return x.abs().amax(axes, keepdim) if p > 0 else x.abs().amin(axes, keepdim)
        return ops.Norm.apply(x, p=float(p), axis=axes, keepdims=keepdim)

    def max(
        self, dim: Any = None, keepdim: bool = False, *, axis: int | None = None, keepdims: bool | None = None
    ) -> Tensor | ValuesIndices:
        """max(): the largest element. max(dim): (values, indices) along `dim`, the index of the
        first maximum, as PyTorch's (its gradient goes to that element). max(other): `maximum`.
        For the largest over several dims with ties sharing the gradient, see `amax`."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        dim, keepdim = dims("max", dim, axis, keepdim, keepdims)
        if dim is None:  # (numpy's keepdims=True keeps every dim, as 1)
            return ops.Max.apply(self, axis=norm_axis(None, self.ndim, "max"), keepdims=keepdim)
        return self._along("max", dim, keepdim, np.argmax)

    def min(
        self, dim: Any = None, keepdim: bool = False, *, axis: int | None = None, keepdims: bool | None = None
    ) -> Tensor | ValuesIndices:
        """min(): the smallest element; min(dim): (values, indices); min(other): `minimum`."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        dim, keepdim = dims("min", dim, axis, keepdim, keepdims)
        if dim is None:
            return ops.Min.apply(self, axis=norm_axis(None, self.ndim, "min"), keepdims=keepdim)
        return self._along("min", dim, keepdim, np.argmin)

    def _along(self, op: str, dim: Any, keepdim: bool, arg: Any) -> ValuesIndices:
        """max(dim)/min(dim): the index `arg` picks along one dim, and the values there (a gather)."""
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{op}: dim must be one int for (values, indices); amax/amin take several")
        x = self.reshape(1) if self.ndim == 0 else self
        d = one_axis(dim, self.ndim, op)
        if x.shape[d] == 0:
            raise ValueError(f"{op}: dim {dim} of input of shape {self.shape} is empty: no {op}imum")
        idx = arg(x.data, axis=d, keepdims=True)
        values = x.gather(d, idx)
        if not keepdim or self.ndim == 0:  # a 0-d input gives 0-d results, as in PyTorch
            values, idx = values.squeeze(d), idx.squeeze(d)
        return ValuesIndices(values, wrap(idx.astype(np.int64)))

    def amax(
        self, dim: Dims = None, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None
    ) -> Tensor:
        """The largest element over one or several dims (all by default); tied maxima share the
        gradient equally, as PyTorch's amax."""
        dim, keepdim = dims("amax", dim, axis, keepdim, keepdims)
        return ops.Max.apply(self, axis=norm_axis(dim, self.ndim, "amax"), keepdims=keepdim)

    def amin(
        self, dim: Dims = None, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None
    ) -> Tensor:
        """The smallest element over one or several dims; tied minima share the gradient equally."""
        dim, keepdim = dims("amin", dim, axis, keepdim, keepdims)
        return ops.Min.apply(self, axis=norm_axis(dim, self.ndim, "amin"), keepdims=keepdim)

    def argmax(
        self,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """The index (int64) of the first maximum along `dim`, or in the flattened tensor."""
        return self._arg("argmax", np.argmax, dim, keepdim, axis, keepdims)

    def argmin(
        self,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """The index (int64) of the first minimum along `dim`, or in the flattened tensor."""
        return self._arg("argmin", np.argmin, dim, keepdim, axis, keepdims)

    def _arg(self, op: str, fn: Any, dim: Any, keepdim: bool, axis: Any, keepdims: Any) -> Tensor:
        dim, keepdim = dims(op, dim, axis, keepdim, keepdims)
        if self.numel() == 0:
            raise ValueError(f"{op}: input of shape {self.shape} is empty")
        if dim is None:  # the flat index; keepdim keeps every dim, as 1
            idx = np.asarray(fn(self.data)).reshape((1,) * self.ndim if keepdim else ())
        else:
            d = one_axis(dim, self.ndim, op)
            idx = fn(self.data, axis=d, keepdims=keepdim) if self.ndim else np.asarray(0)
        return wrap(idx.astype(np.int64))

    def cumsum(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Running sums along `dim` (integers and bools sum in int64, as in PyTorch)."""
        dim, _ = dims("cumsum", dim, axis)
        if dim is None:
            raise TypeError("cumsum: needs dim")
        if self.ndim == 0:
            return self.reshape(1).cumsum(dim).reshape(())
        return ops.CumSum.apply(self, axis=one_axis(dim, self.ndim, "cumsum"))

    def softmax(self, dim: int = -1, *, axis: int | None = None) -> Tensor:
        dim, _ = dims("softmax", dim, axis, default=-1)
        return ops.Softmax.apply(self, axis=one_axis(dim, self.ndim, "softmax"))

    def log_softmax(self, dim: int = -1, *, axis: int | None = None) -> Tensor:
        dim, _ = dims("log_softmax", dim, axis, default=-1)
        return ops.LogSoftmax.apply(self, axis=one_axis(dim, self.ndim, "log_softmax"))

    def logsumexp(
        self, dim: Dims = -1, keepdim: bool = False, *, axis: Dims = None, keepdims: bool | None = None
    ) -> Tensor:
        """log Σ exp(x) over `dim` (None: all), without overflow; derivative softmax(x).
        Over an empty dim it is log 0 = -inf, as in PyTorch."""
        dim, keepdim = dims("logsumexp", dim, axis, keepdim, keepdims, default=-1)
        axes = norm_axis(dim, self.ndim, "logsumexp")
        x = float_tensor(self)
        # NOTE: the shift m is a constant (detached): the result does not depend on it. An infinite
        # max (or the max of nothing) is not shifted away (inf - inf is NaN): with m = 0 there,
        # the result is -inf or inf.
        m = np.max(x.data, axis=axes, keepdims=True, initial=-np.inf)
        m = wrap(np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False))
        with np.errstate(divide="ignore"):  # log 0 = -inf is the answer for an empty dim
            out = (x - m).exp().sum(axes, keepdim=True).log() + m
        return out if keepdim else out.squeeze(axes)

    def _floating(self, op: str) -> Tensor:
        """self, refused unless floating-point (PyTorch refuses mean, var, std and norm of integers)."""
        if self.data.dtype.kind != "f":
            raise TypeError(
                f"{op}: input of dtype {self.dtype} is not floating-point; convert it first with x.float()"
            )
        return self

    # ---- shape ops ----------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, shape=shape_args(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge the axes start_dim..end_dim (both included) into one, as `torch.flatten`."""
        ends = [norm_axis(a, self.ndim, "flatten") for a in (start_dim, end_dim)]
        if self.ndim == 0:  # its dims may be 0 or -1, and it flattens to one element
            return self.reshape((1,))
        (start,), (end,) = ends
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} is after end_dim {end_dim}, shape {self.shape}")
        merged = int(np.prod(self.shape[start : end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def permute(self, *axes: Any) -> Tensor:
        """The axes in a new order, e.g. `x.permute(2, 0, 1)`; negative axes count from the end."""
        axes = shape_args(axes)
        order = tuple([a + self.ndim if a < 0 else a for a in [as_axis(a, "permute") for a in axes]])
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not an order of the axes of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=order)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two axes (PyTorch's meaning; `permute` takes a full order)."""
        order = list(range(self.ndim))
        swap = norm_axis(dim0, self.ndim, "transpose") + norm_axis(dim1, self.ndim, "transpose")
        if swap:  # a 0-d tensor has no axes to swap
            a, b = swap
            order[a], order[b] = order[b], order[a]
        return self.permute(order)

    def t(self) -> Tensor:
        """The transpose of a matrix; 0-d and 1-D tensors as they are (PyTorch's t())."""
        if self.ndim > 2:
            raise ValueError(
                f"t: expects a tensor of at most 2 dimensions, got shape {self.shape} (use transpose)"
            )
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        """All axes reversed (numpy's meaning): the matrix transpose for 2-D tensors."""
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    def unsqueeze(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Insert an axis of length 1 at `dim` (counted in the result, so -1 appends one)."""
        dim, _ = dims("unsqueeze", dim, axis)
        if dim is None:
            raise TypeError("unsqueeze: needs dim")
        dim = new_axis(dim, self.shape, "unsqueeze")
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: Dims = None, *, axis: Dims = None) -> Tensor:
        """Drop the axes of length 1 (all of them, or those among `dim`; as in PyTorch, a dim
        given whose length is not 1 is left as it is)."""
        dim, _ = dims("squeeze", dim, axis)
        axes = norm_axis(dim, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if n != 1 or i not in axes))

    def flip(self, *args: Any, dims: Any = None) -> Tensor:
        """The elements in reverse order along each of `dims` (a copy, as PyTorch's):
        `x.flip(0, 1)` or `x.flip(dims=(0, 1))`."""
        axes = shape_args(args) if args else dims
        if axes is None:
            raise TypeError("flip: needs dims")
        return ops.Flip.apply(self, axes=norm_axis(axes, self.ndim, "flip"))

    def expand(self, *sizes: Any) -> Tensor:
        """A broadcast view to `sizes` (-1 keeps a dim; new dims go in front), as PyTorch's."""
        sizes = shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {self.shape}")
        shape = tuple(
            n if s == -1 and i >= lead else s for i, (s, n) in enumerate(zip(sizes, (0,) * lead + self.shape))
        )
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(
                f"expand: a tensor of shape {self.shape} cannot be expanded to {sizes}"
            ) from None
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """The tensor tiled `sizes[i]` times along dim i (numpy's `tile`; new dims go in front).

        Done as one broadcast: (…, n, …) viewed as (…, 1, n, …), expanded to (…, r, n, …) and
        merged into (…, r·n, …), so the gradient (a sum over the copies) comes from Expand."""
        sizes = tuple(as_axis(s, "repeat") for s in shape_args(sizes))
        if len(sizes) < self.ndim:
            raise ValueError(
                f"repeat: {len(sizes)} sizes {sizes} for a tensor of shape {self.shape} (one per dim)"
            )
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        paired = tuple(k for n in shape for k in (1, n))
        copies = tuple(k for r, n in zip(sizes, shape) for k in (r, n))
        return self.reshape(paired).expand(copies).reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def tile(self, *sizes: Any) -> Tensor:
        """`repeat`, with fewer sizes than dims allowed (the leading dims are repeated once)."""
        sizes = shape_args(sizes)
        return self.repeat((1,) * (self.ndim - len(sizes)) + tuple(sizes))

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along `dim`: of `split_size` each (the last may be smaller), or of the sizes listed."""
        d = one_axis(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [as_axis(s, "split") for s in split_size_or_sections]
            if sum(sizes) != n or min(sizes, default=0) < 0:
                raise ValueError(f"split: sizes {sizes} do not add up to dim {dim} of shape {self.shape}")
        else:
            size = as_axis(split_size_or_sections, "split")
            if size <= 0:
                raise ValueError(f"split: split_size must be positive, got {size}")
            sizes = [min(size, n - start) for start in range(0, n, size)] or [0]
        starts = np.cumsum([0, *sizes[:-1]])
        return tuple(self[(slice(None),) * d + (slice(a, a + k),)] for a, k in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """`chunks` pieces along `dim` of ⌈n / chunks⌉ each (fewer if that covers n), as PyTorch's."""
        chunks = as_axis(chunks, "chunk")
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[one_axis(dim, self.ndim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle (on and below `diagonal`) of the last two dims; zeros elsewhere."""
        return self._triangle(
            "tril", np.tri(*self.shape[-2:], diagonal, dtype=bool) if self.ndim >= 2 else None
        )

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle (on and above `diagonal`) of the last two dims; zeros elsewhere."""
        return self._triangle(
            "triu", ~np.tri(*self.shape[-2:], diagonal - 1, dtype=bool) if self.ndim >= 2 else None
        )

    def _triangle(self, op: str, keep: np.ndarray | None) -> Tensor:
        if keep is None:
            raise ValueError(f"{op}: needs at least 2 dims, got shape {self.shape}")
        # NOTE: a where, not a product with the mask: inf * 0 would put NaNs in the zeroed part.
        return ops.Where.apply(self, np.zeros((), self.dtype), cond=keep)

    def gather(self, dim: int, index: Any) -> Tensor:
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim = 0 (and so on), as PyTorch's: `index`
        has self's number of dims and is no longer than self in the others. The gradient adds
        back at the gathered places (repeats sum)."""
        idx = np.asarray(index.data if isinstance(index, Tensor) else index)
        d = one_axis(dim, self.ndim, "gather")
        if self.ndim == 0 and idx.ndim <= 1:  # one element, gathered through a 1-D view
            return self.reshape(1).gather(0, idx.reshape(-1)).reshape(idx.shape)
        if idx.dtype.kind not in "iu" or idx.ndim != self.ndim:
            raise ValueError(
                f"gather: index must be an integer tensor with {self.ndim} dims, got dtype {idx.dtype} "
                f"and shape {idx.shape} (input of shape {self.shape})"
            )
        if any(k > n for i, (k, n) in enumerate(zip(idx.shape, self.shape)) if i != d):
            raise ValueError(
                f"gather: index of shape {idx.shape} is larger than input of shape {self.shape} off dim {d}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[d]):
            raise ValueError(
                f"gather: index values must be in [0, {self.shape[d]}) for dim {dim} of shape {self.shape}"
            )
        grid = list(np.ogrid[tuple(slice(k) for k in idx.shape)])
        grid[d] = idx
        return self[tuple(grid)]

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """`value` where `mask` (bool, broadcastable to self's shape) is True, self elsewhere."""
        m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if m.dtype != bool:
            raise TypeError(f"masked_fill: mask must be bool, got dtype {m.dtype}")
        try:
            fits = np.broadcast_shapes(m.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"masked_fill: mask of shape {m.shape} does not broadcast to input of shape {self.shape}"
            )
        return ops.Where.apply(value, self, cond=m)

    # ---- copies, casts and in-place fills -----------------------------------------------------
    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradient 1): a cast to its own dtype."""
        return ops.Cast.apply(self, dtype=self.dtype)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False) -> Tensor:
        """A cast, as PyTorch's `to(dtype)`, `to(other)`, `to("cpu", dtype)`: differentiable between
        float dtypes; to an integer or bool dtype a constant (integers carry no gradient). "cpu",
        the only device here, changes nothing."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda", "mps"):
                device = a
            else:
                dtype = a
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to: the only device here is 'cpu', got {device!r}")
        if dtype is None:
            return self.clone() if copy else self
        try:
            target = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: {dtype!r} is not a dtype") from None
        if target.kind not in KIND_RANK:
            raise TypeError(f"to: dtype {target} is not a real number type")
        if target == self.dtype and not copy:
            return self
        if target.kind != "f":
            return wrap(self.data.astype(target))
        return ops.Cast.apply(self, dtype=target)

    def type(self, dtype: Any = None) -> Tensor | str:
        """`type(dtype)` casts, as `to`; `type()` names the dtype."""
        return str(self.dtype) if dtype is None else self.to(dtype)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to `value`, in place (refused on a leaf that requires grad while
        recording, as `-=` is)."""
        if modes.enabled and self._requires_grad and self._ctx is None:
            raise RuntimeError(
                f"fill_: a leaf tensor of shape {self.shape} that requires grad cannot be changed in place "
                "while the graph is recorded; do it inside `with tg.no_grad():`"
            )
        try:
            self.data[...] = value.data if isinstance(value, Tensor) else value
        except (TypeError, ValueError, OverflowError) as e:
            raise type(e)(f"fill_: tensor of shape {self.shape} and dtype {self.dtype}: {e}") from None
        versions.mark_changed(self)
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)


class ValuesIndices(NamedTuple):
    """What max(dim) and min(dim) return, as PyTorch's `torch.return_types.max`."""

    values: Tensor
    indices: Tensor


def float_tensor(t: Tensor) -> Tensor:
    """t itself if floating-point, else a float32 copy (a constant: integers carry no gradient)."""
    return t if t.data.dtype.kind == "f" else wrap(t.data.astype(np.float32))


def attach(cls: type) -> None:
    """Make every method of TensorMethods a method of `cls` (Tensor) itself."""
    # NOTE: skipped: what every class has (__dict__, __module__, ...), and `__hash__ = None`, which
    # defining __eq__ gave TensorMethods: Tensor keeps identity hashing.
    bookkeeping = {*vars(type("Empty", (), {})), "__annotations__", "__hash__"}
    for name, method in vars(TensorMethods).items():
        if name in bookkeeping:
            continue
        if name in vars(cls):
            raise RuntimeError(f"Tensor.{name} is defined both in core.py and in tensor_methods.py")
        setattr(cls, name, method)


attach(Tensor)
