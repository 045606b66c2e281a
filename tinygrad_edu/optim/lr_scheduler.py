"""Learning-rate schedules, with PyTorch's names, arguments and protocol:

    for epoch in range(epochs):
        train_one_epoch(...)      # optimizer.step() inside
        scheduler.step()          # after the optimizer's steps

Building a scheduler records each group's lr as its base lr η₀ (`initial_lr` in the group) and
counts t = 0; every `step()` increments t and sets lr = f(t) in every parameter group.
The schedules are written in closed form; PyTorch's own (chainable, recursive) updates give the
same values up to rounding as long as nothing else changes the lr. ReduceLROnPlateau, which
follows a metric, is the one schedule with memory.

`state_dict()` holds numbers and arrays only (so `tg.save` writes it): the counters and lrs
that change as training goes. The schedule's arguments are not in it: rebuild the scheduler
with the same ones, then load the optimizer's state and the scheduler's.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_edu.optim.optimizer import Optimizer


def _check_int(name: str, key: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}: {key} must be an integer >= {low}, got {value!r}")


def _per_group(name: str, key: str, value: Any, optimizer: Optimizer) -> list:
    """A value given once for all groups, or as a list with one entry per group (PyTorch's rule)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name}: expected {n} values of {key} (one per parameter group), got {len(value)}"
            )
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: a subclass defines `lr_at(i, t)`, parameter group i's lr at epoch t."""

    # The attributes `state_dict` saves: what changes as the schedule runs.
    state_keys: tuple[str, ...] = ("last_epoch", "base_lrs", "_last_lr")

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        _check_int(name, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{name}: resuming at last_epoch={last_epoch} needs 'initial_lr' in param_groups[{i}]; "
                    "load the optimizer's state dict first, or start at last_epoch=-1"
                )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, i: int, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance the schedule by one epoch (call it after `optimizer.step()`)."""
        t = self.last_epoch + 1
        lrs = [self.lr_at(i, t) for i in range(len(self.optimizer.param_groups))]  # may refuse t
        self.last_epoch = t
        self._set_lrs(lrs)

    def _set_lrs(self, lrs: Sequence[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr of each parameter group, as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, np.ndarray]:
        """`{attribute: array}` for each of `state_keys` (PyTorch's names)."""
        values = {key: getattr(self, key) for key in self.state_keys}
        return {
            key: np.array(v, dtype=np.float64 if isinstance(v, list) else None) for key, v in values.items()
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume where `state_dict` was taken. Every key, shape and value is checked before
        anything changes (the optimizer's own state dict restores its lrs)."""
        self._assign(self._checked(state_dict))

    def _checked(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """The saved values as Python numbers and lists, checked against this scheduler's own."""
        where = f"{type(self).__name__}.load_state_dict"
        own = self.state_dict()
        for key in sorted(set(own) ^ set(state_dict)):
            problem = (
                "is missing from the state dict" if key in own else "is not part of this scheduler's state"
            )
            raise ValueError(f"{where}: {key!r} {problem}")
        values = {}
        for key, ref in own.items():
            a = np.asarray(state_dict[key])
            if a.shape != ref.shape:
                raise ValueError(f"{where}: {key!r} has shape {a.shape}, expected {ref.shape}")
            if ref.dtype.kind == "i" and (a.dtype.kind not in "iu" or (a < 0).any()):
                raise ValueError(f"{where}: {key!r} must hold integers >= 0, got {a!r}")
            if (
                a.dtype.kind not in "fiu"
                or np.isnan(a).any()
                or (ref.ndim and not (np.isfinite(a) & (a >= 0)).all())
            ):
                raise ValueError(f"{where}: {key!r} must hold numbers (finite lrs >= 0), got {a!r}")
            values[key] = a.tolist()
        return values

    def _assign(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)


class StepLR(LRScheduler):
    """Multiply the lr by γ every `step_size` epochs: η_t = η₀ · γ^⌊t / step_size⌋."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        _check_int("StepLR", "step_size", step_size, 1)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i: int, t: int) -> float:
        return self.base_lrs[i] * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """Multiply the lr by γ at each milestone: η_t = η₀ · γ^(number of milestones <= t).
    A milestone listed twice multiplies twice (as in PyTorch)."""

    def __init__(
        self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.milestones, self.gamma = sorted(milestones), gamma
        for m in self.milestones:
            _check_int("MultiStepLR", "each milestone", m, 0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i: int, t: int) -> float:
        return self.base_lrs[i] * self.gamma ** bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """Multiply the lr by γ every epoch: η_t = η₀ · γᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i: int, t: int) -> float:
        return self.base_lrs[i] * self.gamma**t


class LambdaLR(LRScheduler):
    """η_t = η₀ · λ(t), with `lr_lambda` one function for all groups or a list of one per group.
    The functions are not saved by `state_dict`."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        self.lr_lambdas = _per_group("LambdaLR", "lr_lambda", lr_lambda, optimizer)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, got {fn!r}")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i: int, t: int) -> float:
        return self.base_lrs[i] * self.lr_lambdas[i](t)


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from `start_factor` to `end_factor` over
    `total_iters` epochs, then constant: η_t = η₀ · (s + (e - s) · min(t, total_iters) / total_iters)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        _check_int("LinearLR", "total_iters", total_iters, 1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i: int, t: int) -> float:
        s, e = self.start_factor, self.end_factor
        return self.base_lrs[i] * (s + (e - s) * min(self.total_iters, t) / self.total_iters)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from η₀ down to η_min over T_max epochs (Loshchilov & Hutter, 2017,
    without restarts):

        η_t = η_min + (η₀ - η_min) · (1 + cos(π t / T_max)) / 2

    After T_max the formula carries on, so the lr rises again (as in PyTorch).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, i: int, t: int) -> float:
        return self.eta_min + (self.base_lrs[i] - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped after every batch, `total_steps` times
    (or `epochs * steps_per_epoch`): the lr warms up from max_lr / div_factor to max_lr over the
    first `pct_start` of the steps, then anneals to max_lr / (div_factor · final_div_factor).
    With `cycle_momentum`, the momentum (SGD's `momentum`, or Adam's β1) moves the other way,
    from max_momentum down to base_momentum and back. `three_phase` comes back down to the
    starting lr symmetrically before the final anneal. `anneal_strategy` is "cos" or "linear".

    Phase k runs from step a to step b (PyTorch's boundaries: pct_start · total_steps - 1, then
    total_steps - 1), and within it, with p = (t - a) / (b - a):

        cos:     η = η_end + (η_start - η_end) · (1 + cos(π p)) / 2
        linear:  η = η_start + (η_end - η_start) · p

    The group keys `initial_lr`, `max_lr`, `min_lr`, `max_momentum`, `base_momentum` hold the
    ends (so the optimizer's state dict carries them, as in PyTorch).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        name = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            _check_int(name, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            _check_int(name, "epochs", epochs, 1)
            _check_int(name, "steps_per_epoch", steps_per_epoch, 1)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        # (last step of the phase, lr key at its start, at its end, momentum key at its start, at its end)
        warm_up = (pct_start * total_steps - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")
        if three_phase:
            self.phases = [
                warm_up,
                (2 * pct_start * total_steps - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [warm_up, (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        starts = [0.0] + [phase[0] for phase in self.phases[:-1]]
        if any(phase[0] == start for phase, start in zip(self.phases, starts)):
            raise ValueError(
                f"{name}: pct_start={pct_start} with total_steps={total_steps} makes a phase of no steps "
                "(PyTorch divides by zero there); choose another pct_start"
            )
        self.cycle_momentum = cycle_momentum
        self.use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum and not self.use_beta1 and "momentum" not in optimizer.defaults:
            raise ValueError(f"{name}: cycle_momentum needs an optimizer with momentum or betas")
        if last_epoch == -1:
            ends = zip(
                optimizer.param_groups,
                _per_group(name, "max_lr", max_lr, optimizer),
                _per_group(name, "max_momentum", max_momentum, optimizer),
                _per_group(name, "base_momentum", base_momentum, optimizer),
            )
            for group, top, m_max, m_base in ends:
                group.update(
                    initial_lr=top / div_factor, max_lr=top, min_lr=top / div_factor / final_div_factor
                )
                if cycle_momentum:
                    group.update(max_momentum=m_max, base_momentum=m_base)
                    self._set_momentum(group, m_max)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase(self, t: int) -> tuple[tuple, float]:
        """The phase step t falls in, and how far through it (0 to 1)."""
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is {self.total_steps}")
        start = 0.0
        for k, phase in enumerate(self.phases):
            if t <= phase[0] or k == len(self.phases) - 1:
                return phase, (t - start) / (phase[0] - start)
            start = phase[0]
        raise AssertionError("unreachable: the last phase takes every step")

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def lr_at(self, i: int, t: int) -> float:
        (_, lr_start, lr_end, _, _), pct = self._phase(t)
        group = self.optimizer.param_groups[i]
        return self._anneal(group[lr_start], group[lr_end], pct)

    def step(self) -> None:
        super().step()
        if self.cycle_momentum:
            (*_, m_start, m_end), pct = self._phase(self.last_epoch)
            for group in self.optimizer.param_groups:
                self._set_momentum(group, self._anneal(group[m_start], group[m_end], pct))


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric has stopped improving: `step(metric)` after each
    evaluation. PyTorch's rule: a metric is better than the best so far when

        min mode: m < best · (1 - threshold)  (rel)   or   m < best - threshold  (abs)
        max mode: m > best · (1 + threshold)  (rel)   or   m > best + threshold  (abs)

    Otherwise the epoch is bad; after more than `patience` bad epochs in a row, each group's lr
    becomes max(lr · factor, min_lr) (skipped if that changes it by eps or less), and the next
    `cooldown` epochs count as neither good nor bad.
    """

    state_keys = ("last_epoch", "_last_lr", "best", "num_bad_epochs", "cooldown_counter")

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not 0 <= factor < 1:
            raise ValueError(f"{name}: factor must be in [0, 1), got {factor!r}")
        _check_int(name, "patience", patience, 0)
        _check_int(name, "cooldown", cooldown, 0)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience, self.cooldown = mode, factor, patience, cooldown
        self.threshold, self.threshold_mode, self.eps = threshold, threshold_mode, eps
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group(name, "min_lr", min_lr, optimizer)
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0

    def is_better(self, metric: float, best: float) -> bool:
        """Whether `metric` improves on `best` by more than the threshold."""
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return metric < (best * (1 - self.threshold) if rel else best - self.threshold)
        return metric > (best * (1 + self.threshold) if rel else best + self.threshold)

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element Tensor) and cut the lr if due."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups, but min_lr "
                    f"gave {len(self.min_lrs)} values; set .min_lrs to one value per group"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            new_lr = max(group["lr"] * self.factor, min_lr)
            if group["lr"] - new_lr > self.eps:
                group["lr"] = new_lr


class SequentialLR(LRScheduler):
    """Run `schedulers` one after the other, switching at the epochs in `milestones` (one fewer
    than the schedulers). Each scheduler starts from its own epoch 0 at its milestone and
    scales the base lrs, as in PyTorch (e.g. LinearLR warm-up, then CosineAnnealingLR)."""

    state_keys = ("last_epoch", "_last_lr")

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        name = "SequentialLR"
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler")
        for k, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, (ReduceLROnPlateau, SequentialLR)):
                raise TypeError(
                    f"{name}: schedulers[{k}] is a {type(s).__name__}; expected a schedule of the "
                    "epoch (not ReduceLROnPlateau, which needs a metric, nor a SequentialLR)"
                )
            if s.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{k}] belongs to another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{name}: expected {len(schedulers) - 1} milestones for {len(schedulers)} schedulers, "
                f"got {len(milestones)}"
            )
        for m in milestones:
            _check_int(name, "each milestone", m, 0)
        _check_int(name, "last_epoch", last_epoch, -1)
        self.optimizer, self._schedulers, self._milestones = optimizer, list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        # Building the schedulers stepped each once: start again from the base lrs, and let only
        # the scheduler of epoch 0 take its first step.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in self._schedulers:
            s.last_epoch -= 1
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        t = self.last_epoch + 1
        k = bisect_right(self._milestones, t)
        current = self._schedulers[k]
        if k > 0 and self._milestones[k - 1] == t:
            current.last_epoch = -1  # its first epoch
        current.step()
        self.last_epoch = t
        self._last_lr = current.get_last_lr()

    def state_dict(self) -> dict[str, np.ndarray]:
        """Its own counters, and each scheduler's state under `_schedulers.{k}.`."""
        out = super().state_dict()
        for k, s in enumerate(self._schedulers):
            out.update({f"_schedulers.{k}.{key}": v for key, v in s.state_dict().items()})
        return out

    def _assign(self, values: dict[str, Any]) -> None:
        super()._assign({key: v for key, v in values.items() if key in self.state_keys})
        for k, s in enumerate(self._schedulers):
            prefix = f"_schedulers.{k}."
            s._assign({key[len(prefix) :]: v for key, v in values.items() if key.startswith(prefix)})
