"""Learning-rate schedules, with PyTorch's protocol:

    for epoch in range(epochs):
        train_one_epoch(...)      # optimizer.step() inside
        scheduler.step()          # after the optimizer's steps

Building a scheduler records each group's lr as its base lr η₀ and counts t = 0; every
`step()` increments t and sets lr = f(t) in every parameter group. The schedules are written
in closed form; PyTorch's own (chainable, recursive) updates give the same values up to
rounding as long as nothing else changes the lr.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_edu.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define `lr_at(base_lr, t)`."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def lr_at(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance the schedule by one epoch (call it after `optimizer.step()`)."""
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The lr of each parameter group, as last set by this scheduler."""
        return [self.lr_at(base_lr, self.last_epoch) for base_lr in self.base_lrs]

    def state_dict(self) -> dict[str, Any]:
        """`{"last_epoch": t, "base_lrs": array}`: numbers and arrays, so `tg.save` can write it."""
        return {"last_epoch": self.last_epoch, "base_lrs": np.array(self.base_lrs, dtype=np.float64)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume at the saved epoch (the optimizer's own state dict restores its lrs)."""
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = [float(lr) for lr in np.asarray(state_dict["base_lrs"])]


class StepLR(LRScheduler):
    """Multiply the lr by γ every `step_size` epochs: η_t = η₀ · γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma ** (t // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from η₀ down to η_min over T_max epochs (Loshchilov & Hutter, 2017,
    without restarts):

        η_t = η_min + (η₀ - η_min) · (1 + cos(π t / T_max)) / 2

    After T_max the formula carries on, so the lr rises again (as in PyTorch).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
