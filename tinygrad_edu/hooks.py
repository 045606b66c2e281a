"""Observers of backward passes, for study tools such as `tg.trace` and `tg.viz` (imports nothing
of ours at run time): `register_hook(fn)` and the engine calls `fn` at every node it visits."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinygrad_edu.core import Function, Tensor

Hook = Callable[["Tensor", "Function", "Tensor", tuple], None]
registered: list[Hook] = []  # the engine calls these, in order; change it only through register_hook


class HookHandle:
    """What `register_hook` returns: `.remove()` unregisters the hook (also usable with `with`)."""

    def __init__(self, hook: Hook) -> None:
        self.hook = hook

    def remove(self) -> None:
        if self.hook in registered:
            registered.remove(self.hook)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register_hook(hook: Hook) -> HookHandle:
    """Call `hook(tensor, node, grad, input_grads)` at every node a backward pass visits, after its
    rule ran: `tensor` is the node's output, `grad` its full gradient, `input_grads` what the rule
    returned (one entry per input, before un-broadcasting). For study tools such as `tg.trace`."""
    registered.append(hook)
    return HookHandle(hook)
