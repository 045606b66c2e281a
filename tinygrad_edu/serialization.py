"""`save` / `load`: state dicts as `.npz` or `.safetensors` files, written atomically, never pickled.

The format follows the file's suffix. `.safetensors` (the pickle-free format PyTorch users
share weights in; needs the `interop` extra) is read and written through `safetensors.numpy`,
so `safetensors.torch.load_file` reads what `save` writes and `load` reads what
`safetensors.torch.save_file` writes. Any other suffix is a plain numpy `.npz` archive (one
`<key>.npy` member per entry) that `np.load(path)` reads too.

Loads are all or nothing: a file that is damaged anywhere raises, naming it; no partial dict.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.fileio import PathLike, atomic_write

SAFETENSORS_SUFFIX = ".safetensors"
INTEROP_HINT = "install the interop extra: pip install 'tinygrad_edu[interop]'"
# The safetensors dtypes numpy has a type for (safetensors.numpy's own table).
SAFETENSORS_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "U16": "uint16",
    "I16": "int16",
    "F16": "float16",
    "U32": "uint32",
    "I32": "int32",
    "F32": "float32",
    "U64": "uint64",
    "I64": "int64",
    "F64": "float64",
}
_PICKLE_HELP = (
    "tinygrad_edu never unpickles, because loading a pickle runs whatever code the file holds. "
    "Convert it once, in PyTorch:\n"
    "    import torch; from safetensors.torch import save_file\n"
    "    state = torch.load(PATH, weights_only=True)  # a state_dict; for a whole model, .state_dict()\n"
    "    save_file({k: v.contiguous() for k, v in state.items()}, 'model.safetensors')\n"
    "then tg.load('model.safetensors') (" + INTEROP_HINT + ")."
)


def is_safetensors(path: PathLike) -> bool:
    """True when `path` names a .safetensors file (the suffix decides the format)."""
    return Path(path).suffix.lower() == SAFETENSORS_SUFFIX


def import_safetensors(what: str) -> Any:
    """The `safetensors` package, or ImportError saying which extra installs it."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{what} needs the safetensors package: {INTEROP_HINT}") from None
    return safetensors


def _as_array(key: Any, value: Any, safetensors: bool) -> np.ndarray:
    if not isinstance(key, str) or not key:
        raise TypeError(f"save: keys must be non-empty strings, got {key!r}")
    if "\0" in key:
        # NOTE: zip member names end at a NUL on reading, so the key would come back truncated.
        raise ValueError(f"save: key {key!r} contains a NUL character, which file formats cut the name at")
    if safetensors and key == "__metadata__":
        raise ValueError("save: key '__metadata__' is reserved by the .safetensors header")
    if not safetensors and key.endswith(".npy"):
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
    if safetensors and value.dtype.name not in SAFETENSORS_DTYPES.values():
        raise TypeError(
            f"save: the array for key {key!r} has dtype {value.dtype}, which .safetensors cannot hold"
        )
    # NOTE: not np.ascontiguousarray, which turns a 0-d array into shape (1,).
    return value.copy(order="C") if safetensors and not value.flags.c_contiguous else value


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write `{name: array}` to `path`, atomically: `.safetensors` if the name ends so, else `.npz`.

    Values may be numpy arrays, Tensors or numbers (stored as 0-d arrays); anything else is
    rejected, naming its key, before anything is written. The file is written to a temporary
    file in the same folder and renamed over `path`, so a crash never leaves a half-written file
    behind, and a write-protected `path` is refused. `path` is used exactly as given (no suffix
    is appended).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a dict of arrays, got {type(state_dict).__name__}")
    safetensors = is_safetensors(path)
    arrays = {key: _as_array(key, value, safetensors) for key, value in state_dict.items()}
    if safetensors:
        # NOTE: safetensors.numpy.save_file writes in place; serializing to bytes keeps the write atomic.
        content = import_safetensors(f"save: {path}").numpy.save(arrays)
        with atomic_write(path) as f:
            f.write(content)
        return
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
    """Read a file written by `save` (or `np.savez`, or `safetensors.*.save_file`) into
    `{name: array}`, all or nothing; never unpickles (a `torch.save` file gets an error saying
    how to convert it)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if is_safetensors(path):
        return _load_safetensors(path)
    with open(path, "rb") as f:
        start = f.read(2)
    if start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):  # pickle's PROTO opcode
        raise ValueError(f"load: {path} is a pickle (torch.save's legacy format). {_PICKLE_HELP}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"load: {path} is not a readable .npz archive ({e})") from None
    with archive:
        names = archive.namelist()
        if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
            raise ValueError(f"load: {path} is a PyTorch checkpoint written by torch.save. {_PICKLE_HELP}")
        other = next((name for name in names if not name.endswith(".npy")), None)
        if other is not None:
            raise ValueError(
                f"load: {path} holds the member {other!r}, which is not a .npy array "
                "(a checkpoint holds arrays only)"
            )
        return {name[: -len(".npy")]: _read_member(path, archive, name) for name in names}


def _read_member(path: str, archive: zipfile.ZipFile, name: str) -> np.ndarray:
    try:
        with archive.open(name) as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        key = name[: -len(".npy")]
        raise ValueError(f"load: {path}: the array {key!r} cannot be read ({e})") from None


def _load_safetensors(path: str) -> dict[str, np.ndarray]:
    safetensors = import_safetensors(f"load: {path}")
    try:
        with safetensors.safe_open(path, framework="np") as f:
            keys = list(f.keys())
            for key in keys:
                dtype = f.get_slice(key).get_dtype()
                if dtype not in SAFETENSORS_DTYPES:
                    raise TypeError(
                        f"load: {path}: key {key!r} has dtype {dtype}, which numpy has no type for; "
                        "convert it in PyTorch first (e.g. tensor.float() for BF16) and save again"
                    )
            return {key: f.get_tensor(key) for key in keys}
    except safetensors.SafetensorError as e:
        raise ValueError(f"load: {path} is not a readable .safetensors file ({e})") from None
