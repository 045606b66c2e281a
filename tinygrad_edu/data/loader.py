"""`DataLoader`: mini-batches of numpy arrays, in order or in a fresh random order each epoch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinygrad_edu import rng


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`; each `for` loop is one epoch.

    `dataset` is one of:
      - an array X: batches are arrays X[i:j];
      - a tuple of arrays of equal length, e.g. (X, y): batches are tuples (X[i:j], y[i:j]);
      - any object with `__len__` and `__getitem__(i)` returning one sample (an array or
        number, or a tuple of them): batches stack the samples field by field. A list of
        arrays is refused: `[X, y]` is almost always meant as the tuple `(X, y)`.

    An epoch visits every sample exactly once; `len(loader)` is its number of batches, the last
    one smaller unless `drop_last` drops it. With `shuffle`, each epoch follows a new permutation
    drawn from `np.random.default_rng(seed)` (made once, so epochs differ and the whole run
    repeats), or from tinygrad_edu's global generator (`manual_seed`) when `seed` is None.
    Batches index the arrays with a slice of the order, so no epoch copies the whole dataset.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._arrays = _as_arrays(dataset)
        self._rng = None if seed is None else rng.seeded(seed, "DataLoader")

    def __len__(self) -> int:
        n, b = self._num_samples(), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Any]:
        n = self._num_samples()
        order = (self._rng or rng.generator()).permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            yield self._batch(slice(start, stop) if order is None else order[start:stop])

    def _num_samples(self) -> int:
        return len(self.dataset if self._arrays is None else self._arrays[0])

    def _batch(self, index: slice | np.ndarray) -> Any:
        if self._arrays is None:
            return _collate([self.dataset[int(i)] for i in np.arange(self._num_samples())[index]])
        batch = tuple(a[index] for a in self._arrays)
        return batch if isinstance(self.dataset, tuple) else batch[0]


def _as_arrays(dataset: Any) -> tuple[np.ndarray, ...] | None:
    """The arrays to slice, or None for a dataset object indexed one sample at a time."""
    if isinstance(dataset, np.ndarray):
        arrays: tuple[np.ndarray, ...] = (dataset,)
    elif isinstance(dataset, tuple):
        # NOTE: asanyarray keeps ndarray subclasses (and np.memmap) as they are, uncopied.
        arrays = tuple(np.asanyarray(a) for a in dataset)
    elif isinstance(dataset, list) and dataset and getattr(dataset[0], "ndim", 0) >= 1:  # arrays, Tensors
        # NOTE: [X, y] would otherwise be a dataset of two samples, X and y.
        shapes = ", ".join(str(tuple(getattr(a, "shape", ()))) for a in dataset[:3]) + (
            ", …" if len(dataset) > 3 else ""
        )
        raise TypeError(
            f"DataLoader: got a list of {len(dataset)} arrays (shapes {shapes}); pass a tuple (X, y) "
            "to batch arrays side by side, or np.stack(samples) for a list of samples"
        )
    elif hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        return None
    else:
        raise TypeError(
            f"DataLoader: expected an array, a tuple of arrays or an object with __len__ and "
            f"__getitem__, got {type(dataset).__name__}"
        )
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError(
            f"DataLoader: the arrays need a first (sample) axis, got shapes {[a.shape for a in arrays]}"
        )
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(f"DataLoader: the arrays differ in length: shapes {[a.shape for a in arrays]}")
    return arrays


def _collate(samples: list[Any]) -> Any:
    """Stack samples into a batch: field by field when each sample is a tuple."""
    if isinstance(samples[0], tuple):
        return tuple(np.stack(field) for field in zip(*samples))
    return np.stack(samples)
