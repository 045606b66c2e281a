"""Plots of the experiments, with matplotlib (the `examples` extra), imported only when drawing.

Each function takes plain data, writes a PNG atomically and returns its path, or returns None
when matplotlib is missing (`MISSING` says how to install it): the experiments still write their
CSV files without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.fileio import atomic_write

MISSING = (
    'matplotlib is not installed: no plot (pip install matplotlib, or the "examples" extra: '
    'pip install -e ".[examples]" in the clone)'
)
Curve = tuple[np.ndarray, np.ndarray]  # (x, y)


def _figure(nrows: int, ncols: int, width: float, height: float) -> tuple[Any, np.ndarray] | None:
    """A matplotlib Figure and its axes (flat), or None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False).ravel()


def _save(fig: Any, path: str | os.PathLike) -> Path:
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100)
    return Path(path)


# ---- the eps sweep (python -m tinygrad_edu.experiments.gradcheck) -------------------------------
_THEORY = """\
Why a V (u = unit round-off:
6.0e-8 in float32, 1.1e-16 in float64)

forward  (f(x+ε) − f(x)) / ε
  error ≈ |f''| ε / 2  +  u |f| / ε
  best ε ≈ √u:  ~1e-4 (f32), ~1e-8 (f64)

central  (f(x+ε) − f(x−ε)) / 2ε
  error ≈ |f'''| ε² / 6  +  u |f| / ε
  best ε ≈ ∛u:  ~1e-3 (f32), ~1e-5 (f64)

Left arm: round-off (slope −1).
Right arm: truncation (slope 1 forward,
2 central). Ops linear in each element
(Add, Mul, MatMul, Sum, ReLU off its
kink, ...) have no truncation error.
Relative error 1: the step vanished
(x + ε == x in that dtype)."""


def _eps_panel(ax: Any, title: str, curves: dict[tuple[str, str], Curve]) -> None:
    color = {"float32": "tab:orange", "float64": "tab:blue"}
    style = {"forward": ("--", "o"), "central": ("-", "s")}
    # NOTE: an error of exactly 0 (e.g. a linear op at a lucky eps) has no place on a log axis;
    # it is drawn at the floor.
    floor = 1e-17
    for (dtype, method), (eps, err) in sorted(curves.items()):
        err = np.maximum(err, floor)
        k = int(np.argmin(err))
        ls, marker = style[method]
        label = f"{dtype} {method}: best ε = {eps[k]:.0e} (error {err[k]:.1e})"
        ax.loglog(eps, err, ls, marker=marker, ms=4, color=color[dtype], label=label)
        ax.loglog(eps[k], err[k], "*", ms=16, color=color[dtype], mec="black", zorder=3)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("ε (finite-difference step)")
    ax.set_ylabel("relative error")
    # The band above 1 (errors never exceed 2) holds the legend, clear of the curves.
    ax.set_ylim(floor / 3, 1e6)
    ax.set_yticks([10.0**k for k in range(-16, 1, 2)])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", framealpha=0.9)


def eps_sweep(panels: dict[str, dict[tuple[str, str], Curve]], path: str | os.PathLike) -> Path | None:
    """Relative error against eps on log-log axes, one panel per {title: {(dtype, method): (eps,
    error)}}, the best eps starred, and a panel with the theory; None without matplotlib."""
    cols = 3 if len(panels) > 2 else len(panels) + 1
    made = _figure(-(-(len(panels) + 1) // cols), cols, 6.0, 4.6)
    if made is None:
        return None
    fig, axes = made
    for ax, (title, curves) in zip(axes, panels.items()):
        _eps_panel(ax, title, curves)
    axes[len(panels)].text(0.02, 0.98, _THEORY, va="top", family="monospace", fontsize=9)
    for ax in axes[len(panels) :]:
        ax.axis("off")
    fig.suptitle(
        "Finite differences vs backward(): relative error ‖analytic − numerical‖ / max(‖analytic‖, "
        "‖numerical‖); ★ = best ε",
        fontsize=12,
    )
    return _save(fig, path)


# ---- forward vs reverse mode (python -m tinygrad_edu.experiments.modes) ------------------------
def jacobian_cost(
    panels: Sequence[tuple[str, str, dict[str, Curve]]], title: str, path: str | os.PathLike
) -> Path | None:
    """CPU time against size on log-log axes: one panel per (title, x label, {mode: (sizes, seconds)});
    None without matplotlib."""
    made = _figure(1, len(panels), 5.5, 4.2)
    if made is None:
        return None
    fig, axes = made
    style = {"forward mode": ("tab:green", "o"), "reverse mode": ("tab:purple", "s")}
    for ax, (panel_title, xlabel, curves) in zip(axes, panels):
        for mode, (sizes, seconds) in curves.items():
            color, marker = style.get(mode, ("tab:gray", "^"))
            ax.loglog(sizes, seconds, "-", marker=marker, color=color, label=mode)
        ax.set_title(panel_title, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CPU seconds for the full Jacobian")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(title, fontsize=12)
    return _save(fig, path)
