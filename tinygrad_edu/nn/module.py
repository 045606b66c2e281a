"""`Module`, `Parameter` and `Sequential`: the bookkeeping that turns layers into a network.

A Module finds its parameters and sub-modules by looking at its attributes: any attribute
that is a `Parameter` or a `Module`, or a list, tuple or dict holding them (at any depth), is
registered. Names are the attribute paths, joined by dots, as in PyTorch: `"0.weight"`,
`"layers.1.bias"`, `"heads.digit.weight"`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.versions import mark_changed


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (`requires_grad=True` by default).

    `Parameter(data)` shares the array of `data` (a Tensor or an `np.ndarray`); lists and
    numbers become float32, as for Tensor.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class HookHandle:
    """Returned by `register_forward_hook`: `remove()` unregisters the hook (twice is harmless)."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict[int, Callable]) -> None:
        self.hooks, self.id = hooks, next(HookHandle._next_id)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _registered(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(dotted name, value) for each Parameter or Module in `value`, looking inside containers."""
    if isinstance(value, (Parameter, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _registered(f"{name}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _registered(f"{name}.{key}", item)


def _array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


class Module:
    """Base class of every layer and network: subclass it, set layers and Parameters as
    attributes in `__init__`, and define `forward`. Calling the module calls `forward`.

    ```
    class MLP(nn.Module):
        def __init__(self):
            self.hidden = nn.Linear(784, 128)
            self.out = nn.Linear(128, 10)

        def forward(self, x):
            return self.out(self.hidden(x).relu())
    ```
    (Calling `super().__init__()` is allowed but not required.)
    """

    training: bool = True

    def __setattr__(self, name: str, value: Any) -> None:
        # NOTE: as in PyTorch: a plain Tensor put where a Parameter was would silently drop out of
        # parameters() and state_dict(), and so out of the optimizer and the saved file.
        if isinstance(vars(self).get(name), Parameter) and not isinstance(value, (Parameter, type(None))):
            raise TypeError(
                f"{type(self).__name__}: cannot assign a {type(value).__name__} as parameter {name!r} "
                "(a Parameter or None expected; wrap it: nn.Parameter(tensor))"
            )
        object.__setattr__(self, name, value)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.forward(*args, **kwargs)
        hooks = vars(self).get("_forward_hooks")
        for hook in list(hooks.values()) if hooks else ():  # a copy: a hook may remove itself
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> HookHandle:
        """Call `hook(module, args, output)` after every forward; a hook that returns something
        other than None replaces the output (as in PyTorch). Hooks run in the order registered;
        `handle.remove()` takes one off again."""
        hooks = vars(self).setdefault("_forward_hooks", {})
        handle = HookHandle(hooks)
        hooks[handle.id] = hook
        return handle

    # ---- discovery --------------------------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Parameter | Module]]:
        for name, value in vars(self).items():
            yield from _registered(name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, each once."""
        seen: set[int] = set()
        for name, m in self._members():
            if isinstance(m, Module) and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True, _seen: set[int] | None = None
    ) -> Iterator[tuple[str, Module]]:
        """This module and all its sub-modules, depth first, parents before children.

        A module reachable by two paths is listed once (under the first) unless
        `remove_duplicate=False`; a module that contains its own ancestor is never re-entered.
        """
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self._members():
            if isinstance(child, Module):
                yield from child.named_modules(_join(prefix, name), remove_duplicate, seen)
        if not remove_duplicate:
            seen.discard(id(self))  # only the ancestors stay: shared modules are visited again

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a parameter shared by several layers comes once,
        under its first name, unless `remove_duplicate=False`."""
        seen: set[int] = set()
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, p in module._members():
                if not isinstance(p, Parameter) or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield _join(module_prefix, name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter of this module and its sub-modules, each once (for an optimizer)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---- modes and gradients ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set `.training` on this module and every sub-module (Dropout reads it); returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """`train(False)`: Dropout becomes the identity."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's `.grad` to None (PyTorch's default), or fill it with zeros."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.fill(0)

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """`{dotted name: copy of the parameter's array}`, one entry per name (as in PyTorch,
        a shared parameter appears under each of its names)."""
        return {name: p.data.copy() for name, p in self.named_parameters(remove_duplicate=False)}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters, in place, keeping each parameter's dtype.

        Parameters keep their identity (optimizers holding them stay valid). Every key and
        shape is checked before anything is written: with `strict=True` missing or unexpected
        keys raise; a shape mismatch always raises. Returns the skipped keys.
        """
        own = dict(self.named_parameters(remove_duplicate=False))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        where = f"{type(self).__name__}.load_state_dict"
        if strict and (missing or unexpected):
            raise ValueError(
                f"{where}: missing keys {missing}, unexpected keys {unexpected} "
                "(pass strict=False to load the matching keys only)"
            )
        arrays = {k: _array(state_dict[k]) for k in own if k in state_dict}
        bad = [
            f"{k!r} is {a.shape} in the state dict, {own[k].shape} in the model"
            for k, a in arrays.items()
            if a.shape != own[k].shape
        ]
        if bad:
            raise ValueError(f"{where}: shape mismatch for " + "; ".join(bad))
        for k, a in arrays.items():
            try:
                np.copyto(own[k].data, a, casting="same_kind")
                mark_changed(own[k])
            except TypeError as e:
                raise TypeError(f"{where}: cannot load {k!r} of dtype {a.dtype}: {e}") from None
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown inside `Name(...)`; layers override it."""
        return ""

    def __repr__(self) -> str:
        return self._repr(frozenset())

    def _repr(self, ancestors: frozenset[int]) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        inner = ancestors | {id(self)}
        lines = [
            f"({name}): "
            + (f"<{type(m).__name__}: cycle>" if id(m) in inner else m._repr(inner)).replace("\n", "\n  ")
            for name, m in self.named_children()
        ]
        return head + "".join("\n  " + line for line in lines) + ("\n)" if lines else ")")


class Sequential(Module):
    """Modules applied one after the other: `Sequential(Linear(784, 128), ReLU(), Linear(128, 10))`.

    The layers are registered as attributes "0", "1", ..., so parameter names are "0.weight",
    "2.bias", ... exactly as in PyTorch's `nn.Sequential`.
    """

    def __init__(self, *modules: Module) -> None:
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: {type(module).__name__} is not a Module")
        setattr(self, str(len(self)), module)
        return self

    def _layers(self) -> list[Module]:
        return [v for k, v in vars(self).items() if k.isdigit()]

    def __len__(self) -> int:
        return len(self._layers())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers())

    def __getitem__(self, idx: int | slice) -> Module:
        layers = self._layers()
        return Sequential(*layers[idx]) if isinstance(idx, slice) else layers[idx]

    def forward(self, x: Any) -> Any:
        for m in self._layers():
            x = m(x)
        return x
