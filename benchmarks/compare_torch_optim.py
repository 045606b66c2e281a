"""Train the same small MLP from the same weights in tinygrad_edu and in PyTorch, and compare.

Not part of the test suite (torch is not a dependency). Run it with a Python that has torch
and tinygrad_edu importable, e.g.

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    PYTHONPATH=. /tmp/torchvenv/bin/python benchmarks/compare_torch_optim.py

It prints, for each optimizer, the largest absolute difference between the two libraries'
parameters after every step (float64 throughout), the loss at the end, and the largest
difference between the two libraries' learning-rate schedules.
"""

from __future__ import annotations

import numpy as np
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.optim import lr_scheduler

STEPS = 20
SIZES = [(20, 32), (32, 16), (16, 5)]

CONFIGS = {
    "SGD momentum+nesterov+wd": (
        optim.SGD,
        torch.optim.SGD,
        dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    ),
    "SGD momentum+dampening": (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.8, dampening=0.3)),
    "Adam": (optim.Adam, torch.optim.Adam, dict(lr=1e-2)),
    "Adam wd+amsgrad": (optim.Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=1e-2, amsgrad=True)),
    "AdamW": (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
    "AdamW amsgrad": (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    "RMSprop centered+momentum+wd": (
        optim.RMSprop,
        torch.optim.RMSprop,
        dict(lr=1e-3, centered=True, momentum=0.9, weight_decay=1e-2),
    ),
}


def tg_model() -> nn.Sequential:
    layers = []
    for i, (n_in, n_out) in enumerate(SIZES):
        layers.append(nn.Linear(n_in, n_out, dtype=np.float64))
        if i < len(SIZES) - 1:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def torch_model(state: dict[str, np.ndarray]) -> torch.nn.Sequential:
    layers = []
    for i, (n_in, n_out) in enumerate(SIZES):
        layers.append(torch.nn.Linear(n_in, n_out, dtype=torch.float64))
        if i < len(SIZES) - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return model


def compare(name: str, tg_opt_cls, torch_opt_cls, kwargs: dict, x: np.ndarray, y: np.ndarray) -> float:
    tg.manual_seed(0)
    model = tg_model()
    reference = torch_model(model.state_dict())
    opt = tg_opt_cls(model.parameters(), **kwargs)
    topt = torch_opt_cls(reference.parameters(), **kwargs, foreach=False)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=STEPS)
    worst = 0.0
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        tsched.step()
        theirs = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
        worst = max(worst, max(float(np.abs(v - theirs[k]).max()) for k, v in model.state_dict().items()))
    print(
        f"{name:32s} max |Δθ| over {STEPS} steps: {worst:.2e}   loss {loss.item():.6f} vs {tloss.item():.6f}"
    )
    return worst


def compare_schedules(epochs: int = 40) -> float:
    worst = 0.0
    makers = {
        "StepLR(step_size=7, gamma=0.5)": (
            lambda o: lr_scheduler.StepLR(o, 7, 0.5),
            lambda o: torch.optim.lr_scheduler.StepLR(o, 7, 0.5),
        ),
        "CosineAnnealingLR(T_max=15, eta_min=1e-3)": (
            lambda o: lr_scheduler.CosineAnnealingLR(o, 15, 1e-3),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 15, 1e-3),
        ),
    }
    for name, (make, tmake) in makers.items():
        opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
        topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched, tsched = make(opt), tmake(topt)
        diff = 0.0
        for _ in range(epochs):
            diff = max(diff, abs(sched.get_last_lr()[0] - tsched.get_last_lr()[0]))
            opt.step()
            topt.step()  # no gradients: only keeps torch's step-order check quiet
            sched.step()
            tsched.step()
        print(f"{name:42s} max |Δlr| over {epochs} epochs: {diff:.2e}")
        worst = max(worst, diff)
    return worst


def main() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, SIZES[0][0]))
    y = rng.integers(0, SIZES[-1][1], 64)
    worst = max(compare(name, *cfg, x, y) for name, cfg in CONFIGS.items())
    worst = max(worst, compare_schedules())
    print(f"largest difference overall: {worst:.2e}")


if __name__ == "__main__":
    main()
