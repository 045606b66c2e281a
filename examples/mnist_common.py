"""What the MNIST examples share: the clock, BLAS threads, data, progress, optimizers, options,
checkpoints and the summary line. `mnist_mlp.py` and `mnist_cnn.py` are thin command lines on it.

Import this module before numpy is used much: `START` is read from the process's own start time,
so the wall time that the examples print includes the interpreter, the imports and data loading.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    MNIST,
    DataLoader,
    DownloadError,
    flatten,
    load_mnist,
    load_mnist_subset,
    read_csv,
    to_float,
    write_submission,
)
from tinygrad_edu.fileio import atomic_write, writable
from tinygrad_edu.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from tinygrad_edu.rng import seeded
from tinygrad_edu.train import Callback, History, evaluate, fit, predict

try:
    from tqdm import tqdm
except ImportError:  # tqdm comes with the `examples` extra; without it, plain lines
    tqdm = None


def process_start() -> float:
    """When this process started, on the `time.perf_counter()` clock (psutil, from the `examples`
    extra, reads it from the OS; without it, the time this module was imported)."""
    try:
        import psutil
    except ImportError:
        return time.perf_counter()
    return time.perf_counter() - (time.time() - psutil.Process().create_time())


START = process_start()


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def hold_blas_to_one_thread() -> bool:
    """Run numpy's BLAS on one thread, unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS /
    MKL_NUM_THREADS says otherwise; return whether BLAS runs on one thread.

    NOTE: numpy's OpenBLAS runs every matrix product on one thread per core. The products here are
    small (a batch of 128 by a few hundred units), so the threads mostly wait for one another, and
    when another process keeps a core busy they wait much longer: on a loaded 2-core machine an
    epoch took 10x longer with 2 BLAS threads than with 1, and on an idle one 1 thread is as fast.
    threadpoolctl (the `examples` extra) sets it after numpy is loaded, so no import order matters.
    """
    env = [os.environ[v] for v in BLAS_THREAD_VARIABLES if v in os.environ]
    if env:
        return all(v.strip() == "1" for v in env)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=1, user_api="blas")
    return True


@contextlib.contextmanager
def use_threads(threads: int | None) -> Iterator[int]:
    """BLAS on one thread (`hold_blas_to_one_thread`), and tinygrad_edu's ops on `threads` threads
    until the block ends; yield how many. By default one per CPU, where the convolutions and pools
    split the batch, or 1 if BLAS keeps more: two pools of threads on the same cores slow each
    other down."""
    blas_on_one = hold_blas_to_one_thread()
    if threads is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = cpus if blas_on_one else 1
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        yield threads
    finally:
        tg.set_num_threads(before)


# ---- data -----------------------------------------------------------------------------------
def load_data(data_dir: str | None = None, subset: bool = False, download: bool = True) -> MNIST:
    """Full MNIST (found or downloaded), or the bundled subset if asked for, or if neither works."""
    if subset:
        return load_mnist_subset()
    try:
        return load_mnist(data_dir, download=download)
    except (FileNotFoundError, DownloadError) as e:
        subset = load_mnist_subset()
        warn_fallback(e, download, subset)
        return subset


def load_csv_data(
    train_csv: str, test_csv: str | None = None, val_fraction: float | None = None, seed: int = 0
) -> MNIST:
    """MNIST from CSV files: Kaggle's Digit Recognizer train.csv or an "MNIST in CSV" file for
    training (any layout `read_csv` accepts, with labels), scored on `test_csv` (labelled too) or on
    a held-out `val_fraction` of the training rows (drawn with `seed`)."""
    images, labels = read_csv(train_csv)
    if labels is None:
        raise ValueError(
            f"--train-csv {train_csv}: has no label column (a Kaggle test.csv? give it to --predict-csv)"
        )
    if test_csv is not None:
        test_images, test_labels = read_csv(test_csv)
        if test_labels is None:
            raise ValueError(f"--test-csv {test_csv}: has no label column to score against")
        return MNIST(images, labels, test_images, test_labels, f"{train_csv} and {test_csv}")
    held = round(len(images) * val_fraction)
    if not 0 < held < len(images):
        raise ValueError(
            f"--val-fraction {val_fraction} of {len(images)} rows in {train_csv} holds out {held}: "
            "nothing would be left to train on or to score"
        )
    order = np.random.default_rng(seed).permutation(len(images))
    val, train = order[:held], order[held:]
    source = f"{train_csv} ({held:,} rows held out by --val-fraction {val_fraction})"
    return MNIST(images[train], labels[train], images[val], labels[val], source)


def warn_fallback(error: Exception, download: bool, subset: MNIST) -> None:
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
        if len(mnist.train_images) == 0:
            raise ValueError(f"mnist: the training split of {mnist.source} has no images to train on")
        if mnist.test_labels is None:
            raise ValueError(f"mnist: the test split of {mnist.source} has no labels to score against")
        x_train = flatten(to_float(mnist.train_images) if as_float else mnist.train_images)
        return cls(
            x_train,
            mnist.train_labels,
            flatten(mnist.test_images),
            mnist.test_labels,
            mnist.test_images,
            mnist.source,
        )


# ---- the training recipe ----------------------------------------------------------------------
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine")

# Options that only some optimizers or schedules use (lr and weight_decay are common to all):
# {option: (the choice it belongs to, the values that use it)}.
OPTION_OWNERS = {
    "momentum": ("optimizer", ("sgd", "rmsprop")),
    "nesterov": ("optimizer", ("sgd",)),
    "betas": ("optimizer", ("adam", "adamw")),
    "step_size": ("schedule", ("step",)),
    "gamma": ("schedule", ("step",)),
}


@dataclass(frozen=True)
class Recipe:
    """How a network is trained; each example's Config adds the network's own fields to it.
    `batch_size` 0 means full-batch gradient descent (one step per epoch, so `epochs` counts
    iterations); `weight_decay` None keeps the optimizer's own default (0, or 1e-2 for AdamW);
    `reported` is what the preset's source reported (shown in --help, never compared)."""

    optimizer: str = "adam"
    lr: float = 3e-3
    momentum: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float | None = None
    schedule: str = "cosine"
    step_size: int = 1
    gamma: float = 0.5
    epochs: int = 5
    batch_size: int = 128
    seed: int = 0
    reported: str = field(default="", compare=False)

    @property
    def full_batch(self) -> bool:
        return self.batch_size == 0


def choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise ValueError naming the option if `value` is not one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def check_recipe(cfg: Recipe) -> None:
    """Raise ValueError naming the option if the training half of `cfg` cannot run."""
    choice("optimizer", cfg.optimizer, OPTIMIZERS)
    choice("schedule", cfg.schedule, SCHEDULES)
    if cfg.epochs < 1 or cfg.batch_size < 0 or cfg.step_size < 1:
        raise ValueError("epochs and step_size must be >= 1 and batch_size >= 0")
    if not 0 < cfg.lr < math.inf or len(cfg.betas) != 2:
        raise ValueError(f"lr must be finite and > 0, and betas two numbers: lr {cfg.lr}, betas {cfg.betas}")
    if not 0 < cfg.gamma < math.inf:
        raise ValueError(f"gamma must be finite and > 0, got {cfg.gamma}")
    if cfg.weight_decay is not None and not 0 <= cfg.weight_decay < math.inf:
        raise ValueError(f"weight_decay must be finite and >= 0, got {cfg.weight_decay}")
    seeded(cfg.seed, "seed")  # a seed PyTorch would refuse is refused before any data is loaded


def override(base: Recipe, **overrides: object) -> Recipe:
    """`base` with `overrides` replacing its values, refusing an option that the chosen optimizer
    or schedule does not use (--momentum with Adam)."""
    for name in overrides:
        if name in OPTION_OWNERS:
            owner, allowed = OPTION_OWNERS[name]
            chosen = overrides.get(owner, getattr(base, owner))
            if chosen not in allowed:
                raise ValueError(f"{name} applies to the {' and '.join(allowed)} {owner}s, not {chosen}")
    return dataclasses.replace(base, **overrides)


# ---- training -------------------------------------------------------------------------------
def make_optimizer(cfg: Any, params: list) -> optim.Optimizer:
    kwargs = {} if cfg.weight_decay is None else {"weight_decay": cfg.weight_decay}
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, **kwargs)
    if cfg.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, **kwargs)
    adam = optim.Adam if cfg.optimizer == "adam" else optim.AdamW
    return adam(params, lr=cfg.lr, betas=cfg.betas, **kwargs)


def make_scheduler(cfg: Any, opt: optim.Optimizer, steps: int) -> tuple[LRScheduler | None, bool]:
    """(scheduler, stepped after every batch?) for `steps` batches per epoch. cosine anneals the
    lr to 0 over the whole run, batch by batch (a few epochs are too few steps for a per-epoch
    cosine); step multiplies it by gamma every step_size epochs."""
    if cfg.schedule == "cosine":
        return CosineAnnealingLR(opt, T_max=cfg.epochs * steps), True
    if cfg.schedule == "step":
        return StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma), False
    return None, False


class Progress(Callback):
    """Live loss and accuracy: a tqdm bar on a terminal, else a plain line per logged epoch. Every
    line fits 80 columns; the bar gives what is left to its meter."""

    BAR = "{desc} {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]"

    def __init__(self, cfg: Any, steps: int, enabled: bool) -> None:
        self.unit = "iter" if cfg.full_batch else "epoch"  # iterations, for full-batch training
        self.epochs = cfg.epochs
        self.eval_every = max(1, cfg.epochs // 100) if cfg.full_batch else 1
        self.log_every = self.eval_every * max(1, cfg.epochs // self.eval_every // 20)
        use_bar = enabled and tqdm is not None and sys.stdout.isatty()
        width = min(80, shutil.get_terminal_size().columns or 80)  # a pty may report 0 columns
        self.bar = tqdm(total=steps, bar_format=self.BAR, ncols=width) if use_bar else None
        self.start = time.perf_counter()
        self.test = ""

    def on_batch(self, epoch: int, loss: float, acc: float) -> None:
        if self.bar is not None:
            self.bar.set_description(f"{self.unit} {epoch}/{self.epochs}", refresh=False)
            self.bar.set_postfix_str(f"loss {loss:.4f} acc {acc:.2%}{self.test}", refresh=False)
            self.bar.update(1)

    def on_evaluated(self, h: History) -> None:
        epoch = h.epoch[-1]
        self.test = f" test {h.test_acc[-1]:.2%}"
        if self.bar is not None:  # at once, so the bar and the line below agree
            self.bar.set_postfix_str(f"loss {h.train_loss[-1]:.4f} acc {h.train_acc[-1]:.2%}{self.test}")
        if epoch % self.log_every and epoch != self.epochs:
            return
        line = (
            f"{self.unit} {epoch:>{len(str(self.epochs))}}/{self.epochs}  loss {h.train_loss[-1]:.4f} "
            f"acc {h.train_acc[-1]:.2%}  test loss {h.test_loss[-1]:.4f} acc {h.test_acc[-1]:.2%}  "
            f"{time.perf_counter() - self.start:.1f} s"
        )
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def say(text: str, indent: int = 0) -> None:
    """Print `text` wrapped at 80 columns, continuation lines indented by `indent`."""
    print(textwrap.fill(text, 80, subsequent_indent=" " * indent), flush=True)


# ---- a run, end to end ----------------------------------------------------------------------
@dataclass
class Result:
    model: Any
    config: Any
    history: History
    train_acc: float
    test_acc: float
    test_logits: np.ndarray
    data: Data
    load_seconds: float
    wall_seconds: float
    animation: Any = None  # the DecisionRegions recorder of --animate, if asked for


def load_and_train(
    cfg: Any,
    build: Callable[[Any], Any],
    loss_fn: Callable,
    describe: str,
    data_dir: str | None = None,
    subset: bool = False,
    download: bool = True,
    show_progress: bool = True,
    start: float | None = None,
    mnist: Callable[[], MNIST] | None = None,
    animate_every: int | None = None,
) -> Result:
    """Load the data (MNIST found, downloaded or bundled; or what `mnist()` returns), then
    `train_and_score`. Times count from `start` (a `time.perf_counter()` value; default: now)."""
    start = time.perf_counter() if start is None else start
    loaded = mnist() if mnist is not None else load_data(data_dir, subset, download)
    data = Data.from_mnist(loaded, as_float=cfg.full_batch)
    load_seconds = time.perf_counter() - start
    return train_and_score(
        cfg, build, loss_fn, data, describe, show_progress, start, load_seconds, animate_every
    )


def train_and_score(
    cfg: Any,
    build: Callable[[Any], Any],
    loss_fn: Callable,
    data: Data,
    describe: str,
    show_progress: bool,
    start: float,
    load_seconds: float,
    animate_every: int | None = None,
) -> Result:
    """Build the network of `cfg` (`build`), train it with `fit`, and score it on both splits.
    With `animate_every`, record the training animation (a frame every that many steps; 0: about
    100 frames over the run) into the Result's `animation`."""
    say(f"data: {len(data.x_train):,} training and {len(data.x_test):,} test images from {data.source}", 6)
    tg.manual_seed(cfg.seed)
    model = build(cfg)
    say(f"model: {describe}", 7)
    opt = make_optimizer(cfg, list(model.parameters()))
    batch_size = cfg.batch_size or len(data.x_train)
    loader = DataLoader((data.x_train, data.y_train), batch_size, shuffle=not cfg.full_batch, seed=cfg.seed)
    scheduler, per_batch = make_scheduler(cfg, opt, len(loader))
    progress = Progress(cfg, cfg.epochs * len(loader), show_progress)
    callbacks: list[Callback] = [progress]
    animation = None
    if animate_every is not None:
        from mnist_animation import DecisionRegions, default_every  # matplotlib and Pillow

        every = animate_every or default_every(cfg.epochs * len(loader))
        batches = "full batch" if cfg.full_batch else f"batch {cfg.batch_size}"
        title = f"{describe.split(',')[0]}, {cfg.optimizer} lr {cfg.lr:g}, {batches}"
        animation = DecisionRegions(model, loss_fn, data.x_train, data.y_train, inputs, every, title)
        callbacks.append(animation)
    try:
        history = fit(
            model,
            loss_fn,
            opt,
            loader,
            cfg.epochs,
            validation=(data.x_test, data.y_test),
            scheduler=scheduler,
            scheduler_per_batch=per_batch,
            evaluate_every=progress.eval_every,
            callbacks=callbacks,
            inputs=inputs,
        )
    finally:
        progress.close()
    _, train_acc, _ = evaluate(model, loss_fn, data.x_train, data.y_train, inputs=inputs)
    _, test_acc, test_logits = evaluate(model, loss_fn, data.x_test, data.y_test, inputs=inputs)
    wall = time.perf_counter() - start
    return Result(model, cfg, history, train_acc, test_acc, test_logits, data, load_seconds, wall, animation)


def outputs(result: Result, args: argparse.Namespace, program: str, plot: Callable | None = None) -> None:
    """Write what the run options ask for: weights (--save), plots, a Kaggle submission, ONNX."""
    if args.save:
        for path in save_model(result, args.save, program):
            print(f"saved {path}")
    if args.plots and plot is not None:
        for path in plot(result, args.plots):
            print(f"wrote {path}")
    if args.predict_csv:
        images, _ = read_csv(args.predict_csv)
        labels = predict(result.model, flatten(images), inputs=inputs).argmax(1)
        Path(args.submission).parent.mkdir(parents=True, exist_ok=True)
        write_submission(args.submission, labels)
        print(f"wrote {args.submission}: {len(labels):,} predictions for {args.predict_csv}")
    if args.export_onnx:
        from tinygrad_edu.onnx import export  # the `onnx` extra, needed only here

        Path(args.export_onnx).parent.mkdir(parents=True, exist_ok=True)
        export(result.model, inputs(result.data.x_test[:2]), args.export_onnx)
        print(f"wrote {args.export_onnx}")
    if result.animation is not None:
        print(f"wrote {result.animation.save(args.animate)} ({len(result.animation.frames)} frames)")


def load_from_args(args: argparse.Namespace, seed: int) -> MNIST:
    """The data the run options name: CSV files, or MNIST found, downloaded or bundled. A file that
    cannot be used ends the program with the reader's message (it names the file), exit status 1."""
    if args.train_csv:
        try:
            return load_csv_data(args.train_csv, args.test_csv, args.val_fraction, seed)
        except (ValueError, OSError) as e:
            raise SystemExit(f"{Path(sys.argv[0]).name}: {e}") from None
    return load_data(args.data_dir, args.subset, not args.no_download)


def summary(name: str, result: Result) -> str:
    """The RESULT lines (80 columns): accuracies, then the wall time from the process's start."""
    return (
        f"RESULT  {name}  train accuracy {result.train_acc:.2%}  test accuracy {result.test_acc:.2%}\n"
        f"        wall time {result.wall_seconds:.1f} s since the process started (data ready at "
        f"{result.load_seconds:.1f} s)\n"
        f"        on {len(result.data.x_train):,} training and {len(result.data.x_test):,} test images"
    )


# ---- command-line options shared by the examples ---------------------------------------------
def floats(text: str) -> tuple[float, ...]:
    """An option's value like 0.9,0.999."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0.9,0.999, got {text!r}") from None


def batch_size(text: str) -> int:
    """--batch-size: a number, or 'full' (0: full-batch gradient descent)."""
    if text == "full":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'full', got {text!r}") from None


def new_parser(
    description: str, presets: dict[str, Any], about: Callable[[Any], str]
) -> tuple[argparse.ArgumentParser, argparse._ArgumentGroup]:
    """An example's parser with --preset (listed with `about(preset)` in the epilog), and the
    group its network options go in."""
    # NOTE: the recipe options default to SUPPRESS, so only those given on the command line reach
    # the namespace and override the preset; the others keep the preset's values.
    p = argparse.ArgumentParser(
        description=description,
        epilog="presets: " + "; ".join(f"{name} ({about(c)})" for name, c in presets.items()),
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--preset", choices=list(presets), default="default", help="the recipe to start from")
    return p, p.add_argument_group("network (default: the preset's)")


def add_training_options(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The options of `Recipe`, in a group the example may add to. The parser must have
    argument_default=SUPPRESS, so that only the options given override the preset."""
    fit = p.add_argument_group("training (default: the preset's)")
    fit.add_argument("--optimizer", choices=OPTIMIZERS)
    fit.add_argument("--lr", type=float)
    fit.add_argument("--momentum", type=float, help="sgd, rmsprop")
    fit.add_argument("--nesterov", action=argparse.BooleanOptionalAction, help="sgd")
    fit.add_argument("--betas", type=floats, help="adam, adamw: e.g. 0.9,0.999")
    fit.add_argument("--weight-decay", type=float)
    fit.add_argument("--schedule", choices=SCHEDULES, help="cosine: to 0, batch by batch")
    fit.add_argument("--step-size", type=int, help="step schedule: epochs between lr cuts")
    fit.add_argument("--gamma", type=float, help="step schedule: lr factor at each cut")
    fit.add_argument("--epochs", type=int)
    fit.add_argument("--batch-size", type=batch_size, help="0 or 'full': full-batch gradient descent")
    fit.add_argument("--seed", type=int)
    return fit


def add_run_options(p: argparse.ArgumentParser, weights: str = "MODEL.npz") -> None:
    """The data and output options of every MNIST example."""
    g = p.add_argument_group("data and output")
    g.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    g.add_argument("--subset", action="store_true", default=False, help="use the bundled subset")
    g.add_argument("--no-download", action="store_true", default=False, help="never use the network")
    g.add_argument("--save", default=None, metavar=weights, help="save weights (+ a .json beside them)")
    g.add_argument("--plots", default=None, metavar="DIR", help="write PNG plots into DIR")
    g.add_argument("--no-progress", action="store_true", default=False, help="plain lines, no bar")
    g.add_argument("--threads", type=int, default=None, help="threads for the ops (default: one per CPU)")
    g.add_argument("--export-onnx", default=None, metavar="MODEL.onnx", help="write the model as ONNX")
    k = p.add_argument_group("CSV files (Kaggle's Digit Recognizer, MNIST in CSV)")
    k.add_argument("--train-csv", default=None, metavar="CSV", help="train on this CSV (labels first)")
    k.add_argument("--test-csv", default=None, metavar="CSV", help="score on this labelled CSV")
    k.add_argument("--val-fraction", type=float, default=None, help="score on this fraction held out")
    k.add_argument(
        "--predict-csv", default=None, metavar="CSV", help="label these images (Kaggle's test.csv)"
    )
    k.add_argument("--submission", default=None, metavar="CSV", help="write --predict-csv's labels here")


def add_animation_options(p: argparse.ArgumentParser) -> None:
    """--animate and --animate-every (mnist_animation.py): for the examples whose run passes them on."""
    g = p.add_argument_group("training animation (matplotlib and Pillow: the `examples` extra)")
    g.add_argument(
        "--animate",
        default=None,
        metavar="GIF",
        help="write a GIF of the decision regions in the plane of the first two principal components",
    )
    g.add_argument(
        "--animate-every",
        type=int,
        default=None,
        metavar="K",
        help="a frame every K optimizer steps (default: about 100 frames over the run)",
    )


RUN_OPTIONS = (
    "threads",
    "preset",
    "data_dir",
    "subset",
    "no_download",
    "save",
    "plots",
    "no_progress",
    "export_onnx",
    "train_csv",
    "test_csv",
    "val_fraction",
    "predict_csv",
    "submission",
    "animate",
    "animate_every",
)


def parse_config(
    parser: argparse.ArgumentParser, argv: list[str] | None, configure: Callable[[str, dict], Recipe]
) -> tuple[Recipe, argparse.Namespace]:
    """(the Config, the run options) from the command line: `configure(preset, overrides)` builds
    the Config from the options given (raising ValueError for an inconsistent one); everything is
    refused now, with the option named, rather than after loading the data or training."""
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k not in RUN_OPTIONS}
    try:
        cfg = configure(args.preset, overrides)
        make_optimizer(cfg, list(nn.Linear(1, 1).parameters()))  # the optimizer checks its options
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    check_run_options(parser, args)
    return cfg, args


def run_command(
    program: str,
    cfg: Recipe,
    args: argparse.Namespace,
    run: Callable[..., Result],
    plot: Callable[[Result, str], list[Path]],
    start: float | None,
) -> Result:
    """What an example's main does once its options are parsed: train (`run`) on the data the run
    options name, write the `outputs` they ask for, print the RESULT lines. A NaN loss exits with
    an error, and nothing is saved."""
    try:
        with use_threads(args.threads):
            result = run(
                cfg,
                show_progress=not args.no_progress,
                start=start,
                mnist=lambda: load_from_args(args, cfg.seed),
                animate_every=(args.animate_every or 0) if getattr(args, "animate", None) else None,
            )
    except FloatingPointError as e:  # a NaN loss: nothing is saved, the exit status says it failed
        sys.exit(f"{program}: {e}")
    outputs(result, args, program, plot)
    print(summary(f"preset {args.preset}", result), flush=True)
    return result


def check_run_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, before any data is loaded, options that do not go together and targets that cannot
    be written (--save, --plots, --submission, --export-onnx, --animate): a folder given as a file,
    a path under a regular file, a folder we may not write; and --animate without its extra."""
    try:
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads {args.threads}: must be at least 1")
        _check_csv_options(args)
        check_animation_options(args)
        for option, target in (("--submission", args.submission), ("--export-onnx", args.export_onnx)):
            if target:
                if Path(target).is_dir():
                    raise ValueError(f"{option} {target}: is a folder; name the file to write")
                _check_can_create(Path(target), option)
        if args.save:
            weights = Path(args.save)
            sidecar(weights)
            if weights.is_dir():
                raise ValueError(
                    f"--save {weights}: is a folder; name the weights file, e.g. {weights}/model.npz"
                )
            for target in (weights, sidecar(weights)):
                _check_can_create(target, "--save")
        if args.plots:
            folder = Path(args.plots)
            if folder.exists() and not folder.is_dir():
                raise ValueError(f"--plots {folder}: is a file, not a folder")
            _check_can_create(folder / "curves.png", "--plots")
    except ValueError as e:
        parser.error(str(e))


def _check_csv_options(args: argparse.Namespace) -> None:
    if args.train_csv is None:
        if args.test_csv is not None or args.val_fraction is not None:
            raise ValueError("--test-csv and --val-fraction go with --train-csv")
    else:
        if args.subset or args.data_dir:
            raise ValueError("--train-csv replaces --subset and --data-dir: give one source of data")
        if (args.test_csv is None) == (args.val_fraction is None):
            raise ValueError("--train-csv needs one split to score on: --test-csv CSV or --val-fraction F")
        if args.val_fraction is not None and not 0 < args.val_fraction < 1:
            raise ValueError(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
    if (args.predict_csv is None) != (args.submission is None):
        raise ValueError("--predict-csv and --submission go together: the images to label, the file to write")
    for option, path in (("--train-csv", args.train_csv), ("--test-csv", args.test_csv),
                         ("--predict-csv", args.predict_csv)):  # fmt: skip
        if path is not None and not Path(path).is_file():
            raise ValueError(f"{option} {path}: no such file")


def check_animation_options(args: argparse.Namespace) -> None:
    """Raise ValueError, naming the option, for an --animate target or interval that cannot work."""
    every, target = getattr(args, "animate_every", None), getattr(args, "animate", None)
    if every is not None and (every < 1 or not target):
        raise ValueError(f"--animate-every {every}: give a number of steps >= 1, with --animate NAME.gif")
    if not target:
        return
    path = Path(target)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"--animate {path}: the animation is written as a GIF: name it with .gif")
    if path.is_dir():
        raise ValueError(f"--animate {path}: is a folder; name the file, e.g. {path}/training.gif")
    _check_can_create(path, "--animate")
    try:
        import mnist_animation  # noqa: F401
    except ImportError as e:
        raise ValueError(
            f"--animate needs matplotlib and Pillow ({e}): pip install -e '.[examples]'"
        ) from None


def _check_can_create(path: Path, option: str) -> None:
    """Try what the save will do: create a file in the folder that would hold `path` (or in the
    nearest existing folder above it, where the missing ones would be made)."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: {folder} is a file, so nothing can be written under it")
    if path.exists() and not writable(path):
        raise ValueError(f"{option} {path}: the file exists and is write-protected")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create files in {folder} ({e.strerror})") from None


# ---- saving and loading ---------------------------------------------------------------------
def sidecar(path: Path) -> Path:
    """The JSON file beside the weights that says how to rebuild the network."""
    if path.suffix == ".json":
        raise ValueError(f"{path} is the name of the architecture file; save the weights as .npz")
    return path.with_suffix(".json")


def save_model(result: Result, path: str | os.PathLike, program: str) -> tuple[Path, Path]:
    """Weights to `path` (tg.save: written atomically, no pickle) and what is needed to rebuild
    the network, as JSON, beside it (`model.npz` → `model.json`)."""
    path = Path(path)
    meta_path = sidecar(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tg.save(result.model.state_dict(), path)
    meta = {
        "format": f"tinygrad_edu examples/{program}",
        "weights": path.name,
        "config": dataclasses.asdict(result.config),
        "train_accuracy": result.train_acc,
        "test_accuracy": result.test_acc,
        "data": result.data.source,
    }
    with atomic_write(meta_path) as f:
        f.write((json.dumps(meta, indent=2) + "\n").encode())
    return path, meta_path


def load_config(path: str | os.PathLike, config_type: type) -> Any:
    """The `config_type` saved beside the weights at `path` by `save_model`."""
    path = Path(path)
    meta_path = sidecar(path)
    try:
        fields = json.loads(meta_path.read_text())["config"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"load_model: cannot read the network of {path} from {meta_path}: {e}") from None
    return config_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def load_model(path: str | os.PathLike, config_type: type, build: Callable[[Any], Any]) -> tuple[Any, Any]:
    """The network saved by `save_model` at `path` (rebuilt by `build` from the Config in its
    JSON sidecar, the weights loaded all or nothing), in eval mode, and its Config."""
    cfg = load_config(path, config_type)
    model = build(cfg)
    model.load_state_dict(tg.load(path))
    return model.eval(), cfg
