"""Train a convolutional network on MNIST with tinygrad_edu, from the command line.

    python examples/mnist_cnn.py                        # the default CNN: >= 99.2% test in < 120 s
    python examples/mnist_cnn.py --preset lenet5        # LeNet-5 with ReLU and max-pooling
    python examples/mnist_cnn.py --preset modern        # two 3x3 conv blocks, max-pool, dropout
    python examples/mnist_cnn.py --subset --epochs 1    # offline, on the bundled subset
    python examples/mnist_cnn.py --epochs 8 --save cnn.npz --plots plots/

The command line, the data search, the progress display, --save and --plots are those of
examples/mnist_mlp.py (both are thin command lines on mnist_common.py); the training options
(--optimizer, --lr, --epochs, --batch-size, --seed, ...) override the preset's values. --plots
adds the first layer's learned filters and the feature maps of one test digit to the MLP's plots.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mnist_common as common
import numpy as np
from mnist_common import Recipe

import tinygrad_edu as tg
import tinygrad_edu.functional as F
from tinygrad_edu import nn

PROGRAM = "mnist_cnn.py"
SIDE, CLASSES = 28, 10


# ---- the networks ---------------------------------------------------------------------------
def lenet5(dropout: float) -> tuple[nn.Sequential, nn.Sequential]:
    """LeNet-5 (LeCun et al., 1998) as it is written today: ReLU for its scaled tanh, max-pooling
    for its trained subsampling, one fully connected C5. 28×28 → conv 5×5 1→6 pad 2 → pool →
    14×14 → conv 5×5 6→16 → 10×10 → pool → 16·5·5 = 400 → 120 → 84 → 10."""
    features = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    )  # fmt: skip
    return features, _classifier(400, (120, 84), dropout)


def small(dropout: float) -> tuple[nn.Sequential, nn.Sequential]:
    """The default: two 5×5 blocks of 8 and 16 channels without padding, one hidden layer of 128.
    28×28 → conv 5×5 1→8 → 24×24 → pool → 12×12 → conv 5×5 8→16 → 8×8 → pool → 4×4 →
    16·4·4 = 256 → 128 → 10 (LeNet-5's shape; the unpadded first layer is a quarter cheaper)."""
    features = nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    )  # fmt: skip
    return features, _classifier(256, (128,), dropout)


def modern(dropout: float) -> tuple[nn.Sequential, nn.Sequential]:
    """Two 3×3 convolutions, one max-pool, dropout, then the classifier (the shape of Keras's
    MNIST example, narrower): conv 3×3 1→16 → 26×26 → conv 3×3 16→32 → 24×24 → pool → 12×12 →
    dropout → 32·12·12 = 4608 → 128 → dropout → 10."""
    features = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(dropout),
    )  # fmt: skip
    return features, _classifier(32 * 12 * 12, (128,), dropout)


def _classifier(n_in: int, hidden: tuple[int, ...], dropout: float) -> nn.Sequential:
    """Flatten, then Linear + ReLU per hidden size (after Dropout when p > 0), then Linear to 10."""
    layers: list[nn.Module] = [nn.Flatten()]
    for n_out in hidden:
        layers += [nn.Dropout(dropout)] if dropout else []
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        n_in = n_out
    layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(n_in, CLASSES))


NETS: dict[str, Callable[[float], tuple[nn.Sequential, nn.Sequential]]] = {
    "small": small,
    "lenet5": lenet5,
    "modern": modern,
}


class CNN(nn.Module):
    """`features`: the convolution blocks, (N, 1, 28, 28) → (N, C, H, W); `classifier`: flatten
    and the fully connected layers, → (N, 10) logits. The input may be rows of 784 pixels."""

    def __init__(self, net: str, dropout: float = 0.0) -> None:
        self.features, self.classifier = NETS[net](dropout)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.classifier(self.features(x.reshape(-1, 1, SIDE, SIDE)))

    def hidden(self, x: tg.Tensor) -> tg.Tensor:
        """The last hidden layer's output (the classifier's input to its final Linear)."""
        return self.classifier[:-1](self.features(x.reshape(-1, 1, SIDE, SIDE)))


# ---- the recipes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Config(Recipe):
    """One CNN (`net`, one of NETS; `dropout`, the probability of its Dropout layers) and its
    training recipe."""

    net: str = "small"
    dropout: float = 0.0
    lr: float = 3e-3
    epochs: int = 6
    batch_size: int = 64


PRESETS: dict[str, Config] = {
    "default": Config(dropout=0.25, reported="this project's own: >= 99.2% test in <= 120 s on 2 cores"),
    "lenet5": Config(
        net="lenet5",
        epochs=10,
        reported="LeCun et al. 1998: 0.95% test error, with tanh and trained subsampling",
    ),
    # NOTE: lr 1e-3 reached only 98.46% in 3 epochs (seed 0); 3e-3 reached 99.14% in PyTorch.
    "modern": Config(net="modern", dropout=0.25, epochs=3, batch_size=128, reported="no figure to match"),
}


def check(cfg: Config) -> Config:
    """Raise ValueError naming the option if `cfg` cannot run; return it."""
    common.check_recipe(cfg)
    common.choice("net", cfg.net, tuple(NETS))
    if cfg.full_batch:
        raise ValueError("batch_size: a CNN trains on mini-batches (the 60,000 images' patches fill GBs)")
    if not 0 <= cfg.dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
    return cfg


def with_overrides(preset: str, **overrides: object) -> Config:
    """The preset's Config with the explicitly given options replacing its values."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    return check(common.override(PRESETS[preset], **overrides))


def build_model(cfg: Config) -> CNN:
    """The network of `cfg` with PyTorch's initialisation, from the library's generator."""
    return CNN(cfg.net, cfg.dropout)


# ---- a run, end to end ----------------------------------------------------------------------
def run(cfg: Config, **options: Any) -> common.Result:
    """Load the data, build and train the network of `cfg`, and score it on both splits. The options
    (data_dir, subset, download, show_progress, start, mnist) are mnist_common.load_and_train's."""
    return common.load_and_train(cfg, build_model, F.cross_entropy, describe(cfg), **options)


def describe(cfg: Config) -> str:
    schedule = "no schedule" if cfg.schedule == "none" else f"{cfg.schedule} schedule"
    extras = f", dropout {cfg.dropout}" if cfg.dropout else ""
    return (
        f"{cfg.net} CNN, cross-entropy, {cfg.optimizer} lr {cfg.lr:g}, {schedule}, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs{extras}, seed {cfg.seed}"
    )


# ---- plots ----------------------------------------------------------------------------------
def feature_maps(model: CNN, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, maps (C, H, W)) after each convolution's ReLU, for one image of 784 pixels."""
    model.eval()
    maps, convs = [], 0
    with tg.no_grad():
        h = common.inputs(image[None]).reshape(1, 1, SIDE, SIDE)
        for layer in model.features:
            convs += isinstance(layer, nn.Conv2d)
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                maps.append((f"conv{convs} + ReLU", h.data[0]))
    return maps


def plot(result: common.Result, out_dir: str | os.PathLike) -> list[Path]:
    """The PNGs of --plots: the MLP's four (see mnist_plots.py) and filters.png, feature_maps.png."""
    from mnist_plots import save_conv_plots, save_plots  # matplotlib is only needed for the plots

    data, model = result.data, result.model
    with tg.no_grad():
        probs = F.softmax(tg.Tensor(result.test_logits)).data
        model.eval()
        hidden = np.concatenate(
            [
                model.hidden(common.inputs(data.x_test[i : i + 2000])).data
                for i in range(0, len(data.x_test), 2000)
            ]
        )
    paths = save_plots(out_dir, result.history, "epoch", probs, data.y_test, data.test_images, hidden)
    first = model.features[0].weight.data[:, 0]
    return paths + save_conv_plots(
        out_dir, first, data.test_images[0], int(data.y_test[0]), feature_maps(model, data.x_test[0])
    )


# ---- saving and loading ---------------------------------------------------------------------
def save_model(result: common.Result, path: str | os.PathLike) -> tuple[Path, Path]:
    """Weights to `path` and the Config beside it as JSON (see mnist_common.save_model)."""
    return common.save_model(result, path, PROGRAM)


def load_model(path: str | os.PathLike) -> tuple[CNN, Config]:
    """The network saved by `save_model` at `path` (and its JSON sidecar), in eval mode."""
    return common.load_model(path, Config, build_model)


# ---- command line ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p, net = common.new_parser(
        "Train a convolutional network on MNIST with tinygrad_edu.",
        PRESETS,
        lambda c: f"{c.net}: {c.reported}",
    )
    net.add_argument("--net", choices=list(NETS), help="the architecture (see NETS in mnist_cnn.py)")
    net.add_argument("--dropout", type=float, help="probability of the network's Dropout layers")
    common.add_training_options(p)
    common.add_run_options(p, weights="CNN.npz")
    common.add_animation_options(p)
    return p


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    """The Config (the preset with the given options applied) and the run options."""
    return common.parse_config(build_parser(), argv, lambda preset, given: with_overrides(preset, **given))


def main(argv: list[str] | None = None, start: float | None = None) -> common.Result:
    cfg, args = parse_args(argv)
    return common.run_command(PROGRAM, cfg, args, run, plot, start)


if __name__ == "__main__":
    main(start=common.START)
