"""`save` / `load`: state dicts as `.npz` files, written atomically and read without pickle.

The file is a plain numpy `.npz` archive (one `<key>.npy` member per entry), so
`np.load(path)` reads it too, and a PyTorch script can load the arrays by name.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.fileio import PathLike, atomic_write


def _as_array(key: Any, value: Any) -> np.ndarray:
    if not isinstance(key, str) or not key:
        raise TypeError(f"save: keys must be non-empty strings, got {key!r}")
    if key.endswith(".npy"):
        # NOTE: each entry is stored as member "<key>.npy", and numpy's reader answers to a
        # member's name with and without ".npy": "x" and "x.npy" would both read back as one.
        raise ValueError(f"save: key {key!r} ends in '.npy', which the .npz format cannot tell apart")
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (bool, int, float, np.generic)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"save: the value for key {key!r} is a {type(value).__name__}, not an array, Tensor or number"
        )
    if value.dtype.kind not in "biuf":
        raise TypeError(f"save: the array for key {key!r} has dtype {value.dtype}, not a numeric dtype")
    return value


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write `{name: array}` to `path` as an `.npz` archive, atomically.

    Values may be numpy arrays, Tensors or numbers (stored as 0-d arrays); anything else is
    rejected, naming its key. The archive is written to a temporary file in the same directory
    and renamed over `path`, so a crash never leaves a half-written file behind. `path` is used
    exactly as given (no `.npz` is appended).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a dict of arrays, got {type(state_dict).__name__}")
    arrays = {key: _as_array(key, value) for key, value in state_dict.items()}
    with atomic_write(path) as f:
        _write_npz(f, arrays)


def _write_npz(f: Any, arrays: dict[str, np.ndarray]) -> None:
    # NOTE: this is what np.savez does, minus its pitfall: np.savez(f, **arrays) fails for
    # keys named "file" or "allow_pickle", which collide with its own parameters.
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, value in arrays.items():
            with archive.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def load(path: PathLike) -> dict[str, np.ndarray]:
    """Read an archive written by `save` (or `np.savez`) into `{name: array}`; never unpickles."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not named arrays")
        with archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"load: {path} is not a readable .npz archive ({e})") from None
