"""Data for tinygrad_edu: MNIST in every format the from-scratch write-ups use, and a DataLoader.

numpy only; nothing here needs the autograd side, so `tinygrad_edu.data` can feed any model.

    from tinygrad_edu.data import DataLoader, flatten, load_mnist, to_float

    mnist = load_mnist()                      # or load_mnist(subset=True): bundled, offline
    X, y = flatten(to_float(mnist.train_images)), mnist.train_labels
    for xb, yb in DataLoader((X, y), batch_size=128, shuffle=True, seed=0):
        ...
"""

from tinygrad_edu.data.csv import read_csv
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
    "read_idx",
    "to_float",
    "write_idx",
]
