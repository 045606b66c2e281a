"""Train an MLP on MNIST with tinygrad_edu, from the command line.

    python examples/mnist_mlp.py                               # the default MLP: >= 98% test in < 30 s
    python examples/mnist_mlp.py --preset nielsen              # one of the write-ups' recipes
    python examples/mnist_mlp.py --subset --epochs 3           # offline, on the bundled subset
    python examples/mnist_mlp.py --preset fullbatch-softmax --animate training.gif   # decision regions
    python examples/mnist_mlp.py --hidden 512,256 --dropout 0.2 --optimizer adamw \\
        --save model.npz --plots plots/

The presets, and what each write-up reported, are in examples/mnist_presets.py; what this library
reaches with them is in examples/README.md. Explicit options override the preset's values.

MNIST is looked for in --data-dir, then $TINYGRAD_EDU_DATA/mnist, then ~/.cache/tinygrad_edu/mnist,
and downloaded there if it is in none of them (unless --no-download). If that fails too, the
program says so loudly and trains on the small subset bundled with the package.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mnist_common as common
import mnist_presets as presets
import numpy as np
from mnist_presets import PRESETS, Config, with_overrides

import tinygrad_edu as tg
import tinygrad_edu.functional as F
from tinygrad_edu import nn
from tinygrad_edu.nn import init

PROGRAM = "mnist_mlp.py"
PIXELS, CLASSES = 784, 10
_EYE = np.eye(CLASSES, dtype=np.float32)

ACTIVATION = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
OUTPUT = {"none": lambda z: z, "softmax": F.softmax, "sigmoid": F.sigmoid}


# ---- the network ----------------------------------------------------------------------------
class MLP(nn.Module):
    """784 → hidden[0] → … → hidden[-1] → 10. Each hidden layer is Linear, activation, and Dropout
    when p > 0; `features` is the last hidden layer's output, `forward` the final Linear's output
    z (the logits). The output activation belongs to the loss (see `make_loss`)."""

    def __init__(self, hidden: tuple[int, ...], activation: str = "relu", dropout: float = 0.0) -> None:
        sizes = (PIXELS, *hidden)
        layers: list[nn.Module] = []
        for n_in, n_out in itertools.pairwise(sizes):
            layers += [nn.Linear(n_in, n_out), ACTIVATION[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(sizes[-1], CLASSES)

    def linears(self) -> list[nn.Linear]:
        return [m for m in self.hidden if isinstance(m, nn.Linear)] + [self.out]

    def features(self, x: tg.Tensor) -> tg.Tensor:
        return self.hidden(x)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.out(self.hidden(x))


_WEIGHT_INIT = {
    "kaiming": lambda w: init.kaiming_uniform_(w, nonlinearity="relu"),
    "kaiming_normal": lambda w: init.kaiming_normal_(w, nonlinearity="relu"),
    "xavier": init.xavier_uniform_,
    "xavier_normal": init.xavier_normal_,
    "uniform": lambda w: init.uniform_(w, -0.5, 0.5),
    "nielsen": lambda w: init.normal_(w, 0.0, 1 / math.sqrt(w.shape[1])),
}
_BIAS_INIT = {
    "uniform": lambda b: init.uniform_(b, -0.5, 0.5),
    "nielsen": lambda b: init.normal_(b, 0.0, 1.0),
}


def init_linear(layer: nn.Linear, scheme: str) -> None:
    """Initialise one layer, W of shape (out, in) and b of shape (out,), by `scheme`:

    - pytorch: nn.Linear's own, W, b ~ U(-1/√in, 1/√in);
    - kaiming: W ~ U(-√(6/in), √(6/in)), b = 0 (He et al., for ReLU layers);
    - kaiming_normal: W ~ N(0, 2/in), b = 0;
    - xavier: W ~ U(-√(6/(in+out)), √(6/(in+out))), b = 0 (Glorot & Bengio, for sigmoid/tanh);
    - xavier_normal: W ~ N(0, 2/(in+out)), b = 0;
    - uniform: W, b ~ U(-0.5, 0.5) (the write-ups' `np.random.rand(...) - 0.5`);
    - nielsen: W ~ N(0, 1/in), b ~ N(0, 1) (Nielsen's book, chapter 3).
    """
    if scheme == "pytorch":
        return
    _WEIGHT_INIT[scheme](layer.weight)
    _BIAS_INIT.get(scheme, init.zeros_)(layer.bias)


def build_model(cfg: Config) -> MLP:
    """The network of `cfg`, initialised from the library's generator (`tg.manual_seed`)."""
    model = MLP(cfg.hidden, cfg.activation, cfg.dropout)
    for layer, scheme in zip(model.linears(), cfg.layer_inits()):
        init_linear(layer, scheme)
    return model


# ---- loss ------------------------------------------------------------------------------------
def one_hot(y: np.ndarray) -> np.ndarray:
    return _EYE[y]


def make_loss(cfg: Config) -> Callable[[tg.Tensor, np.ndarray], tg.Tensor]:
    """L(z, y) for logits z (N, 10) and labels y (N,), t = onehot(y), averaged over the N samples:

        cross_entropy   -log softmax(z)[y]                          softmax output, inside the loss
        bce             -Σ_k t_k log σ(z_k) + (1 - t_k) log(1 - σ(z_k))   sigmoid output, inside
        mse             ½ Σ_k (a_k - t_k)²,  a = output_activation(z)

    Cross-entropy and BCE are computed from the logits, which stays finite where log(softmax)
    or log(σ) of a saturated output would not.
    """
    if cfg.loss == "cross_entropy":
        return F.cross_entropy
    if cfg.loss == "bce":

        def bce(z: tg.Tensor, y: np.ndarray) -> tg.Tensor:
            return F.binary_cross_entropy_with_logits(z, one_hot(y), reduction="sum") * (1.0 / len(y))

        return bce
    activation = OUTPUT[cfg.output_activation]

    def mse(z: tg.Tensor, y: np.ndarray) -> tg.Tensor:
        return F.mse_loss(activation(z), one_hot(y), reduction="sum") * (0.5 / len(y))

    return mse


# ---- a run, end to end ----------------------------------------------------------------------
def run(cfg: Config, **options: Any) -> common.Result:
    """Load the data, build and train the network of `cfg`, and score it on both splits. The options
    (data_dir, subset, download, show_progress, start, mnist) are mnist_common.load_and_train's."""
    return common.load_and_train(cfg, build_model, make_loss(cfg), describe(cfg), **options)


def describe(cfg: Config) -> str:
    schedule = "no schedule" if cfg.schedule == "none" else f"{cfg.schedule} schedule"
    sizes = "-".join(str(n) for n in (PIXELS, *cfg.hidden, CLASSES))
    batches = "full batch" if cfg.full_batch else f"batch {cfg.batch_size}"
    steps = f"{cfg.epochs} {'iterations' if cfg.full_batch else 'epochs'}"
    extras = f", dropout {cfg.dropout}" if cfg.dropout else ""
    return (
        f"{sizes} {cfg.activation} → {cfg.output_activation}, loss {cfg.loss}, init {','.join(cfg.init)}, "
        f"{cfg.optimizer} lr {cfg.lr:g}, {schedule}, {batches}, {steps}{extras}, "
        f"seed {cfg.seed}"
    )


def probabilities(cfg: Config, z: np.ndarray) -> np.ndarray:
    """The network's output for logits z: σ(z) for a sigmoid output, else softmax(z)."""
    with tg.no_grad():
        out = F.sigmoid(tg.Tensor(z)) if cfg.output_activation == "sigmoid" else F.softmax(tg.Tensor(z))
    return out.data


def hidden_features(model: MLP, x: np.ndarray) -> np.ndarray:
    """The last hidden layer's output for x (the pixels themselves if there is no hidden layer)."""
    model.eval()
    with tg.no_grad():
        return model.features(common.inputs(x)).data


def plot(result: common.Result, out_dir: str | os.PathLike) -> list[Path]:
    """The four PNGs of --plots (see mnist_plots.py)."""
    from mnist_plots import save_plots  # matplotlib is only needed for the plots

    data, cfg = result.data, result.config
    return save_plots(
        out_dir,
        result.history,
        "iteration" if cfg.full_batch else "epoch",
        probabilities(cfg, result.test_logits),
        data.y_test,
        data.test_images,
        hidden_features(result.model, data.x_test),
    )


def save_model(result: common.Result, path: str | os.PathLike) -> tuple[Path, Path]:
    """Weights to `path` and the Config beside it as JSON (see mnist_common.save_model)."""
    return common.save_model(result, path, PROGRAM)


def load_model(path: str | os.PathLike) -> tuple[MLP, Config]:
    """The network saved by `save_model` at `path` (and its JSON sidecar), in eval mode."""
    return common.load_model(path, Config, build_model)


# ---- command line ---------------------------------------------------------------------------
def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(n) for n in text.split(",") if n.strip()) if text.lower() != "none" else ()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 256,128, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    p, net = common.new_parser("Train an MLP on MNIST with tinygrad_edu.", PRESETS, lambda c: c.reported)
    net.add_argument("--hidden", type=_sizes, help="hidden layer sizes, e.g. 256,128 (none: no hidden layer)")
    net.add_argument("--activation", choices=presets.ACTIVATIONS)
    net.add_argument("--output-activation", choices=presets.OUTPUT_ACTIVATIONS)
    net.add_argument("--loss", choices=presets.LOSSES)
    net.add_argument(
        "--init",
        type=_names,
        help=f"{', '.join(presets.INITS)}: one, or one per layer (kaiming,kaiming,xavier)",
    )
    net.add_argument("--dropout", type=float, help="dropout probability after each hidden layer")
    fit = common.add_training_options(p)
    fit.add_argument("--iterations", type=int, help="full-batch training: number of gradient steps")
    common.add_run_options(p)
    common.add_animation_options(p)
    return p


def configure(preset: str, overrides: dict) -> Config:
    """The preset's Config with the options given applied (--iterations is --epochs, full batch)."""
    iterations = overrides.pop("iterations", None)
    if iterations is not None:
        if "epochs" in overrides:
            raise ValueError("give --epochs or --iterations, not both")
        overrides["epochs"] = iterations
    cfg = with_overrides(preset, **overrides)
    if iterations is not None and not cfg.full_batch:
        raise ValueError(
            "--iterations counts full-batch steps: use it with --batch-size full, or use --epochs"
        )
    return cfg


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    """The Config (the preset with the given options applied) and the run options."""
    return common.parse_config(build_parser(), argv, configure)


def main(argv: list[str] | None = None, start: float | None = None) -> common.Result:
    cfg, args = parse_args(argv)
    return common.run_command(PROGRAM, cfg, args, run, plot, start)


if __name__ == "__main__":
    main(start=common.START)
