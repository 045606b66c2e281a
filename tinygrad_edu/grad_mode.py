"""Grad mode: whether ops record the graph, and whether they check for NaN/inf. One set of flags
per thread, as in PyTorch: a `no_grad` block in one thread leaves the others recording.

Imports nothing of the package: every other module may read these flags.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import ContextDecorator
from typing import Any

import numpy as np


class Modes(threading.local):
    """The flags every op reads (`modes.enabled`, `modes.anomaly`). A new thread starts from
    these class defaults. Read them; change them only through a `Switch`."""

    enabled = True
    anomaly = False


modes = Modes()


def is_grad_enabled() -> bool:
    """True when ops record the graph (the default)."""
    return modes.enabled


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()`."""
    return modes.anomaly


class Switch(ContextDecorator):
    """Set some of this thread's flags for a `with` block or a decorated call, then restore them:
    `Switch(enabled=False)` is `no_grad()`. The engine enters one on every backward pass."""

    # NOTE: a class, not a @contextmanager generator: it is entered on every backward(). A
    # decorated function gets a fresh switch per call (`_recreate_cm`), so recursion and calls
    # from several threads at once each restore their own state. Only the flags a switch sets are
    # restored, so switches that close out of order (a generator suspended inside no_grad) do
    # not undo each other. One switch object entered by two threads at once shares its saved
    # stack (as PyTorch's switches share `prev`): each thread writes its own `with tg.no_grad():`.
    def __init__(self, **flags: bool) -> None:
        self.flags = flags
        self.saved: list[dict[str, bool]] = []  # a stack: one instance may be entered again

    def _recreate_cm(self) -> Switch:
        return Switch(**self.flags)

    def __enter__(self) -> None:
        self.saved.append({name: getattr(modes, name) for name in self.flags})
        vars(modes).update(self.flags)  # this thread's flags

    def __exit__(self, *exc: object) -> None:
        vars(modes).update(self.saved.pop())


def no_grad() -> Switch:
    """Context manager (and decorator) in which ops record nothing: inference and optimizer steps."""
    return Switch(enabled=False)


def enable_grad() -> Switch:
    """Context manager that turns recording back on, e.g. inside `no_grad`."""
    return Switch(enabled=True)


def set_grad_enabled(mode: bool) -> Switch:
    """Context manager that turns recording on or off (PyTorch's `set_grad_enabled`)."""
    return Switch(enabled=bool(mode))


def detect_anomaly() -> Switch:
    """Raise at the first op whose forward output or backward gradient holds NaN or inf.

    Costs one `isfinite` scan per op and a stack capture per recorded op, so it is off by default.
    """
    return Switch(anomaly=True)


def check_finite(node: Any, arrays: Sequence[Any], where: str) -> None:
    """detect_anomaly's check: raise if a float array of `node`'s forward or backward holds NaN/inf."""
    for i, a in enumerate(arrays):
        if a is not None and a.dtype.kind == "f" and not np.isfinite(a).all():
            what = "output" if where == "forward" else f"gradient for input {i}"
            msg = f"detect_anomaly: {type(node).__name__}.{where} produced NaN/inf in its {what}"
            if where == "backward" and getattr(node, "stack", None):
                msg += "\nThe op was created here:\n" + "".join(node.stack)
            raise FloatingPointError(msg)
