"""The PNGs of `examples/mnist_mlp.py --plots DIR`:

    curves.png         training and test loss and accuracy, per epoch (or iteration)
    confusion.png      the test confusion matrix, counts annotated
    misclassified.png  the test digits the network got wrong most confidently
    pca.png            the last hidden layer's representation of the test digits, projected on
                       its first two principal components, coloured by class

and, for `examples/mnist_cnn.py`, two more (`save_conv_plots`):

    filters.png        the first convolution's learned filters, one kernel per output channel
    feature_maps.png   one test digit and what each convolution (after its ReLU) makes of it

Drawn with matplotlib's object-oriented API (a `Figure`, rendered by the Agg backend: no window,
no pyplot state) and written through `tinygrad_edu.fileio.atomic_write`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from tinygrad_edu.fileio import atomic_write

CLASSES = 10
PLOT_FILES = ("curves.png", "confusion.png", "misclassified.png", "pca.png")
CONV_PLOT_FILES = ("filters.png", "feature_maps.png")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """C[i, j] = the number of samples of class i predicted as class j."""
    return np.bincount(classes * y_true + y_pred, minlength=classes * classes).reshape(classes, classes)


@dataclass
class PCA:
    """A plane of principal components: `mean` (D,), `components` (2, D) orthonormal rows, and the
    fraction of the variance that each explains."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def project(self, x: np.ndarray) -> np.ndarray:
        """Coordinates (N, 2) of the rows of x: (x - mean) @ componentsᵀ."""
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.components.T

    def back_project(self, coords: np.ndarray) -> np.ndarray:
        """The points (N, D) of the plane at `coords` (N, 2): mean + coords @ components."""
        return self.mean + coords @ self.components


def principal_plane(x: np.ndarray) -> PCA:
    """The first two principal components of the rows of x (N, D).

    With X = x - mean(x), the principal directions are the eigenvectors of XᵀX of the largest
    eigenvalues λ, and direction k explains λ_k / Σ λ of the variance. (XᵀX is D × D: for the
    60,000 MNIST images its eigendecomposition takes 1.5 s where the SVD of X takes 14 s.)
    """
    xc = np.array(x, dtype=np.float64)
    mean = xc.mean(axis=0)
    xc -= mean
    eigvals, eigvecs = np.linalg.eigh(xc.T @ xc)  # ascending
    # NOTE: rounding leaves null eigenvalues at ±1e-12 rather than 0: clipped, none counts as negative.
    eigvals = np.clip(eigvals[::-1], 0.0, None)
    k = min(2, len(eigvals))
    components, explained = np.zeros((2, xc.shape[1])), np.zeros(2)
    components[:k] = eigvecs[:, ::-1][:, :k].T
    explained[:k] = eigvals[:k] / max(float(eigvals.sum()), np.finfo(float).tiny)
    return PCA(mean, components, explained)


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates (N, 2) on the first two principal components, fraction of variance of each)."""
    pca = principal_plane(x)
    return pca.project(x), pca.explained


def save_plots(
    out_dir: str | os.PathLike,
    history: Any,
    unit: str,
    probs: np.ndarray,
    labels: np.ndarray,
    images: np.ndarray,
    features: np.ndarray,
) -> list[Path]:
    """Write the four PNGs into `out_dir` (created if needed); return their paths.

    `history` has lists epoch, train_loss, train_acc, test_loss, test_acc (`unit` names the
    x axis); `probs` (N, 10) are the network's outputs on the N test `images` (uint8, 28×28)
    with true `labels`; `features` (N, H) their last hidden layer's activations.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pred = probs.argmax(axis=1)
    figures = (
        _curves(history, unit),
        _confusion(confusion_matrix(labels, pred)),
        _misclassified(images, labels, pred, probs),
        _pca(features, labels),
    )
    return _write(out, figures, PLOT_FILES)


def save_conv_plots(
    out_dir: str | os.PathLike,
    filters: np.ndarray,
    image: np.ndarray,
    label: int,
    maps: list[tuple[str, np.ndarray]],
) -> list[Path]:
    """Write filters.png and feature_maps.png into `out_dir`; return their paths.

    `filters` (C, kH, kW) are the first convolution's kernels (its one input channel); `maps`
    the (name, (C, H, W) activations) of each convolution for the test digit `image` (uint8,
    28×28) of class `label`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _write(out, (_filters(filters), _feature_maps(image, label, maps)), CONV_PLOT_FILES)


def _write(out: Path, figures: tuple[Figure, ...], names: tuple[str, ...]) -> list[Path]:
    paths = [out / name for name in names]
    for fig, path in zip(figures, paths):
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=110)
    return paths


def _curves(h: Any, unit: str) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    for ax, (train, test), ylabel in (
        (loss_ax, (h.train_loss, h.test_loss), "loss"),
        (acc_ax, (100 * np.array(h.train_acc), 100 * np.array(h.test_acc)), "accuracy (%)"),
    ):
        ax.plot(h.epoch, train, label="train (running, during training)", color="tab:blue")
        ax.plot(h.epoch, test, label="test", color="tab:orange")
        ax.set(xlabel=unit, ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    loss_ax.set_ylim(bottom=0)
    loss_ax.set_title("loss")
    acc_ax.set_title(
        f"accuracy (last epoch: train {h.train_acc[-1]:.2%} while training, test {h.test_acc[-1]:.2%})"
    )
    if len(h.epoch) <= 30:
        for ax in (loss_ax, acc_ax):
            ax.set_xticks(h.epoch if len(h.epoch) <= 15 else h.epoch[::2])
    return fig


def _confusion(cm: np.ndarray) -> Figure:
    fig = Figure(figsize=(7.2, 6.4), layout="constrained")
    ax = fig.subplots()
    # NOTE: the diagonal holds ~1000 per class and the mistakes a handful: a log colour scale
    # keeps the mistakes visible (cells with 0 are left white).
    masked = np.ma.masked_equal(cm, 0)
    image = ax.imshow(masked, cmap="Blues", norm=LogNorm(vmin=1, vmax=max(int(cm.max()), 2)))
    fig.colorbar(image, ax=ax, label="count (log scale)")
    threshold = np.sqrt(max(int(cm.max()), 1))
    for (i, j), count in np.ndenumerate(cm):
        color = "white" if count > threshold else ("black" if count else "lightgray")
        ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=8)
    ticks = range(len(cm))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true")
    errors = int(cm.sum() - np.trace(cm))
    ax.set_title(f"test confusion matrix: {errors:,} errors in {int(cm.sum()):,} digits")
    return fig


def _misclassified(images: np.ndarray, labels: np.ndarray, pred: np.ndarray, probs: np.ndarray) -> Figure:
    rows, cols = 4, 8
    wrong = np.flatnonzero(pred != labels)
    confidence = probs[wrong, pred[wrong]]
    worst = wrong[np.argsort(-confidence, kind="stable")][: rows * cols]
    fig = Figure(figsize=(12, 7.2), layout="constrained")
    axes = fig.subplots(rows, cols).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, i in zip(axes, worst):
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"true {labels[i]}, predicted {pred[i]}\nconfidence {probs[i, pred[i]]:.1%}", fontsize=9)
    if not len(wrong):
        axes[0].text(0, 0.5, "no test digit is misclassified", fontsize=14)
    fig.suptitle(
        f"the {len(worst)} most confidently misclassified test digits ({len(wrong):,} errors in total)"
    )
    return fig


def _pca(features: np.ndarray, labels: np.ndarray, max_points: int = 4000) -> Figure:
    coords, explained = pca_2d(features)
    # NOTE: the components come from every digit; only the scatter is thinned, so it stays legible.
    show = np.random.default_rng(0).permutation(len(coords))[:max_points]
    fig = Figure(figsize=(8, 6.8), layout="constrained")
    ax = fig.subplots()
    colors = [f"C{k}" for k in range(CLASSES)]
    for k in range(CLASSES):
        idx = show[labels[show] == k]
        ax.scatter(coords[idx, 0], coords[idx, 1], s=5, alpha=0.6, color=colors[k], label=str(k))
    ax.legend(title="digit", markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set(xlabel=f"PC 1 ({explained[0]:.0%} of the variance)", ylabel=f"PC 2 ({explained[1]:.0%})")
    units = f"{features.shape[1]} units"
    ax.set_title(f"last hidden layer ({units}) of {len(show):,} test digits: first two principal components")
    ax.grid(alpha=0.3)
    return fig


def _grid(fig: Any, count: int, max_cols: int = 8) -> np.ndarray:
    """`count` image axes in rows of at most `max_cols`, without ticks (the unused ones hidden)."""
    cols = min(count, max_cols)
    axes = np.atleast_1d(fig.subplots(-(-count // cols), cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    return axes[:count]


def _filters(w: np.ndarray) -> Figure:
    cols = min(len(w), 8)
    fig = Figure(figsize=(1.5 * cols, 1.6 * -(-len(w) // cols) + 0.6), layout="constrained")
    # NOTE: one colour scale for all, symmetric about 0: a filter's sign and size compare across
    # the grid, and white means a weight of 0 (red excites, blue inhibits).
    bound = max(float(np.abs(w).max()), np.finfo(np.float32).tiny)
    for k, (ax, kernel) in enumerate(zip(_grid(fig, len(w)), w)):
        image = ax.imshow(kernel, cmap="RdBu_r", vmin=-bound, vmax=bound)
        ax.set_title(f"filter {k}", fontsize=9)
    fig.colorbar(image, ax=fig.axes, shrink=0.8, label="weight")
    fig.suptitle(f"the first convolution's {len(w)} learned {w.shape[1]}×{w.shape[2]} filters")
    return fig


def _feature_maps(image: np.ndarray, label: int, maps: list[tuple[str, np.ndarray]]) -> Figure:
    rows = [-(-len(m) // 8) for _, m in maps]
    fig = Figure(figsize=(12, 1.6 * (sum(rows) + 2)), layout="constrained")
    parts = fig.subfigures(len(maps) + 1, 1, height_ratios=[2, *rows])
    ax = parts[0].subplots()
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
    ax.set_axis_off()
    parts[0].suptitle(f"a test digit (a {label})")
    for part, (name, m) in zip(parts[1:], maps):
        # NOTE: each map on its own scale (after a ReLU, 0 is white): the maps' ranges differ by
        # orders of magnitude, and one shared scale would leave most of them blank.
        for k, (ax, fmap) in enumerate(zip(_grid(part, len(m)), m)):
            ax.imshow(fmap, cmap="gray_r", vmin=0, vmax=max(float(fmap.max()), np.finfo(np.float32).tiny))
            ax.set_title(f"{k}", fontsize=8)
        part.suptitle(f"{name}: {len(m)} maps of {m.shape[1]}×{m.shape[2]}")
    return fig
