"""Train an MLP on MNIST with tinygrad_edu, from the command line.

    python examples/mnist_mlp.py                               # the default MLP: >= 98% test in < 30 s
    python examples/mnist_mlp.py --preset nielsen              # one of the write-ups' recipes
    python examples/mnist_mlp.py --subset --epochs 3           # offline, on the bundled subset
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
import dataclasses
import itertools
import json
import math
import os
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_START = time.perf_counter()  # wall time is measured from here: imports and data loading included

# NOTE: numpy's OpenBLAS runs every matrix product on one thread per core. The products here are
# small (a batch of 256 by a few hundred units), so the threads mostly wait for one another, and
# when another process keeps a core busy they wait much longer: on a loaded 2-core machine an
# epoch took 10x longer with 2 threads than with 1, and on an idle one 1 thread is as fast. The
# variables are read when numpy is imported, so they are set first; set them yourself to override.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import mnist_presets as presets  # noqa: E402
import numpy as np  # noqa: E402
from mnist_presets import PRESETS, Config, with_overrides  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
import tinygrad_edu.functional as F  # noqa: E402
from tinygrad_edu import nn, optim  # noqa: E402
from tinygrad_edu.data import (  # noqa: E402
    MNIST,
    DataLoader,
    DownloadError,
    flatten,
    load_mnist,
    load_mnist_subset,
    to_float,
)
from tinygrad_edu.fileio import atomic_write  # noqa: E402
from tinygrad_edu.nn import init  # noqa: E402
from tinygrad_edu.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR  # noqa: E402

try:
    from tqdm import tqdm
except ImportError:  # tqdm comes with the `examples` extra; without it, plain lines
    tqdm = None

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


# ---- loss, optimizer, schedule --------------------------------------------------------------
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


def make_optimizer(cfg: Config, model: nn.Module) -> optim.Optimizer:
    kwargs = {} if cfg.weight_decay is None else {"weight_decay": cfg.weight_decay}
    params = list(model.parameters())
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, **kwargs)
    if cfg.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, **kwargs)
    adam = optim.Adam if cfg.optimizer == "adam" else optim.AdamW
    return adam(params, lr=cfg.lr, betas=cfg.betas, **kwargs)


def make_scheduler(cfg: Config, opt: optim.Optimizer, steps: int) -> tuple[LRScheduler | None, bool]:
    """(scheduler, stepped after every batch?) for `steps` batches per epoch. cosine anneals the
    lr to 0 over the whole run, batch by batch (a few epochs are too few steps for a per-epoch
    cosine); step multiplies it by gamma every step_size epochs."""
    if cfg.schedule == "cosine":
        return CosineAnnealingLR(opt, T_max=cfg.epochs * steps), True
    if cfg.schedule == "step":
        return StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma), False
    return None, False


# ---- data -----------------------------------------------------------------------------------
def load_data(data_dir: str | None = None, subset: bool = False, download: bool = True) -> MNIST:
    """Full MNIST (found or downloaded), or the bundled subset if asked for, or if neither works."""
    if subset:
        return load_mnist_subset()
    try:
        return load_mnist(data_dir, download=download)
    except (FileNotFoundError, DownloadError) as e:
        subset = load_mnist_subset()
        _warn_fallback(e, download, subset)
        return subset


def _warn_fallback(error: Exception, download: bool, subset: MNIST) -> None:
    rule = "!" * 88
    why = "and could not be downloaded" if download else "and --no-download forbids downloading it"
    print(
        f"\n{rule}\nWARNING: MNIST was not found {why}:\n\n"
        + textwrap.indent(str(error), "    ")
        + f"\n\nFALLING BACK to the small subset bundled with tinygrad_edu ({len(subset.train_images):,} "
        f"training and {len(subset.test_images):,} test images).\nAccuracies on it are lower than on "
        "full MNIST and are NOT comparable with the presets' table.\n"
        f"{rule}\n",
        file=sys.stderr,
        flush=True,
    )


# ---- training -------------------------------------------------------------------------------
@dataclass
class History:
    """Per evaluation point: training loss and accuracy (running, over the batches since the
    last point, in training mode) and test loss and accuracy (after the point, in eval mode)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def append(self, *values: float) -> None:
        """Add one point: epoch, train_loss, train_acc, test_loss, test_acc."""
        for name, value in zip(vars(self), values, strict=True):
            getattr(self, name).append(value)


class Progress:
    """Live loss and accuracy: a tqdm bar on a terminal, else a plain line per logged epoch."""

    def __init__(self, cfg: Config, steps: int, enabled: bool) -> None:
        self.unit = "iteration" if cfg.full_batch else "epoch"
        self.epochs = cfg.epochs
        self.eval_every = max(1, cfg.epochs // 100) if cfg.full_batch else 1
        self.log_every = self.eval_every * max(1, cfg.epochs // self.eval_every // 20)
        use_bar = enabled and tqdm is not None and sys.stdout.isatty()
        self.bar = tqdm(total=steps, unit="step", dynamic_ncols=True) if use_bar else None
        self.start = time.perf_counter()
        self.last_test = ""

    def batch(self, epoch: int, loss: float, acc: float) -> None:
        if self.bar is not None:
            self.bar.set_description(f"{self.unit} {epoch}/{self.epochs}", refresh=False)
            self.bar.set_postfix_str(f"loss {loss:.4f}  acc {acc:.2%}{self.last_test}", refresh=False)
            self.bar.update(1)

    def evaluated(self, h: History) -> None:
        epoch = h.epoch[-1]
        self.last_test = f"  test acc {h.test_acc[-1]:.2%}"
        line = (
            f"{self.unit} {epoch:>{len(str(self.epochs))}}/{self.epochs}  loss {h.train_loss[-1]:.4f}  "
            f"acc {h.train_acc[-1]:.2%}  test loss {h.test_loss[-1]:.4f}  test acc {h.test_acc[-1]:.2%}  "
            f"({time.perf_counter() - self.start:.1f} s)"
        )
        if epoch % self.log_every and epoch != self.epochs:
            return
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def evaluate(model: MLP, loss_fn: Callable, x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, logits) on (x, y), in eval mode (no dropout), recording no graph."""
    model.eval()
    with tg.no_grad():
        z = np.concatenate([model(inputs(x[i : i + 10_000])).data for i in range(0, len(x), 10_000)])
        loss = loss_fn(tg.Tensor(z), y).item()
    return loss, float(np.mean(z.argmax(1) == y)), z


def train(model: MLP, cfg: Config, data: Data, show_progress: bool = True) -> History:
    """Train `model` in place as `cfg` says; evaluate on the test set after every epoch (every
    1% of the iterations for full-batch training)."""
    loss_fn = make_loss(cfg)
    opt = make_optimizer(cfg, model)
    batch_size = cfg.batch_size or len(data.x_train)
    loader = DataLoader((data.x_train, data.y_train), batch_size, shuffle=not cfg.full_batch, seed=cfg.seed)
    scheduler, per_batch = make_scheduler(cfg, opt, len(loader))
    progress = Progress(cfg, cfg.epochs * len(loader), show_progress)
    history = History()
    loss_sum = correct = seen = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        for x, y in loader:
            z = model(inputs(x))
            loss = loss_fn(z, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if per_batch:
                scheduler.step()
            loss_sum += loss.item() * len(y)
            correct += int(np.count_nonzero(z.data.argmax(1) == y))
            seen += len(y)
            progress.batch(epoch, loss_sum / seen, correct / seen)
        if scheduler is not None and not per_batch:
            scheduler.step()
        if epoch % progress.eval_every == 0 or epoch == cfg.epochs:
            test_loss, test_acc, _ = evaluate(model, loss_fn, data.x_test, data.y_test)
            history.append(epoch, loss_sum / seen, correct / seen, test_loss, test_acc)
            progress.evaluated(history)
            loss_sum = correct = seen = 0
    progress.close()
    return history


# ---- a run, end to end ----------------------------------------------------------------------
def inputs(x: np.ndarray) -> tg.Tensor:
    """The network's input for rows of pixels: float32 in [0, 1] (uint8 rows are scaled here)."""
    return tg.Tensor(x if x.dtype == np.float32 else to_float(x))


@dataclass
class Data:
    """MNIST as the network takes it: one row of 784 pixels per image, labels 0..9.

    The rows stay uint8 and `inputs` scales each batch as it is used: converting all 60,000
    images to float32 up front costs more (~0.4 s, mostly first-touching 188 MB) than a few
    epochs of converting batches. Full-batch training feeds the same batch at every step, so
    it converts once (`as_float=True`).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_images: np.ndarray
    source: str

    @classmethod
    def from_mnist(cls, mnist: MNIST, as_float: bool = False) -> Data:
        if mnist.test_labels is None:
            raise ValueError(f"mnist_mlp: the test split of {mnist.source} has no labels to score against")
        x_train = flatten(to_float(mnist.train_images) if as_float else mnist.train_images)
        return cls(
            x_train,
            mnist.train_labels,
            flatten(mnist.test_images),
            mnist.test_labels,
            mnist.test_images,
            mnist.source,
        )


@dataclass
class Result:
    model: MLP
    config: Config
    history: History
    train_acc: float
    test_acc: float
    test_logits: np.ndarray
    data: Data
    load_seconds: float
    wall_seconds: float


def run(
    cfg: Config,
    data_dir: str | None = None,
    subset: bool = False,
    download: bool = True,
    show_progress: bool = True,
    start: float | None = None,
) -> Result:
    """Load the data, build and train the network of `cfg`, and score it on both splits.
    Times count from `start` (a `time.perf_counter()` value; default: now)."""
    start = time.perf_counter() if start is None else start
    data = Data.from_mnist(load_data(data_dir, subset, download), as_float=cfg.full_batch)
    load_seconds = time.perf_counter() - start
    print(f"data: {len(data.x_train):,} training and {len(data.x_test):,} test images from {data.source}")
    tg.manual_seed(cfg.seed)
    model = build_model(cfg)
    print(f"model: {describe(cfg)}")
    history = train(model, cfg, data, show_progress)
    loss_fn = make_loss(cfg)
    _, train_acc, _ = evaluate(model, loss_fn, data.x_train, data.y_train)
    _, test_acc, test_logits = evaluate(model, loss_fn, data.x_test, data.y_test)
    wall = time.perf_counter() - start
    return Result(model, cfg, history, train_acc, test_acc, test_logits, data, load_seconds, wall)


def describe(cfg: Config) -> str:
    sizes = "-".join(str(n) for n in (PIXELS, *cfg.hidden, CLASSES))
    batches = "full batch" if cfg.full_batch else f"batch {cfg.batch_size}"
    steps = f"{cfg.epochs} {'iterations' if cfg.full_batch else 'epochs'}"
    extras = f", dropout {cfg.dropout}" if cfg.dropout else ""
    return (
        f"{sizes} {cfg.activation} → {cfg.output_activation}, loss {cfg.loss}, init {','.join(cfg.init)}, "
        f"{cfg.optimizer} lr {cfg.lr:g} ({cfg.schedule} schedule), {batches}, {steps}{extras}, "
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
        return model.features(inputs(x)).data


def plot(result: Result, out_dir: str | os.PathLike) -> list[Path]:
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


# ---- saving and loading ---------------------------------------------------------------------
def _sidecar(path: Path) -> Path:
    if path.suffix == ".json":
        raise ValueError(f"mnist_mlp: {path} is the name of the architecture file; save the weights as .npz")
    return path.with_suffix(".json")


def save_model(result: Result, path: str | os.PathLike) -> tuple[Path, Path]:
    """Weights to `path` (tg.save: .npz, written atomically, no pickle) and what is needed to
    rebuild the network, as JSON, beside it (`model.npz` → `model.json`)."""
    path = Path(path)
    meta_path = _sidecar(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tg.save(result.model.state_dict(), path)
    meta = {
        "format": "tinygrad_edu examples/mnist_mlp.py",
        "weights": path.name,
        "config": dataclasses.asdict(result.config),
        "train_accuracy": result.train_acc,
        "test_accuracy": result.test_acc,
        "data": result.data.source,
    }
    with atomic_write(meta_path) as f:
        f.write((json.dumps(meta, indent=2) + "\n").encode())
    return path, meta_path


def load_model(path: str | os.PathLike) -> tuple[MLP, Config]:
    """The network saved by `save_model` at `path` (and its JSON sidecar), in eval mode."""
    path = Path(path)
    meta_path = _sidecar(path)
    try:
        fields = json.loads(meta_path.read_text())["config"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"load_model: cannot read the network of {path} from {meta_path}: {e}") from None
    cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    model = build_model(cfg)
    model.load_state_dict(tg.load(path))
    return model.eval(), cfg


# ---- command line ---------------------------------------------------------------------------
def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(n) for n in text.split(",") if n.strip()) if text.lower() != "none" else ()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 256,128, got {text!r}") from None


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0.9,0.999, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


def _batch_size(text: str) -> int:
    if text == "full":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'full', got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    # NOTE: the recipe options default to SUPPRESS, so only those given on the command line reach
    # the namespace and override the preset; the others keep the preset's values.
    p = argparse.ArgumentParser(
        description="Train an MLP on MNIST with tinygrad_edu.",
        epilog="presets: " + "; ".join(f"{name} ({c.reported})" for name, c in PRESETS.items()),
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--preset", choices=list(PRESETS), default="default", help="the recipe to start from")
    net = p.add_argument_group("network (default: the preset's)")
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
    fit = p.add_argument_group("training (default: the preset's)")
    fit.add_argument("--optimizer", choices=presets.OPTIMIZERS)
    fit.add_argument("--lr", type=float)
    fit.add_argument("--momentum", type=float, help="sgd, rmsprop")
    fit.add_argument("--nesterov", action=argparse.BooleanOptionalAction, help="sgd")
    fit.add_argument("--betas", type=_floats, help="adam, adamw: e.g. 0.9,0.999")
    fit.add_argument("--weight-decay", type=float)
    fit.add_argument("--schedule", choices=presets.SCHEDULES, help="cosine: to 0, batch by batch")
    fit.add_argument("--step-size", type=int, help="step schedule: epochs between lr cuts")
    fit.add_argument("--gamma", type=float, help="step schedule: lr factor at each cut")
    fit.add_argument("--epochs", type=int)
    fit.add_argument("--batch-size", type=_batch_size, help="0 or 'full': full-batch gradient descent")
    fit.add_argument("--iterations", type=int, help="full-batch training: number of gradient steps")
    fit.add_argument("--seed", type=int)
    run_opts = p.add_argument_group("data and output")
    run_opts.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    run_opts.add_argument("--subset", action="store_true", default=False, help="use the bundled subset")
    run_opts.add_argument("--no-download", action="store_true", default=False, help="never use the network")
    run_opts.add_argument("--save", default=None, metavar="MODEL.npz", help="save weights (+ MODEL.json)")
    run_opts.add_argument("--plots", default=None, metavar="DIR", help="write PNG plots into DIR")
    run_opts.add_argument("--no-progress", action="store_true", default=False, help="plain lines, no bar")
    return p


RUN_OPTIONS = ("preset", "data_dir", "subset", "no_download", "save", "plots", "no_progress")


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    """The Config (the preset with the given options applied) and the run options."""
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k not in RUN_OPTIONS}
    iterations = overrides.pop("iterations", None)
    if iterations is not None:
        if "epochs" in overrides:
            parser.error("give --epochs or --iterations, not both")
        overrides["epochs"] = iterations
    try:
        cfg = with_overrides(args.preset, **overrides)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    if iterations is not None and not cfg.full_batch:
        parser.error("--iterations counts full-batch steps: use it with --batch-size full, or use --epochs")
    try:  # refused now rather than after loading the data, or after training
        make_optimizer(cfg, nn.Linear(1, 1))  # the optimizer checks its own options
        if args.save:
            _sidecar(Path(args.save))
    except ValueError as e:
        parser.error(str(e))
    return cfg, args


def main(argv: list[str] | None = None, start: float | None = None) -> Result:
    cfg, args = parse_args(argv)
    result = run(cfg, args.data_dir, args.subset, not args.no_download, not args.no_progress, start)
    if args.save:
        for path in save_model(result, args.save):
            print(f"saved {path}")
    if args.plots:
        for path in plot(result, args.plots):
            print(f"wrote {path}")
    print(
        f"RESULT  preset {args.preset}  train accuracy {result.train_acc:.2%}  "
        f"test accuracy {result.test_acc:.2%}  wall time {result.wall_seconds:.1f} s "
        f"(data loading {result.load_seconds:.1f} s)  on {len(result.data.x_train):,}/"
        f"{len(result.data.x_test):,} images",
        flush=True,
    )
    return result


if __name__ == "__main__":
    main(start=_START)
