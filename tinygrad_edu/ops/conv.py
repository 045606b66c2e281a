"""Convolution, pooling and padding ops: each forward next to its vector-Jacobian product.

Everything here slides a window over the last two axes of an (N, C, H, W) array. `Window.patches`
is a read-only view of every window (no copy), and `Window.scatter` is its adjoint: it adds each
window's values back to the positions they came from (col2im). `Window.taps` sees the same numbers
the other way round, one strided view per kernel tap holding that tap of every window: the pools
work on these, kH·kW elementwise steps over the whole batch. The ops come in adjoint pairs, so
every backward is another op of this module and higher derivatives come for free:

    Conv2d        y = W ⋆ x                  backward: ConvTranspose2d (dx), ConvWeightGrad (dW)
    ConvTranspose2d   the adjoint of Conv2d in x   backward: Conv2d, ConvWeightGrad
    ConvWeightGrad    the adjoint of Conv2d in W   backward: ConvTranspose2d, Conv2d
    MaxPool2d / Pick  each window's element at a known position   backward: Place (its adjoint)
    WindowSum         each window's sum (average pooling, before the division)   backward: Spread
    Pad               constant padding (negative crops)   backward: Pad with the widths negated

Conventions as in the other op modules: `x` input, `w` weight, `g` upstream gradient dL/d(out).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinygrad_edu.core import Function
from tinygrad_edu.parallel import concurrently, parallel_for

Pair = tuple[int, int]


def pad_array(a: np.ndarray, widths: tuple[Pair, ...], value: float = 0.0) -> np.ndarray:
    """`a` with widths[i] = (before, after) elements of `value` added to its last len(widths) axes.

    A negative width removes that many elements instead (a crop); a crop alone returns a view.
    """
    lead = a.ndim - len(widths)
    crop = tuple(slice(max(-b, 0), a.shape[lead + i] - max(-e, 0)) for i, (b, e) in enumerate(widths))
    a = a[(..., *crop)]
    if all(b <= 0 and e <= 0 for b, e in widths):
        return a
    shape = a.shape[:lead] + tuple(n + max(b, 0) + max(e, 0) for n, (b, e) in zip(a.shape[lead:], widths))
    out = np.full(shape, value, dtype=a.dtype)
    out[(..., *(slice(max(b, 0), max(b, 0) + n) for n, (b, _) in zip(a.shape[lead:], widths)))] = a
    return out


@dataclass(frozen=True)
class Window:
    """How a kH×kW window slides over the last two axes: by `stride`, with its taps `dilation`
    apart, after `padding` = ((top, bottom), (left, right)) was added (negative widths crop)."""

    kernel: Pair
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    padding: tuple[Pair, Pair] = ((0, 0), (0, 0))

    @property
    def span(self) -> Pair:
        """The extent the dilated window covers: d (k - 1) + 1 along each axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def padded_size(self, size: Pair) -> Pair:
        return tuple(n + b + e for n, (b, e) in zip(size, self.padding))

    def out_size(self, size: Pair) -> Pair:
        """Number of window positions along each axis: ⌊(padded size - span) / stride⌋ + 1."""
        return tuple((p - e) // s + 1 for p, e, s in zip(self.padded_size(size), self.span, self.stride))

    @property
    def tiles(self) -> bool:
        """Whether the windows lie side by side, without gaps or overlap: stride = kernel, no
        dilation, no padding (rows and columns after the last window are cropped, not padded)."""
        no_padding = all(b == 0 and e <= 0 for b, e in self.padding)
        return self.stride == self.kernel and self.dilation == (1, 1) and no_padding

    def taps(self, padded: np.ndarray) -> list[np.ndarray]:
        """The kH·kW strided views of an array of the padded size, one per kernel tap in row-major
        order: view (i, j) holds tap (i, j) of every window, shaped (..., OH, OW). No copy."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        oh, ow = ((p - e) // s + 1 for p, e, s in zip(padded.shape[-2:], self.span, self.stride))
        return [
            padded[..., i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw]
            for i in range(kh)
            for j in range(kw)
        ]

    def patches(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        """Every window of the padded x, as a read-only view of shape (N, C, kH, kW, OH, OW)."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        windows = sliding_window_view(pad_array(x, self.padding, value), self.span, axis=(2, 3))
        return windows[:, :, ::sh, ::sw, ::dh, ::dw].transpose(0, 1, 4, 5, 2, 3)

    def scatter(self, cols: np.ndarray, size: Pair) -> np.ndarray:
        """The adjoint of `patches` (col2im): each (N, C, kH, kW, OH, OW) value added back to the
        pixel its window took it from, in an (N, C, *size) array.

        One strided add per kernel tap (kH·kW of them), each covering every window at once, in
        the columns' own memory order. Columns with the batch axis innermost (ConvTranspose2d's)
        are summed in a (C, H, W, N) array, where a tap's windows cover runs of OW·N adjacent
        numbers (for stride 1) rather than runs of OW: numpy pays a fixed cost per run, which
        dominates when runs are short.
        """
        n, c, _, kw = cols.shape[:4]
        padded = self.padded_size(size)
        batch_last = cols.strides[0] < cols.strides[1]
        if batch_last:  # summed in (C, H, W, N) memory, seen as (N, C, H, W)
            out = np.zeros((c, *padded, n), dtype=cols.dtype).transpose(3, 0, 1, 2)
        else:
            out = np.zeros((n, c, *padded), dtype=cols.dtype)
        for t, tap in enumerate(self.taps(out)):
            tap += cols[:, :, t // kw, t % kw]
        out = pad_array(out, tuple((-b, -e) for b, e in self.padding))
        # NOTE: batch-last sums are copied back to (N, C, H, W) memory, where the ops after them run faster
        return np.ascontiguousarray(out) if batch_last else out


def im2col(x: np.ndarray, win: Window, groups: int, out: np.ndarray | None = None) -> np.ndarray:
    """The patches of x as one (N, groups, C/groups·kH·kW, OH·OW) array (written into `out` if
    given): a matrix per group, so that a convolution is a single matrix product with the weight.
    This is the copy."""
    p = win.patches(x)
    n, oh, ow = p.shape[0], p.shape[-2], p.shape[-1]
    if out is None:
        out = np.empty((n, groups, p[0].size // (groups * oh * ow), oh * ow), dtype=x.dtype)
    np.copyto(out.reshape(p.shape), p)
    return out


def _grouped(w: np.ndarray, groups: int) -> np.ndarray:
    """The weight (C_out, C_in/groups, kH, kW) as one (C_out/groups, C_in/groups·kH·kW) matrix per group."""
    return w.reshape(groups, w.shape[0] // groups, -1)


# ---- convolution ---------------------------------------------------------------------------------
class Conv2d(Function):
    """y[n, o] = Σ_{c, i, j} W[o, c, i, j] · x_padded[n, c, s·h + d·i, s·w + d·j] (+ b[o]): a
    cross-correlation, as in every deep-learning library."""

    @staticmethod
    def forward(ctx, x, w, *b, win, groups):
        ctx.win, ctx.groups = win, groups
        # NOTE: the patch matrix is kept for the weight's gradient, which needs exactly it again.
        n, oh_ow, wg = x.shape[0], win.out_size(x.shape[2:]), _grouped(w, groups)
        ctx.cols = cols = np.empty((n, groups, wg.shape[2], math.prod(oh_ow)), dtype=x.dtype)
        y = np.empty((n, groups, wg.shape[1], cols.shape[3]), dtype=np.result_type(x, w))

        def part(s: slice) -> None:  # NOTE: a part's columns are multiplied while still in cache
            np.matmul(wg, im2col(x[s], win, groups, out=cols[s]), out=y[s])
            if b:
                y[s] += b[0].reshape(groups, -1, 1)

        parallel_for(n, part, cols.size)
        return y.reshape(n, w.shape[0], *oh_ow)

    @staticmethod
    def backward(ctx, g):
        """dL/dx = conv_transpose2d(g, W), dL/dW = (x ⋆ g) summed over the batch, dL/db = Σ_{n,h,w} g.

        y is linear in x: y = A_W x, where A_W gathers the patches and multiplies them by W. The
        gradient of ⟨g, A_W x⟩ in x is A_Wᵀ g, and A_Wᵀ is by definition the transposed
        convolution with the same W, stride, padding and dilation: it multiplies g by Wᵀ and
        scatters each column back to its window's pixels. y is linear in W too:
        y[n, o, h, w] = Σ_k W[o, k] P[n, k, (h, w)] with P the patch matrix, so
        dL/dW[o, k] = Σ_{n, h, w} g[n, o, h, w] P[n, k, (h, w)]: the correlation of x with g.
        """
        x, w = ctx.inputs[:2]
        needs = ctx.needs_input_grad
        kw, cols = {"win": ctx.win, "groups": ctx.groups}, ctx.cols
        gx, gw = concurrently(  # NOTE: independent products: on two threads, when there are two
            (lambda: ConvTranspose2d.apply(g, w, size=x.shape[2:], **kw)) if needs[0] else None,
            (lambda: ConvWeightGrad.apply(x, g, kernel=w.shape[2:], cols=cols, **kw)) if needs[1] else None,
        )
        gb = (g.sum((0, 2, 3)),) if len(needs) == 3 and needs[2] else (None,) * (len(needs) - 2)
        return (gx, gw, *gb)


class ConvTranspose2d(Function):
    """The adjoint of Conv2d in its input: g (N, C_out, OH, OW) ↦ (N, C_in, *size), i.e. Wᵀ times
    each column, scattered back onto the windows' pixels (+ b per output channel)."""

    @staticmethod
    def forward(ctx, g, w, *b, win, groups, size):
        ctx.win, ctx.groups = win, groups
        n, _, oh, ow = g.shape
        # NOTE: the batch axis goes last (a copy of g): one product for the whole batch, whose
        # columns come out in the layout the scatter sums fastest (see Window.scatter).
        g_last = g.transpose(1, 2, 3, 0).reshape(groups, -1, oh * ow * n)
        cols = _grouped(w, groups).transpose(0, 2, 1) @ g_last
        x = win.scatter(cols.reshape(-1, *win.kernel, oh, ow, n).transpose(5, 0, 1, 2, 3, 4), size)
        if b:
            x = x + b[0].reshape(-1, 1, 1)
        return x

    @staticmethod
    def backward(ctx, gx):
        """d/dg = conv2d(gx, W), d/dW = ConvWeightGrad(gx, g), d/db = Σ_{n,h,w} gx.

        ⟨gx, A_Wᵀ g⟩ = ⟨A_W gx, g⟩: in g this is the convolution of gx; in W it is the same
        bilinear form as a convolution's weight gradient, with gx as input and g as upstream.
        """
        g, w = ctx.inputs[:2]
        needs = ctx.needs_input_grad
        kw = {"win": ctx.win, "groups": ctx.groups}
        dg, dw = concurrently(
            (lambda: Conv2d.apply(gx, w, **kw)) if needs[0] else None,
            (lambda: ConvWeightGrad.apply(gx, g, kernel=w.shape[2:], **kw)) if needs[1] else None,
        )
        db = (gx.sum((0, 2, 3)),) if len(needs) == 3 and needs[2] else (None,) * (len(needs) - 2)
        return (dg, dw, *db)


class ConvWeightGrad(Function):
    """The adjoint of Conv2d in its weight: (x, g) ↦ Σ_n g[n] · patches(x[n])ᵀ, of the weight's shape."""

    @staticmethod
    def forward(ctx, x, g, win, groups, kernel, cols=None):
        ctx.win, ctx.groups = win, groups
        n, c_out = g.shape[:2]
        g_t = g.reshape(n, groups, c_out // groups, -1).transpose(0, 1, 3, 2)
        k = x.shape[1] // groups * math.prod(kernel)
        per_image = np.empty((n, groups, k, c_out // groups), dtype=np.result_type(x, g))

        def part(s: slice) -> None:
            # NOTE: patches times gᵀ, then transposed, rather than g times patchesᵀ: the same product,
            # but BLAS then reads the large patch matrix as it lies (~1.8× faster for LeNet's conv2).
            np.matmul(im2col(x[s], win, groups) if cols is None else cols[s], g_t[s], out=per_image[s])

        parallel_for(n, part, n * groups * k * g_t.shape[2])  # the patches' size
        # NOTE: summed over the batch here, in one order whatever the threads: the same bits on any number
        gw_t = per_image.sum(0)
        return gw_t.transpose(0, 2, 1).reshape(c_out, x.shape[1] // groups, *kernel)

    @staticmethod
    def backward(ctx, gw):
        """d/dx = conv_transpose2d(g, gw), d/dg = conv2d(x, gw): the form ⟨gw, x ⋆ g⟩ = ⟨g, gw ⋆ x⟩."""
        x, g = ctx.inputs
        kw, needs = {"win": ctx.win, "groups": ctx.groups}, ctx.needs_input_grad
        return tuple(
            concurrently(
                (lambda: ConvTranspose2d.apply(g, gw, size=x.shape[2:], **kw)) if needs[0] else None,
                (lambda: Conv2d.apply(x, gw, **kw)) if needs[1] else None,
            )
        )


# ---- pooling -------------------------------------------------------------------------------------
def _taps(patches: np.ndarray) -> np.ndarray:
    """Patches (N, C, kH, kW, OH, OW) as (N, C, kH·kW, OH, OW): the window's taps on one axis (a copy)."""
    n, c, kh, kw, oh, ow = patches.shape
    return patches.reshape(n, c, kh * kw, oh, ow)


class Pick(Function):
    """From each window, the element at a given tap (`idx`, row-major in the kernel): the value of
    max-pooling once the argmax is known."""

    @staticmethod
    def forward(ctx, x, win, idx):
        ctx.win, ctx.idx = win, idx
        return np.take_along_axis(_taps(win.patches(x)), idx[:, :, None], axis=2)[:, :, 0]

    @staticmethod
    def backward(ctx, g):
        """d out[n,c,h,w] / dx[pixel] = 1 if the picked tap of window (h, w) is that pixel, else 0."""
        return Place.apply(g, win=ctx.win, idx=ctx.idx, size=ctx.inputs[0].shape[2:])


class Place(Function):
    """The adjoint of Pick: each g put at its window's picked pixel, summed where windows overlap."""

    @staticmethod
    def forward(ctx, g, win, idx, size):
        ctx.win, ctx.idx = win, idx
        # NOTE: g · [tap t is picked] is exact only for finite g (inf · 0 is NaN); others take np.where.
        finite = bool(np.isfinite(g).all())
        # NOTE: windows side by side cover each pixel once, so their taps are written, not added,
        # into an empty array (the rows and columns a crop cut off get zeros below).
        write = win.tiles and finite
        gx = (np.empty if write else np.zeros)((*g.shape[:2], *win.padded_size(size)), dtype=g.dtype)

        def part(s: slice) -> None:
            for t, tap in enumerate(win.taps(gx[s])):
                picked = idx[s] == t
                if write:
                    np.multiply(g[s], picked, out=tap)
                else:
                    tap += g[s] * picked if finite else np.where(picked, g[s], 0)

        parallel_for(len(g), part, gx.size)
        return pad_array(gx, tuple((-b, -e) for b, e in win.padding))

    @staticmethod
    def backward(ctx, gx):
        """Place is linear in g; its adjoint picks gx at the same taps."""
        return Pick.apply(gx, win=ctx.win, idx=ctx.idx)


def max_taps(x: np.ndarray, win: Window) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum, and the tap it is at, by PyTorch's rule: going through the taps in
    row-major order, a tap takes the pick when it is greater than the pick so far or NaN. So the
    first maximum wins among ties, and the LAST NaN among NaNs (torch.max and argmax pick the
    first NaN; max-pooling does not). Padding is -inf, so it is never picked."""
    out = np.empty((*x.shape[:2], *win.out_size(x.shape[2:])), dtype=x.dtype)
    idx = np.zeros(out.shape, dtype=np.min_scalar_type(math.prod(win.kernel)))
    padded = pad_array(x, win.padding, -np.inf)  # a view when it only crops (windows side by side)

    def part(s: slice) -> bool:  # elementwise over the taps' views, no copy of the windows
        taps, m = win.taps(padded[s]), out[s]
        np.copyto(m, taps[0])
        for tap in taps[1:]:
            np.maximum(m, tap, out=m)
        # NOTE: NaN equals nothing, so a window holding one would find no maximum below: such
        # inputs take the path after this one.
        if np.isnan(m).any():
            return False
        found = np.zeros(m.shape, dtype=bool)
        for tap in taps[:-1]:
            found |= tap == m
            idx[s] += ~found  # counts the taps before the first maximum
        return True

    if all(parallel_for(len(x), part, out.size * math.prod(win.kernel))):  # no NaN in any part
        return out, idx
    taps = _taps(win.patches(x, value=-np.inf))
    idx = taps.argmax(axis=2)  # the first maximum, or the first NaN
    out = np.take_along_axis(taps, idx[:, :, None], axis=2)[:, :, 0]
    if np.isnan(out).any():  # some windows hold NaNs: pick the last one, the first from the end
        nans = np.isnan(taps)
        idx = np.where(np.isnan(out), taps.shape[2] - 1 - nans[:, :, ::-1].argmax(axis=2), idx)
    return out, idx


class MaxPool2d(Pick):
    """Each window's maximum; the gradient goes to the tap `max_taps` picked (backward: Pick's)."""

    @staticmethod
    def forward(ctx, x, win):
        out, ctx.idx = max_taps(x, win)
        ctx.win = win
        return out


class WindowSum(Function):
    """Each window's sum (average pooling is this divided by the window's count)."""

    @staticmethod
    def forward(ctx, x, win):
        ctx.win = win
        first, *rest = win.taps(pad_array(x, win.padding))  # a strided view per tap: no copy of the windows
        out = first.copy()
        for tap in rest:
            out += tap
        return out

    @staticmethod
    def backward(ctx, g):
        """d Σ_window x / dx[pixel] = 1 for every window that holds the pixel: g spread over the windows."""
        return Spread.apply(g, win=ctx.win, size=ctx.inputs[0].shape[2:])


class Spread(Function):
    """The adjoint of WindowSum: every tap of each window gets that window's g, summed per pixel."""

    @staticmethod
    def forward(ctx, g, win, size):
        ctx.win = win
        n, c, oh, ow = g.shape
        return win.scatter(np.broadcast_to(g[:, :, None, None], (n, c, *win.kernel, oh, ow)), size)

    @staticmethod
    def backward(ctx, gx):
        """Spread is linear in g; its adjoint sums gx over each window."""
        return WindowSum.apply(gx, win=ctx.win)


# ---- padding -------------------------------------------------------------------------------------
class Pad(Function):
    """Constant padding of the last axes, `widths` = ((before, after), ...) per axis; negative crops."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths, ctx.value = widths, value  # the value for what the graph records (ONNX export)
        return pad_array(x, widths, value)

    @staticmethod
    def backward(ctx, g):
        """Padding copies x into the middle: the adjoint crops g back out (and pads cropped parts
        with zeros), which is padding by the negated widths."""
        return Pad.apply(g, widths=tuple((-b, -e) for b, e in ctx.widths), value=0.0)


def same_padding(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[Pair, ...]:
    """The (before, after) padding per axis that keeps a stride-1 convolution's output the input's size."""
    # NOTE: an odd total d (k - 1) cannot be split evenly; the extra row goes after, as in PyTorch.
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return tuple((t // 2, t - t // 2) for t in totals)


def as_ints(value: Any, n: int, name: str, op: str, low: int | None = None) -> tuple[int, ...]:
    """An int or a sequence of n ints (a kernel size, stride, padding) as a tuple of n Python ints,
    each at least `low` if given; `op` names the function or layer in the error."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    try:
        if len(items) != n or any(isinstance(v, (bool, np.bool_)) for v in items):
            raise TypeError
        values = tuple(operator.index(v) for v in items)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if low is not None and min(values, default=low) < low:
        raise ValueError(f"{op}: {name} must be at least {low}, got {values}")
    return values
