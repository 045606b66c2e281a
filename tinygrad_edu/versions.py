"""The version clock behind PyTorch's "modified by an inplace operation" error.

It ticks at every in-place change of a tensor's array made through the library (`x -= y` under
no_grad, optimizer steps, load_state_dict, nn.init) and notes the time against the array that
owns the memory, so every tensor sharing it (a view, `detach()`, a Parameter made from the array)
sees the change. A graph node notes the time it was made (`now`), and the engine refuses to run
its backward over a tensor changed later: the values the rule would read are not the ones its
forward saw. Writing to `.data` directly bypasses the clock, as in PyTorch.

Imports nothing of the package. Call `mark_changed(t)` after changing `t.data` in place, in
your own optimizers and initialisers.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

now = 0  # the clock: read it as `versions.now`; only mark_changed moves it
_changed_at: dict[int, int] = {}  # id of an array that owns memory -> when it was last changed


def owner(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory (`a` itself unless it is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def mark_changed(t: Any) -> None:
    """Record that tensor `t`'s array was just changed in place."""
    global now
    now += 1
    memory = owner(t.data)
    if id(memory) not in _changed_at:
        weakref.finalize(memory, _changed_at.pop, id(memory), None)  # forgotten with the array
    _changed_at[id(memory)] = now


def changed_since(t: Any, time: int) -> bool:
    """Whether tensor `t`'s memory was changed in place after `time` (a reading of `now`)."""
    return _changed_at.get(id(owner(t.data)), 0) > time
