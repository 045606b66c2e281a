"""Containers of modules: `Sequential`, `ModuleList` and `ModuleDict`, with PyTorch's keys.

Each holds its modules as attributes named by their keys ("0", "1", … or the dict's keys), so
parameter names are "0.weight", "blocks.2.bias", "heads.digit.weight" exactly as in PyTorch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tinygrad_edu.nn.module import Module


def _checked(module: Any, owner: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: {type(module).__name__} is not a Module")
    return module


def _keyed(container: Module) -> list[tuple[str, Module]]:
    """(key, module) for each attribute that holds a Module, in the order they were added."""
    return [(k, v) for k, v in vars(container).items() if isinstance(v, Module)]


class _Ordered(Module):
    """Modules kept in order under string keys."""

    def _items(self) -> list[tuple[str, Module]]:
        return _keyed(self)

    def _key(self, idx: Any) -> str:
        """The key at integer position `idx` (negative counts from the end)."""
        items, name = self._items(), type(self).__name__
        try:
            i = operator.index(idx)
        except TypeError:
            raise TypeError(f"{name}: an index must be an integer, got {type(idx).__name__}") from None
        if not -len(items) <= i < len(items):
            raise IndexError(f"{name}: index {i} is out of range for {len(items)} modules")
        return items[i][0]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[Module]:
        return iter([m for _, m in self._items()])

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._key(idx), _checked(module, type(self).__name__))

    def __delitem__(self, idx: int | slice) -> None:
        """Remove modules; the rest are renumbered "0", "1", … (PyTorch's rule, for Sequential too)."""
        if not isinstance(idx, slice):
            self._key(idx)  # the type and range checks, with this class's message
        kept = list(self)
        del kept[idx]
        self._renumber(kept)

    def insert(self, index: int, module: Module) -> None:
        """Insert `module` before position `index`; all are renumbered "0", "1", …"""
        modules = list(self)
        modules.insert(index, _checked(module, type(self).__name__))
        self._renumber(modules)

    def _renumber(self, modules: list[Module]) -> None:
        for key, _ in self._items():
            delattr(self, key)
        self.extend(modules)

    def append(self, module: Module) -> _Ordered:
        """Add `module` at the end, under the key str(len(self))."""
        self.add_module(str(len(self)), _checked(module, type(self).__name__))
        return self

    def extend(self, modules: Iterable[Module]) -> _Ordered:
        for m in modules:
            self.append(m)
        return self


class Sequential(_Ordered):
    """Modules applied one after the other: `Sequential(Linear(784, 128), ReLU(), Linear(128, 10))`,
    keyed "0", "1", …, or `Sequential(OrderedDict([("hidden", Linear(784, 128)), ...]))` with
    the dict's keys. As in PyTorch, a slice is a Sequential that keeps the original keys
    (`model[1:]` holds "1", "2", …), and an integer index gives the module itself.
    """

    def __init__(self, *args: Module | Mapping[str, Module]) -> None:
        if len(args) == 1 and isinstance(args[0], Mapping):
            for key, m in args[0].items():
                self.add_module(key, _checked(m, "Sequential"))
        else:
            self.extend(args)

    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):
            return Sequential(dict(self._items()[idx]))
        return getattr(self, self._key(idx))

    def forward(self, x: Any) -> Any:
        for _, m in self._items():
            x = m(x)
        return x


class ModuleList(_Ordered):
    """A list of modules, registered under the keys "0", "1", … (a plain Python list of modules
    is registered too, but ModuleList is what PyTorch code uses, and it has no forward)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        self.extend(modules or ())

    def __getitem__(self, idx: int | slice) -> Module | ModuleList:
        if isinstance(idx, slice):
            return ModuleList(list(self)[idx])  # renumbered from 0, as in PyTorch
        return getattr(self, self._key(idx))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])


class ModuleDict(Module):
    """A dict of modules with string keys, in insertion order: `ModuleDict({"digit": Linear(128, 10)})`.

    Keys become attribute names, so as in PyTorch a key cannot be empty, contain ".", or be the
    name of an attribute or method (`"keys"`, `"training"`, …).
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        value = vars(self).get(key) if isinstance(key, str) else None
        if not isinstance(value, Module):
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _checked(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and isinstance(vars(self).get(key), Module)

    def keys(self) -> list[str]:
        return [k for k, _ in self.items()]

    def values(self) -> list[Module]:
        return [m for _, m in self.items()]

    def items(self) -> list[tuple[str, Module]]:
        return _keyed(self)

    def pop(self, key: str) -> Module:
        module = self[key]  # a KeyError for a key that is not there
        delattr(self, key)
        return module

    def clear(self) -> None:
        for key in self.keys():
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, m in pairs:
            self[key] = m
