"""`Optimizer`: parameter groups, per-parameter state, `zero_grad`, and a saveable state dict.

A subclass writes `_update(theta, grad, group, state, work)`: one parameter's update, on numpy
arrays, in place. `theta` is the parameter's array, `state` its persistent buffers (saved by
`state_dict`), `work` two scratch arrays shaped like it (not saved), so that the update
allocates nothing after the first step. It also says which hyperparameter values it accepts
(`nonnegative`, the names that must be finite numbers >= 0, and `_check` for any other rule)
and which buffers it keeps (`_state_names`), so that `load_state_dict` can refuse a state that
does not belong to it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.grad_mode import enable_grad, no_grad
from tinygrad_edu.nn.utils import zero_grad
from tinygrad_edu.versions import mark_changed

ParamGroup = dict[str, Any]

# Keys the learning-rate schedules add to a parameter group (lr_scheduler.py): a state dict may
# carry them although they are no optimizer's hyperparameters. All are numbers >= 0.
SCHEDULE_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_hyperparameters(name: str, **values: Any) -> None:
    """Raise ValueError unless every value (a learning rate, decay, momentum or epsilon) is a
    finite real number >= 0. `name` says where the values come from, e.g. "SGD", or
    "SGD.load_state_dict: param_groups.0"; the message names it and the key."""
    for key, v in values.items():
        if not (_is_real(v) and 0 <= v < math.inf):
            raise ValueError(f"{name}: {key} must be a finite number >= 0, got {v!r}")


def check_betas(name: str, betas: Any) -> None:
    """Raise ValueError unless `betas` (Adam's and Adamax's decay rates) is two numbers in [0, 1)."""
    if not (
        isinstance(betas, (tuple, list))
        and len(betas) == 2
        and all(_is_real(b) and 0 <= b < 1 for b in betas)
    ):
        raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")


_FLOAT16, _FLOAT32 = np.dtype(np.float16), np.dtype(np.float32)


def update_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a parameter's update and state are computed in: its own, but float32 for float16.

    NOTE: float16 cannot hold eps = 1e-8 (it rounds to 0, so a zero gradient gives 0/0) nor the
    g² of small gradients (below 2.4e-4 it underflows); as mixed-precision training does, the
    update runs in float32 with float32 state and only the new parameter is rounded to float16.
    A change smaller than half a float16 step of the parameter is lost in that rounding.
    """
    return _FLOAT32 if dtype == _FLOAT16 else dtype


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

    nonnegative: tuple[str, ...] = ()  # the hyperparameters that must be finite numbers >= 0

    def __init__(self, params: Iterable[Tensor] | Iterable[ParamGroup], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._work: dict[Tensor, list[np.ndarray]] = {}
        self._check(defaults, type(self).__name__)
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
        self._check(merged, name)
        self.param_groups.append(merged)

    def _check(self, hyperparameters: dict[str, Any], name: str) -> None:
        """Raise ValueError naming a hyperparameter out of its range (the defaults', a group's, or
        a loaded group's); `name` begins the message. Those in `nonnegative` must be finite
        numbers >= 0, betas (if any) two numbers in [0, 1); a subclass adds its own rules."""
        check_hyperparameters(name, **{k: hyperparameters[k] for k in self.nonnegative})
        if "betas" in hyperparameters:
            check_betas(name, hyperparameters["betas"])

    def _state_names(self, group: ParamGroup) -> set[str]:
        """The buffers `_update` keeps for a parameter of this group, once it has stepped."""
        return set()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients before the next backward (they accumulate otherwise).

        `set_to_none=True` (PyTorch's default) drops them, freeing memory; False fills zeros.
        """
        zero_grad((p for group in self.param_groups for p in group["params"]), set_to_none)

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
                    if p.grad is None:
                        continue
                    state, dtype = self.state.setdefault(p, {}), update_dtype(p.data.dtype)
                    if dtype is p.data.dtype:
                        self._update(p.data, p.grad, group, state, self._scratch(p, p.data))
                    else:
                        theta = p.data.astype(dtype)
                        self._update(theta, p.grad.astype(dtype), group, state, self._scratch(p, theta))
                        p.data[...] = theta  # rounded back to float16
                    mark_changed(p)
        return loss

    def _update(
        self, theta: np.ndarray, grad: np.ndarray, group: ParamGroup, state: dict, work: list[np.ndarray]
    ) -> None:
        raise NotImplementedError

    def _scratch(self, p: Tensor, theta: np.ndarray) -> list[np.ndarray]:
        work = self._work.get(p)
        if work is None or work[0].shape != theta.shape or work[0].dtype != theta.dtype:
            work = self._work[p] = [np.empty_like(theta), np.empty_like(theta)]
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
        into an optimizer of the same type built over the same parameters, in the same order.

        Everything is checked before anything changes: the number of groups and of parameters
        in each, the hyperparameter names (this optimizer's, plus the keys schedules add) and
        values (as the constructor checks them), each parameter's buffer names (those this
        optimizer keeps for its group) and shapes. An error names the optimizer and the key.
        """
        where = f"{type(self).__name__}.load_state_dict"
        groups, states = _split_keys(state_dict, where)
        if sorted(groups) != list(range(len(self.param_groups))):
            raise ValueError(
                f"{where}: the state dict has {len(groups)} parameter groups ('param_groups.*'), "
                f"the optimizer has {len(self.param_groups)}"
            )
        params = self._params_by_index(groups, where)
        new_groups = [self._loaded_group(g, groups[g], where) for g in range(len(self.param_groups))]
        new_state = {}
        for i, buffers in states.items():
            if i not in params:
                raise ValueError(f"{where}: 'state.{i}.*' is for parameter {i}, which no group lists")
            g, p = params[i]
            new_state[p] = self._loaded_state(buffers, p, new_groups[g], f"state.{i}", where)
        for group, new in zip(self.param_groups, new_groups):
            group.update(new)
        self.state = new_state

    def _loaded_group(self, g: int, saved: dict[str, np.ndarray], where: str) -> dict[str, Any]:
        """Group g's saved hyperparameters as Python values, checked against this optimizer."""
        hp = {k: _restore_value(v) for k, v in saved.items() if k != "params"}
        for key in sorted(hp):
            if key not in self.param_groups[g] and key not in SCHEDULE_KEYS:
                raise ValueError(
                    f"{where}: 'param_groups.{g}.{key}' is not a hyperparameter of {type(self).__name__} "
                    "(a state dict of another optimizer?)"
                )
        for key in self.defaults:
            if key not in hp:
                raise ValueError(f"{where}: 'param_groups.{g}.{key}' is missing from the state dict")
        self._check(hp, f"{where}: param_groups.{g}")
        check_hyperparameters(f"{where}: param_groups.{g}", **{k: hp[k] for k in SCHEDULE_KEYS if k in hp})
        return hp

    def _loaded_state(
        self, buffers: dict[str, np.ndarray], p: Tensor, group: ParamGroup, prefix: str, where: str
    ) -> dict[str, Any]:
        """One parameter's saved buffers (keys `{prefix}.{name}`), checked (names, shapes, types)
        and copied into the dtype its update runs in."""
        expected = self._state_names(group)
        if set(buffers) != expected:
            raise ValueError(
                f"{where}: '{prefix}' holds {sorted(buffers)}, but {type(self).__name__} keeps "
                f"{sorted(expected)} with these hyperparameters (a state dict of another optimizer?)"
            )
        return {name: _restore_buffer(a, p, f"{prefix}.{name}", where) for name, a in buffers.items()}

    def _params_by_index(
        self, groups: dict[int, dict[str, np.ndarray]], where: str
    ) -> dict[int, tuple[int, Tensor]]:
        """Saved parameter index -> (group index, this optimizer's parameter), matched group by
        group, in order."""
        params: dict[int, tuple[int, Tensor]] = {}
        for g, group in enumerate(self.param_groups):
            saved = groups[g].get("params", np.zeros(0, dtype=int))
            if len(saved) != len(group["params"]):
                raise ValueError(
                    f"{where}: parameter group {g} has {len(group['params'])} parameters, "
                    f"the state dict {len(saved)} ('param_groups.{g}.params')"
                )
            params.update((i, (g, p)) for i, p in zip(saved.tolist(), group["params"]))
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
    """A saved step count back to a Python int; a saved buffer to a fresh array of the dtype the
    parameter's update runs in and its shape."""
    if key.endswith(".step"):
        if a.ndim != 0 or a.dtype.kind not in "iu" or a < 0:
            raise ValueError(f"{where}: {key!r} must be an integer >= 0, got {a!r}")
        return a.item()
    if a.shape != p.shape:
        raise ValueError(f"{where}: {key!r} has shape {a.shape}, the parameter {p.shape}")
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{where}: {key!r} has dtype {a.dtype}; a buffer holds real numbers")
    return np.array(a, dtype=update_dtype(p.dtype))
