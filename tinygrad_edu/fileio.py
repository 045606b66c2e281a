"""Writing files safely: every file the library writes goes through `atomic_write`."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for writing; rename it over `path` when the block ends
    normally, delete it when the block raises. Readers never see a half-written `path`."""
    path = Path(path)
    if not path.parent.is_dir():  # otherwise the error would name the temporary file
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    try:
        # NOTE: os.open with 0o666 lets the umask decide the permissions, as open() does (mkstemp
        # would make the file private); a file that is replaced keeps its own permissions.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if path.exists():
                os.chmod(f.fileno(), stat.S_IMODE(path.stat().st_mode))
            yield f
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename: a crash never leaves an empty `path`
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
