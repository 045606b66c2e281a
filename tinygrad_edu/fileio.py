"""Writing files safely: every file the library writes goes through `atomic_write`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for writing; rename it over `path` when the block ends
    normally, delete it when the block raises. Readers never see a half-written `path`."""
    path = Path(path)
    if not path.parent.is_dir():  # otherwise mkstemp's error would name the temporary file
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.chmod(fd, 0o644)  # mkstemp makes the file private (0600); data files are for everyone to read
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
