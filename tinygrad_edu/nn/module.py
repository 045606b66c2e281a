"""`Module` and `Parameter`: the bookkeeping that turns layers into a network.

A Module finds its parameters and sub-modules by looking at its attributes: any attribute
that is a `Parameter` or a `Module`, or a list, tuple or dict holding them (at any depth), is
registered. Names are the attribute paths, joined by dots, as in PyTorch: `"0.weight"`,
`"layers.1.bias"`, `"heads.digit.weight"`. Buffers (`register_buffer`) are the state that is
not trained, such as BatchNorm's running statistics: saved and loaded with the parameters,
never handed to an optimizer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.nn.utils import zero_grad
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


def _buffer(owner: str, name: str, value: Any) -> Tensor | None:
    """A value to keep as buffer `name`: a Tensor, an array (wrapped, sharing its memory) or None."""
    if value is None or (isinstance(value, Tensor) and not isinstance(value, Parameter)):
        return value
    if isinstance(value, np.ndarray):
        try:
            return Tensor(value)
        except TypeError as e:  # a dtype a Tensor cannot hold (strings, objects, complex)
            raise TypeError(f"{owner}: buffer {name!r}: {e}") from None
    raise TypeError(
        f"{owner}: cannot assign a {type(value).__name__} as buffer {name!r} "
        "(a Tensor, an np.ndarray or None expected)"
    )


def _loadable(key: str, value: Any, target: np.ndarray) -> tuple[np.ndarray | None, str | None, bool]:
    """(array, problem, whether the problem is one of type) for loading `value` into `target`."""
    try:
        a = value.data if isinstance(value, Tensor) else np.asarray(value)
    except (TypeError, ValueError) as e:  # e.g. a ragged list
        return None, f"{key!r} is not an array ({e})", True
    if a.dtype.kind not in "biuf":
        return None, f"{key!r} has dtype {a.dtype}, not a real number type", True
    if a.shape != target.shape:
        return None, f"{key!r} is {a.shape} in the state dict, {target.shape} in the model", False
    if not np.can_cast(a.dtype, target.dtype, casting="same_kind"):
        return None, f"{key!r} of dtype {a.dtype} cannot be cast to the model's {target.dtype}", True
    if not target.flags.writeable:
        return None, f"{key!r}: the model's array of shape {target.shape} is read-only", False
    return a, None, False


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
        own = vars(self)
        # NOTE: as in PyTorch: a plain Tensor put where a Parameter was would silently drop out of
        # parameters() and state_dict(), and so out of the optimizer and the saved file.
        if isinstance(own.get(name), Parameter) and not isinstance(value, (Parameter, type(None))):
            raise TypeError(
                f"{type(self).__name__}: cannot assign a {type(value).__name__} as parameter {name!r} "
                "(a Parameter or None expected; wrap it: nn.Parameter(tensor))"
            )
        buffers = own.get("_buffer_names", {})
        if name in buffers:
            if isinstance(value, (Parameter, Module)):
                del buffers[name]  # as in PyTorch, the name now holds a parameter or a sub-module
            else:
                value = _buffer(type(self).__name__, name, value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        vars(self).get("_buffer_names", {}).pop(name, None)

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

    # ---- registration -----------------------------------------------------------------------
    def _check_new_name(self, name: Any, kind: str, free: bool) -> None:
        """Refuse a name that cannot hold a new `kind` (`free`: it holds one of that kind already)."""
        where = f"{type(self).__name__}: {kind} name"
        if not isinstance(name, str):
            raise TypeError(f"{where} must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{where} {name!r} must be non-empty and contain no '.'")
        if hasattr(self, name) and not free:
            raise KeyError(f"{where} {name!r}: an attribute of that name already exists")

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as the sub-module `name` (the same as `setattr(self, name, module)`,
        for names that are not identifiers, such as "0", or that come from data)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: {type(module).__name__} is not a Module")
        self._check_new_name(name, "module", isinstance(getattr(self, name, None), Module))
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` as the parameter `name` (the same as `setattr(self, name, param)`);
        None reserves the name, as for a layer built without a bias."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{type(self).__name__}: cannot register a {type(param).__name__} as parameter {name!r} "
                "(a Parameter or None expected; wrap it: nn.Parameter(tensor))"
            )
        self._check_new_name(name, "parameter", isinstance(getattr(self, name, None), Parameter))
        setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | np.ndarray | None, persistent: bool = True) -> None:
        """Register state that is not trained (BatchNorm's running statistics): `state_dict()`
        saves it unless `persistent=False`, `load_state_dict()` loads it, `named_buffers()` lists
        it, `parameters()` never returns it. It is an attribute (`self.running_mean`), replaced by
        assignment; an array becomes a Tensor sharing its memory; a None buffer is left out of
        everything until it holds a Tensor.
        """
        self._check_new_name(name, "buffer", name in vars(self).get("_buffer_names", {}))
        if isinstance(tensor, Parameter):
            raise TypeError(
                f"{type(self).__name__}: buffer {name!r} cannot be a Parameter (it would be trained)"
            )
        value = _buffer(type(self).__name__, name, tensor)  # checked before anything is registered
        vars(self).setdefault("_buffer_names", {})[name] = bool(persistent)
        object.__setattr__(self, name, value)

    # ---- discovery --------------------------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Parameter | Module]]:
        for name, value in vars(self).items():
            yield from _registered(name, value)

    def _own_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for name, p in self._members():
            if isinstance(p, Parameter):
                yield name, p

    def _own_buffers(self, persistent_only: bool = False) -> Iterator[tuple[str, Tensor]]:
        own = vars(self)
        for name, persistent in own.get("_buffer_names", {}).items():
            if own[name] is not None and (persistent or not persistent_only):
                yield name, own[name]

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
        self, memo: set[Module] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and all its sub-modules, depth first, parents before children.

        A module reachable by two paths is listed once (under the first) unless
        `remove_duplicate=False`; a module that contains its own ancestor is never re-entered.
        `memo` (PyTorch's argument) holds the modules already listed, and is filled in.
        """
        seen = set() if memo is None else memo
        if self in seen:
            return
        seen.add(self)
        yield prefix, self
        for name, child in self._members():
            if isinstance(child, Module):
                yield from child.named_modules(seen, _join(prefix, name), remove_duplicate)
        if not remove_duplicate:
            seen.discard(self)  # only the ancestors stay: shared modules are visited again

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def _named_members(
        self,
        own: Callable[[Module], Iterator[tuple[str, Any]]],
        prefix: str,
        recurse: bool,
        remove_duplicate: bool,
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for name, t in own(module):
                if remove_duplicate and id(t) in seen:
                    continue
                seen.add(id(t))
                yield _join(module_prefix, name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a parameter shared by several layers comes once,
        under its first name, unless `remove_duplicate=False`."""
        return self._named_members(Module._own_parameters, prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter of this module and its sub-modules, each once (for an optimizer)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every buffer (persistent or not), as `named_parameters`."""
        return self._named_members(Module._own_buffers, prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set `.training` on this module and every sub-module (Dropout and BatchNorm read it);
        returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """`train(False)`: Dropout becomes the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Cast every floating-point parameter and buffer, and its `.grad`, to `dtype`; integer
        buffers (num_batches_tracked) stay. The Parameter objects stay too, so build the
        optimizer after this, as in PyTorch. `to("cpu")` does nothing (the only device here).
        Returns self."""
        where = f"{type(self).__name__}.to"
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta"):
            if dtype.split(":")[0] != "cpu":
                raise ValueError(f"{where}: device {dtype!r}: tinygrad_edu runs on the CPU only (numpy)")
            return self
        try:
            target = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{where}: {dtype!r} is not a dtype") from None
        if target.kind != "f":
            raise TypeError(f"{where}: {target} is not a floating-point dtype")
        for t in [*self.parameters(), *self.buffers()]:
            if t.dtype.kind == "f" and t.dtype != target:
                t.data = t.data.astype(target)
                if t.grad is not None:
                    t.grad = t.grad.astype(target)
                mark_changed(t)  # a graph recorded before saw other values
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        return self.to(np.float16)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set `requires_grad` on every parameter (False freezes them); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's `.grad` to None (PyTorch's default), or fill it with zeros."""
        zero_grad(self.parameters(), set_to_none)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every sub-module, children before parents, then on self (as PyTorch's, e.g.
        `model.apply(init_weights)`); returns self."""
        for m in self._post_order(frozenset()):
            fn(m)
        return self

    def _post_order(self, ancestors: frozenset[int]) -> Iterator[Module]:
        inner = ancestors | {id(self)}
        for child in self.children():
            if id(child) not in inner:  # a module that contains its ancestor is not re-entered
                yield from child._post_order(inner)
        yield self

    # ---- state ------------------------------------------------------------------------------
    def _state_tensors(self) -> Iterator[tuple[str, Tensor]]:
        """PyTorch's order: each module's parameters, then its persistent buffers, then its
        sub-modules' (depth first); a shared tensor or module appears under each of its names."""
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name, p in module._own_parameters():
                yield _join(prefix, name), p
            for name, b in module._own_buffers(persistent_only=True):
                yield _join(prefix, name), b

    def state_dict(self) -> dict[str, np.ndarray]:
        """`{dotted name: copy of the array}` for every parameter and persistent buffer, with
        PyTorch's keys and order (a shared parameter appears under each of its names)."""
        return {name: t.data.copy() for name, t in self._state_tensors()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters and persistent buffers, in place, each keeping its dtype.

        All or nothing: every key, shape and dtype (arrays of real numbers that cast to the
        tensor's dtype within their kind: float64 into float32 yes, float into int64 no), and that
        every tensor can be written, is checked before anything is written, and one error names
        every bad key. With `strict=True` missing or unexpected keys raise. Tensors keep their
        identity (optimizers holding them stay valid). Returns the skipped keys.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: expected a dict of arrays, got {type(state_dict).__name__}")
        own = dict(self._state_tensors())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(
                f"{where}: missing keys {missing}, unexpected keys {unexpected} "
                "(pass strict=False to load the matching keys only)"
            )
        arrays, problems, type_problems = {}, [], []
        for k, t in own.items():
            if k in state_dict:
                arrays[k], problem, of_type = _loadable(k, state_dict[k], t.data)
                if problem:
                    problems.append(problem)
                    type_problems.append(of_type)
        if problems:
            error = TypeError if all(type_problems) else ValueError
            raise error(f"{where}: nothing was loaded: " + "; ".join(problems))
        for k, a in arrays.items():
            np.copyto(own[k].data, a, casting="same_kind")
            mark_changed(own[k])
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
