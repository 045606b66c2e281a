"""`Optimizer`: parameter groups, per-parameter state, `zero_grad`, and a saveable state dict.

A subclass only writes `_update(theta, grad, group, state, work)`: one parameter's update, on
numpy arrays, in place. `theta` is the parameter's array, `state` its persistent buffers
(saved by `state_dict`), `work` two scratch arrays shaped like it (not saved), so that the
update allocates nothing after the first step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.grad_mode import enable_grad, no_grad
from tinygrad_edu.versions import mark_changed

ParamGroup = dict[str, Any]


def scaled_add(y: np.ndarray, a: float, x: np.ndarray, work: np.ndarray) -> None:
    """y += a·x in place, through `work` (which may be x itself if x is not needed afterwards)."""
    np.multiply(x, a, out=work)
    y += work


def with_weight_decay(grad: np.ndarray, theta: np.ndarray, wd: float, out: np.ndarray) -> np.ndarray:
    """g + λθ computed into `out` (the L2 penalty's gradient added), or g itself when λ = 0."""
    if wd == 0:
        return grad
    np.multiply(theta, wd, out=out)
    out += grad
    return out


class Optimizer:
    """Base class: `Optimizer(params, defaults)`.

    `params` is an iterable of Tensors, or of dicts `{"params": [...], "lr": ...}` giving each
    group its own hyperparameters (missing ones are taken from `defaults`). After
    `loss.backward()`, `step()` updates every parameter that has a gradient, in place on its
    `.data`; `zero_grad()` then sets the gradients to None.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[ParamGroup], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._work: dict[Tensor, list[np.ndarray]] = {}
        self._check(defaults)
        if isinstance(params, Tensor):  # list(t) would iterate its rows
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, got a Tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: ParamGroup) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a new layer's)."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group is a dict with a 'params' entry, got {group!r}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: cannot optimize a non-leaf tensor of shape {p.shape}")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or known & {id(p) for p in params}:
            raise ValueError(f"{name}: a parameter appears twice in the parameter groups")
        merged = {**self.defaults, **group, "params": params}
        self._check(merged)
        self.param_groups.append(merged)

    def _check(self, hyperparameters: dict[str, Any]) -> None:
        """Raise ValueError naming a hyperparameter out of its range (the defaults', or a group's)."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients before the next backward (they accumulate otherwise).

        `set_to_none=True` (PyTorch's default) drops them, freeing memory; False fills zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns `closure()` if given (the
        closure re-evaluates the model and returns the loss)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p.data, p.grad, group, self.state.setdefault(p, {}), self._scratch(p))
                        mark_changed(p)
        return loss

    def _update(
        self, theta: np.ndarray, grad: np.ndarray, group: ParamGroup, state: dict, work: list[np.ndarray]
    ) -> None:
        raise NotImplementedError

    def _scratch(self, p: Tensor) -> list[np.ndarray]:
        work = self._work.get(p)
        if work is None or work[0].shape != p.data.shape or work[0].dtype != p.data.dtype:
            work = self._work[p] = [np.empty_like(p.data), np.empty_like(p.data)]
        return work

    # ---- state dict -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat `{key: array}` snapshot (copies) that `tg.save` can write:

        - `param_groups.{g}.{hyperparameter}`: numbers as 0-d arrays, tuples (betas) as 1-d;
        - `param_groups.{g}.params`: the indices of the group's parameters, counting across
          groups in order (parameters are identified by position, as in PyTorch);
        - `state.{i}.{name}`: parameter i's buffers, and its step count as a 0-d integer.
        """
        out: dict[str, np.ndarray] = {}
        index = 0
        for g, group in enumerate(self.param_groups):
            for key, value in group.items():
                if key != "params":
                    out[f"param_groups.{g}.{key}"] = np.array(value)
            params = group["params"]
            out[f"param_groups.{g}.params"] = np.arange(index, index + len(params))
            for i, p in enumerate(params, start=index):
                for name, value in self.state.get(p, {}).items():
                    out[f"state.{i}.{name}"] = np.array(value)
            index += len(params)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and buffers saved by `state_dict` (possibly via tg.save/load)
        into an optimizer built over the same parameters, in the same order."""
        where = f"{type(self).__name__}.load_state_dict"
        groups, states = _split_keys(state_dict, where)
        if sorted(groups) != list(range(len(self.param_groups))):
            raise ValueError(
                f"{where}: the state dict has {len(groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        params = self._params_by_index(groups, where)
        new_state = {}
        for i, buffers in states.items():
            if i not in params:
                raise ValueError(f"{where}: state for parameter {i}, which no group lists")
            p = params[i]
            new_state[p] = {n: _restore_buffer(v, p, f"state.{i}.{n}", where) for n, v in buffers.items()}
        for g, group in enumerate(self.param_groups):
            group.update({k: _restore_value(v) for k, v in groups[g].items() if k != "params"})
        self.state = new_state

    def _params_by_index(self, groups: dict[int, dict[str, np.ndarray]], where: str) -> dict[int, Tensor]:
        """Saved parameter index -> this optimizer's parameter, matched group by group, in order."""
        params: dict[int, Tensor] = {}
        for g, group in enumerate(self.param_groups):
            saved = groups[g].get("params", np.zeros(0, dtype=int))
            if len(saved) != len(group["params"]):
                raise ValueError(
                    f"{where}: parameter group {g} has {len(group['params'])} parameters, "
                    f"the state dict {len(saved)}"
                )
            params.update(zip(saved.tolist(), group["params"]))
        return params

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _split_keys(state_dict: Mapping[str, Any], where: str) -> tuple[dict, dict]:
    """`{"param_groups.0.lr": a, "state.3.exp_avg": b}` -> `({0: {"lr": a}}, {3: {"exp_avg": b}})`."""
    groups: dict[int, dict[str, np.ndarray]] = {}
    states: dict[int, dict[str, np.ndarray]] = {}
    for key, value in state_dict.items():
        kind, _, rest = key.partition(".")
        num, _, name = rest.partition(".")
        if kind not in ("param_groups", "state") or not num.isdigit() or not name:
            raise ValueError(f"{where}: unexpected key {key!r}")
        (groups if kind == "param_groups" else states).setdefault(int(num), {})[name] = np.asarray(value)
    return groups, states


def _restore_value(a: np.ndarray) -> Any:
    """A saved hyperparameter back to a Python number (0-d) or tuple of numbers (1-d)."""
    return a.item() if a.ndim == 0 else tuple(a.tolist())


def _restore_buffer(a: np.ndarray, p: Tensor, key: str, where: str) -> Any:
    """Integer scalars (step counts) become Python ints; buffers become fresh arrays of the
    parameter's dtype and shape."""
    if a.ndim == 0 and a.dtype.kind in "iub":
        return a.item()
    if a.shape != p.shape:
        raise ValueError(f"{where}: {key!r} has shape {a.shape}, the parameter {p.shape}")
    return np.array(a, dtype=p.dtype)
