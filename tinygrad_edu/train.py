"""A training loop for classifiers: `fit` runs the epochs, `evaluate` scores a split, `predict`
labels new samples.

    history = fit(model, F.cross_entropy, optimizer, DataLoader((x, y), 128, shuffle=True),
                  epochs=5, validation=(x_test, y_test))

The loop is the one every tutorial writes (forward, loss, zero_grad, backward, step); what it
adds is bookkeeping: running loss and accuracy, a scheduler stepped per batch or per epoch, an
evaluation every few epochs, callbacks for progress displays, and a stop at the first loss that
is not finite (a NaN loss would otherwise train on and report 10% accuracy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.grad_mode import no_grad
from tinygrad_edu.nn.module import Module
from tinygrad_edu.optim.lr_scheduler import LRScheduler
from tinygrad_edu.optim.optimizer import Optimizer

Loss = Callable[[Tensor, np.ndarray], Tensor]


@dataclass
class History:
    """Per evaluation point: the training loss and accuracy (running means over the batches since
    the previous point, in training mode) and the validation loss and accuracy after it."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def append(self, *values: float) -> None:
        """Add one point: epoch, train_loss, train_acc, test_loss, test_acc."""
        for name, value in zip(vars(self), values, strict=True):
            getattr(self, name).append(value)


class Callback:
    """Override what you need: `on_batch` after every optimizer step, `on_evaluated` after every
    evaluation point."""

    def on_batch(self, epoch: int, loss: float, accuracy: float) -> None:
        """The running training loss and accuracy since the last evaluation point."""

    def on_evaluated(self, history: History) -> None:
        """A new point was appended to `history`."""


def fit(
    model: Module,
    loss_fn: Loss,
    optimizer: Optimizer,
    loader: Iterable[tuple[Any, np.ndarray]],
    epochs: int = 1,
    validation: tuple[Any, np.ndarray] | None = None,
    scheduler: LRScheduler | None = None,
    scheduler_per_batch: bool = False,
    evaluate_every: int = 1,
    callbacks: Sequence[Callback] = (),
    inputs: Callable[[Any], Tensor] = Tensor,
) -> History:
    """Train `model` in place for `epochs` passes over `loader` ((inputs, integer labels) batches,
    labels (N,) of the classes the model's (N, C) output scores); evaluate on `validation` every
    `evaluate_every` epochs and after the last. `inputs` turns a batch into the model's input.

    Raises FloatingPointError at the first loss that is not finite, naming the epoch and batch.
    """
    history = History()
    loss_sum = correct = seen = 0
    for epoch in range(1, epochs + 1):
        model.train()
        for batch, (x, y) in enumerate(loader, 1):
            z = model(inputs(x))
            loss = loss_fn(z, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_per_batch:
                scheduler.step()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"fit: the loss became {value} at epoch {epoch}, batch {batch}: training stopped "
                    "(try a smaller learning rate)"
                )
            loss_sum += value * len(y)
            correct += int(np.count_nonzero(z.data.argmax(1) == y))
            seen += len(y)
            for cb in callbacks:
                cb.on_batch(epoch, loss_sum / seen, correct / seen)
        if scheduler is not None and not scheduler_per_batch:
            scheduler.step()
        if epoch % evaluate_every == 0 or epoch == epochs:
            test_loss, test_acc = (math.nan, math.nan)
            if validation is not None:
                test_loss, test_acc, _ = evaluate(model, loss_fn, *validation, inputs=inputs)
            history.append(epoch, loss_sum / max(seen, 1), correct / max(seen, 1), test_loss, test_acc)
            for cb in callbacks:
                cb.on_evaluated(history)
            loss_sum = correct = seen = 0
    return history


def evaluate(
    model: Module,
    loss_fn: Loss,
    x: Any,
    y: np.ndarray,
    batch_size: int = 1_000,
    inputs: Callable[[Any], Tensor] = Tensor,
) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, outputs) of `model` on (x, y), in eval mode, recording no graph,
    `batch_size` rows at a time."""
    z = predict(model, x, batch_size, inputs)
    return loss_fn(Tensor(z), y).item(), float(np.mean(z.argmax(1) == y)), z


def predict(
    model: Module, x: Any, batch_size: int = 1_000, inputs: Callable[[Any], Tensor] = Tensor
) -> np.ndarray:
    """The model's outputs for the rows of `x`, in eval mode, recording no graph, `batch_size`
    rows at a time (`outputs.argmax(1)` are the predicted classes)."""
    # NOTE: not larger: a convolution's patch matrix is ~kH·kW times its input, so 10,000 MNIST
    # digits through a 5×5 conv make ~0.5 GB of patches, and scoring them took 3.5 s of CPU
    # against 1.0 s in batches of 1,000 (an MLP scores as fast either way).
    if len(x) == 0:
        raise ValueError("predict: no samples (0 rows): there is nothing to score")
    model.eval()
    with no_grad():
        return np.concatenate(
            [model(inputs(x[i : i + batch_size])).data for i in range(0, len(x), batch_size)]
        )
