"""Build tinygrad_edu/data/mnist_subset.npz, the real MNIST subset shipped with the package.

    python scripts/make_mnist_subset.py [--source ../shared/datasets/mnist] [--out PATH]

From the four full IDX files in --source it takes, for each digit 0..9, the first TRAIN_PER_CLASS
training and TEST_PER_CLASS test images of a random permutation of that digit's images
(np.random.default_rng(SEED)), and keeps them in their original MNIST order. Pixels are stored
unchanged as uint8. The archive holds train_images, train_labels, test_images, test_labels and
train_indices/test_indices, the positions of the chosen images in the full files. Running the
script twice gives the same bytes: the archive members carry a fixed timestamp.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from tinygrad_edu.data.idx import read_idx
from tinygrad_edu.data.mnist import IMAGES_MAGIC, LABELS_MAGIC
from tinygrad_edu.fileio import atomic_write

SEED = 20240611
TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100
MAX_BYTES = 2 * 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """`per_class` random positions of each digit, sorted (so the original order is kept)."""
    picks = [rng.permutation(np.flatnonzero(labels == digit))[:per_class] for digit in range(10)]
    return np.sort(np.concatenate(picks)).astype(np.int32)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A compressed .npz (what np.savez_compressed writes) with fixed member timestamps, atomically."""
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for key, value in arrays.items():
            member = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(member, "w") as out:
                np.lib.format.write_array(out, value, allow_pickle=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "datasets" / "mnist")
    parser.add_argument("--out", type=Path, default=REPO / "tinygrad_edu" / "data" / "mnist_subset.npz")
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    arrays = {}
    for split, prefix, per_class in (("train", "train", TRAIN_PER_CLASS), ("test", "t10k", TEST_PER_CLASS)):
        images = read_idx(args.source / f"{prefix}-images-idx3-ubyte.gz", IMAGES_MAGIC)
        labels = read_idx(args.source / f"{prefix}-labels-idx1-ubyte.gz", LABELS_MAGIC)
        index = balanced_indices(labels, per_class, rng)
        arrays |= {
            f"{split}_images": images[index],
            f"{split}_labels": labels[index],
            f"{split}_indices": index,
        }

    write_npz(args.out, arrays)
    size = args.out.stat().st_size
    train, test = len(arrays["train_images"]), len(arrays["test_images"])
    print(f"wrote {args.out}: {train} train and {test} test images, {size} bytes")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size} bytes, over the {MAX_BYTES}-byte budget")


if __name__ == "__main__":
    main()
