"""IDX files, the format MNIST is distributed in.

An IDX file is a header followed by the values, big-endian, in C order:

    magic   4 bytes: 0x00 0x00 <type code> <ndim>     e.g. 0x00000803 = unsigned bytes, 3-D
    dims    ndim × uint32                             e.g. 60000, 28, 28
    data    prod(dims) values of the type             e.g. 60000·28·28 pixels

MNIST uses 0x00000803 for images (N, 28, 28) and 0x00000801 for labels (N,). Files may be
gzip-compressed; compression is recognised from the content, not the file name.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from tinygrad_edu.fileio import PathLike, atomic_write

# The type codes of the IDX format; the values on disk are big-endian.
_TYPES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}
_CODES = {name: code for code, name in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: PathLike, fn: str) -> bytes:
    """The content of `path`, decompressed if it is gzip; `fn` names the caller in errors."""
    raw = Path(path).read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError(f"{fn}: {path} is a truncated or corrupt gzip file ({e})") from None


def read_idx(path: PathLike, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a native-endian numpy array of the shape in its header.

    `magic`, if given, is the magic number the file must have (0x00000803 for MNIST images,
    0x00000801 for labels). A wrong magic number, a header or data shorter or longer than the
    header's dims say, or a corrupt gzip stream raise ValueError naming the file.
    """
    content = read_bytes(path, "read_idx")
    if len(content) < 4:
        raise ValueError(f"read_idx: {path} is truncated: {len(content)} bytes, less than the magic number")
    code, type_code, ndim = int.from_bytes(content[:4], "big"), content[2], content[3]
    if content[:2] != b"\0\0" or type_code not in _TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic number 0x{code:08x})")
    if magic is not None and code != magic:
        raise ValueError(
            f"read_idx: {path} has magic number 0x{code:08x} ({_describe(code)}), "
            f"expected 0x{magic:08x} ({_describe(magic)})"
        )
    start = 4 + 4 * ndim
    if len(content) < start:
        raise ValueError(f"read_idx: {path} is truncated inside its header ({len(content)} of {start} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(content, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_TYPES[type_code]).newbyteorder(">")
    size = start + math.prod(dims) * dtype.itemsize
    if len(content) != size:
        state = "truncated" if len(content) < size else "longer than its header says"
        raise ValueError(
            f"read_idx: {path} is {state}: the header says {dims} values of {dtype.name}, "
            f"{size} bytes in all, but the file holds {len(content)} bytes"
        )
    # NOTE: astype copies into a native-endian array that, unlike the bytes it came from, is writable.
    return np.frombuffer(content, dtype, offset=start).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed if `path` ends in `.gz`, atomically.

    The dtype must be one IDX has a code for: uint8, int8, int16, int32, float32, float64.
    """
    x = np.asarray(array)
    if x.dtype.name not in _CODES:
        raise TypeError(f"write_idx: IDX has no type code for dtype {x.dtype} (use one of {list(_CODES)})")
    header = bytes([0, 0, _CODES[x.dtype.name], x.ndim]) + np.asarray(x.shape, ">u4").tobytes()
    content = header + np.ascontiguousarray(x, x.dtype.newbyteorder(">")).tobytes()
    if str(path).endswith(".gz"):
        content = gzip.compress(content, mtime=0)  # mtime=0: the same array gives the same bytes
    with atomic_write(path) as f:
        f.write(content)


def _describe(magic: int) -> str:
    type_name = _TYPES.get((magic >> 8) & 0xFF, "unknown type")
    return f"{magic & 0xFF}-D {type_name}"
