"""tinygrad_edu.train: fit against the same training written out by hand in numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader
from tinygrad_edu.optim.lr_scheduler import StepLR
from tinygrad_edu.train import Callback, evaluate, fit

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 4))
Y = RNG.integers(0, 3, 50)


def softmax_regression(w: np.ndarray, b: np.ndarray, lr: float, epochs: int) -> tuple:
    """SGD on softmax regression by hand, over the same batches: dL/dz = (p - onehot(y)) / n."""
    w, b, losses = w.copy(), b.copy(), []
    loader = DataLoader((X, Y), 16, shuffle=True, seed=3)
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            z = xb @ w.T + b
            z = z - z.max(1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
            total += -np.log(p[np.arange(len(yb)), yb]).sum()
            d = p.copy()
            d[np.arange(len(yb)), yb] -= 1
            d /= len(yb)
            w -= lr * d.T @ xb
            b -= lr * d.sum(0)
        losses.append(total / len(X))
    return w, b, losses


def test_fit_trains_as_the_loop_written_by_hand():
    model = nn.Linear(4, 3, dtype=np.float64)
    w0, b0 = model.weight.data.copy(), model.bias.data.copy()
    loader = DataLoader((X, Y), 16, shuffle=True, seed=3)
    history = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.5), loader, epochs=3)
    w, b, losses = softmax_regression(w0, b0, 0.5, 3)
    np.testing.assert_allclose(model.weight.data, w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.bias.data, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.train_loss, losses, rtol=1e-12)
    assert history.epoch == [1, 2, 3] and all(np.isnan(history.test_loss))


def test_validation_every_k_epochs_and_callbacks():
    model = nn.Linear(4, 3, dtype=np.float64)
    seen: list = []

    class Spy(Callback):
        def on_batch(self, epoch, loss, accuracy):
            seen.append(("batch", epoch))

        def on_evaluated(self, history):
            seen.append(("point", history.epoch[-1]))

    loader = DataLoader((X, Y), 25)
    history = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), loader, epochs=5,
                  validation=(X, Y), evaluate_every=2, callbacks=[Spy()])  # fmt: skip
    assert history.epoch == [2, 4, 5]
    assert seen.count(("batch", 1)) == 2 and [s for s in seen if s[0] == "point"] == [
        ("point", 2),
        ("point", 4),
        ("point", 5),
    ]
    z = X @ model.weight.data.T + model.bias.data
    assert history.test_acc[-1] == np.mean(z.argmax(1) == Y)


def test_scheduler_steps_per_epoch_or_per_batch():
    for per_batch, expected in ((False, 0.1 * 0.5**3), (True, 0.1 * 0.5 ** (3 * 2))):
        model = nn.Linear(4, 3, dtype=np.float64)
        opt = optim.SGD(model.parameters(), lr=0.1)
        fit(model, F.cross_entropy, opt, DataLoader((X, Y), 25), epochs=3,
            scheduler=StepLR(opt, step_size=1, gamma=0.5), scheduler_per_batch=per_batch)  # fmt: skip
        assert opt.param_groups[0]["lr"] == pytest.approx(expected)


def test_a_loss_that_is_not_finite_stops_training_and_names_where():
    model = nn.Linear(4, 3, dtype=np.float64)
    with (
        np.errstate(all="ignore"),
        pytest.raises(FloatingPointError, match=r"became (nan|inf) at epoch 1, batch"),
    ):
        fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=1e308), DataLoader((X, Y), 10), epochs=2)


def test_evaluate_scores_in_eval_mode_and_refuses_an_empty_split():
    model = nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.Dropout(0.9))
    model.train()
    loss, acc, z = evaluate(model, F.cross_entropy, X, Y, batch_size=7)
    w, b = model[0].weight.data, model[0].bias.data
    np.testing.assert_allclose(z, X @ w.T + b)  # no dropout: eval mode
    assert acc == np.mean((X @ w.T + b).argmax(1) == Y)
    zs = z - z.max(1, keepdims=True)
    assert loss == pytest.approx(np.mean(np.log(np.exp(zs).sum(1)) - zs[np.arange(len(Y)), Y]), rel=1e-12)
    with pytest.raises(ValueError, match="no samples"):
        evaluate(model, F.cross_entropy, X[:0], Y[:0])
