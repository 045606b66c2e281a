"""MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges): 70,000 handwritten digits,
28×28 grey pixels 0..255 with labels 0..9, split into 60,000 training and 10,000 test images.
The data is licensed CC BY-SA 3.0.

`load_mnist` finds the files (IDX raw or .gz, or Kaggle CSV) or downloads them; `load_mnist_subset`
returns the small class-balanced subset shipped with the package, for running anywhere offline.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinygrad_edu.data.csv import NUM_CLASSES, SIDE, read_csv
from tinygrad_edu.data.download import MNIST_MD5, download_mnist
from tinygrad_edu.data.idx import PathLike, read_idx

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3-D: (N, 28, 28)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1-D: (N,)
ENV_VAR = "TINYGRAD_EDU_DATA"
SUBSET_PATH = Path(__file__).with_name("mnist_subset.npz")

_IDX_PREFIX = {"train": "train", "test": "t10k"}
_CSV_NAMES = {"train": ("mnist_train.csv", "train.csv"), "test": ("mnist_test.csv", "test.csv")}


@dataclass(frozen=True, repr=False)
class MNIST:
    """The two splits: images uint8 (N, 28, 28), labels int64 (N,) in 0..9.

    `test_labels` is None only for a Kaggle "Digit Recognizer" test.csv, which has no labels.
    `source` says where the data came from.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray | None
    source: str

    def __repr__(self) -> str:
        return f"MNIST(train={len(self.train_images)}, test={len(self.test_images)}, source={self.source!r})"


def to_float(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255 (uint8) → x / 255 in [0, 1], float32, same shape."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(
            f"to_float: expected uint8 pixels 0..255, got dtype {images.dtype} (converted twice?)"
        )
    return np.divide(images, np.float32(255), dtype=np.float32)


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) → (N, 784), one row per image (a view, no copy)."""
    images = np.asarray(images)
    return images.reshape(len(images), math.prod(images.shape[1:]))  # -1 cannot be inferred when N = 0


def load_mnist(
    root: PathLike | None = None,
    download: bool = True,
    subset: bool = False,
    mirrors: Sequence[str] | str | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> MNIST:
    """Load MNIST from the first folder that holds it, downloading it if none does.

    Folders searched, in order: `root` (or `root/mnist`), `$TINYGRAD_EDU_DATA/mnist`, then
    `~/.cache/tinygrad_edu/mnist`. A folder holds MNIST when, for each split, it has either the
    two IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-…`; raw or `.gz`,
    `-idx3` or `.idx3`) or a CSV file (`mnist_train.csv`/`train.csv`, `mnist_test.csv`/`test.csv`).
    If none does and `download` is True, the four `.gz` IDX files are downloaded into the cache
    folder from `mirrors`, with `timeout` and `deadline` in seconds (see `download_mnist`, which
    also reads them from environment variables); otherwise FileNotFoundError says where to put them.
    `subset=True` returns the bundled subset instead (`load_mnist_subset`).
    """
    if subset:
        return load_mnist_subset()
    folders = _search_path(root)
    for folder in folders:
        found = {split: _find_split(folder, split) for split in _IDX_PREFIX}
        if all(found.values()):
            return _load(found, str(folder))
    if not download:
        raise FileNotFoundError(_not_found(folders))
    cache = folders[-1]
    download_mnist(cache, mirrors=mirrors, timeout=timeout, deadline=deadline)
    return _load({split: _find_split(cache, split) for split in _IDX_PREFIX}, str(cache))


def load_mnist_subset() -> MNIST:
    """The real MNIST subset bundled with the package: 5,000 training images (500 of each digit)
    and 1,000 test images (100 of each), picked reproducibly by scripts/make_mnist_subset.py."""
    with np.load(SUBSET_PATH, allow_pickle=False) as z:
        arrays = {key: z[key] for key in ("train_images", "train_labels", "test_images", "test_labels")}
    return MNIST(
        arrays["train_images"],
        arrays["train_labels"].astype(np.int64),
        arrays["test_images"],
        arrays["test_labels"].astype(np.int64),
        source=f"bundled subset {SUBSET_PATH}",
    )


def _search_path(root: PathLike | None) -> list[Path]:
    folders = [Path(root), Path(root) / "mnist"] if root is not None else []
    if os.environ.get(ENV_VAR):
        folders.append(Path(os.environ[ENV_VAR]) / "mnist")
    folders.append(Path.home() / ".cache" / "tinygrad_edu" / "mnist")
    return folders


def _idx_names(prefix: str, kind: str, ndim: int) -> list[str]:
    return [f"{prefix}-{kind}{sep}idx{ndim}-ubyte{ext}" for sep in "-." for ext in ("", ".gz")]


def _first_file(folder: Path, names: list[str] | tuple[str, ...]) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_file()), None)


def _find_split(folder: Path, split: str) -> tuple[Path, ...] | None:
    """The files of one split: (images, labels) IDX files, else (csv,), else None."""
    prefix = _IDX_PREFIX[split]
    images = _first_file(folder, _idx_names(prefix, "images", 3))
    labels = _first_file(folder, _idx_names(prefix, "labels", 1))
    if images and labels:
        return images, labels
    csv = _first_file(folder, _CSV_NAMES[split])
    return (csv,) if csv else None


def _load(found: dict[str, tuple[Path, ...] | None], source: str) -> MNIST:
    train_images, train_labels = _read_split(*found["train"])
    test_images, test_labels = _read_split(*found["test"])
    if train_labels is None:
        raise ValueError(
            f"load_mnist: {found['train'][0]} has no label column, so it cannot be training data"
        )
    return MNIST(train_images, train_labels, test_images, test_labels, source)


def _read_split(*paths: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if len(paths) == 1:
        return read_csv(paths[0])
    images_path, labels_path = paths
    images = read_idx(images_path, IMAGES_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise ValueError(
            f"load_mnist: {images_path} holds images of {images.shape[1]}×{images.shape[2]} pixels "
            f"(shape {images.shape}); MNIST images are {SIDE}×{SIDE}"
        )
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(
            f"load_mnist: {images_path} holds {len(images)} images "
            f"but {labels_path} holds {len(labels)} labels"
        )
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise ValueError(
            f"load_mnist: {labels_path} has {bad.size} labels outside 0-9, "
            f"the first at index {bad[0]}: {labels[bad[0]]}"
        )
    return images, labels.astype(np.int64)


def _not_found(folders: list[Path]) -> str:
    env = "" if os.environ.get(ENV_VAR) else f" (${ENV_VAR} is not set)"
    names = ", ".join(MNIST_MD5)
    return (
        "load_mnist: MNIST not found; looked in:\n"
        + "".join(f"  {folder}\n" for folder in folders)
        + f"Put the four files {names} (raw or .gz; or mnist_train.csv and mnist_test.csv) in "
        f"{folders[-1]}, or set {ENV_VAR} to a folder holding them in a subfolder mnist/{env}; "
        "or call load_mnist(download=True), or load_mnist(subset=True) for the subset bundled "
        "with the package."
    )
