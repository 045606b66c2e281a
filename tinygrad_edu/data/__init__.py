"""Data for tinygrad_edu: MNIST in every format the from-scratch write-ups use, and a DataLoader.

numpy only; nothing here needs the autograd side, so `tinygrad_edu.data` can feed any model.

    from tinygrad_edu.data import DataLoader, flatten, load_mnist, to_float

    mnist = load_mnist()                      # or load_mnist(subset=True): bundled, offline
    X, y = flatten(to_float(mnist.train_images)), mnist.train_labels
    for xb, yb in DataLoader((X, y), batch_size=128, shuffle=True, seed=0):
        ...

Kaggle's Digit Recognizer: `read_digit_recognizer("train.csv")`, then `write_submission(path,
predicted_labels)` for test.csv; "MNIST in CSV": `read_mnist_csv("mnist_train.csv")`.
"""

from tinygrad_edu.data.csv import read_csv, read_digit_recognizer, read_mnist_csv, write_submission
from tinygrad_edu.data.download import MIRRORS, MNIST_MD5, DownloadError, download_mnist
from tinygrad_edu.data.idx import read_idx, write_idx
from tinygrad_edu.data.loader import DataLoader
from tinygrad_edu.data.mnist import MNIST, flatten, load_mnist, load_mnist_subset, to_float

__all__ = [
    "MIRRORS",
    "MNIST",
    "MNIST_MD5",
    "DataLoader",
    "DownloadError",
    "download_mnist",
    "flatten",
    "load_mnist",
    "load_mnist_subset",
    "read_csv",
    "read_digit_recognizer",
    "read_idx",
    "read_mnist_csv",
    "to_float",
    "write_idx",
    "write_submission",
]
