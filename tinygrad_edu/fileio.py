"""Writing files safely: every file the library writes goes through `atomic_write`.

The bytes go to a temporary file `.NAME.<pid>@<host>.<random>.part` beside the target NAME and
are renamed over it only once complete, so a reader never sees a half-written file. A process
killed mid-write (kill -9, power cut) leaves its temporary behind; the next write of the same
target on the same host removes the temporaries whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PathLike = str | os.PathLike

# Failures of the write itself (disk full, quota, file size limit, I/O error, read-only mount):
# reported with the target's name, since the temporary's name means nothing to the caller.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for writing; rename it over `path` when the block ends
    normally, delete it when the block raises. Readers never see a half-written `path`.

    Refuses, as `open(path, "wb")` would, a `path` that exists and that the caller may not write
    (a rename would replace it regardless of its mode). An error while writing (disk full) names
    `path`. Stale temporaries of `path` left by killed processes are removed first.
    """
    path = Path(path)
    if not path.parent.is_dir():  # otherwise the error would name the temporary file
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        mode: int | None = path.stat().st_mode
    except OSError:  # no such file yet (or an unusable name, which creating the temporary reports)
        mode = None
    if mode is not None and stat.S_ISREG(mode) and not writable(path):
        raise PermissionError(
            errno.EACCES, f"cannot write {path}: it is write-protected (mode {stat.S_IMODE(mode):#o})"
        )
    remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}@{socket.gethostname()}.{secrets.token_hex(6)}.part")
    try:
        # NOTE: os.open with 0o666 lets the umask decide the permissions, as open() does (mkstemp
        # would make the file private); a file that is replaced keeps its own permissions.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(f.fileno(), stat.S_IMODE(mode))
            yield f
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename: a crash never leaves an empty `path`
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
    except OSError as e:
        if e.errno in _WRITE_ERRNOS and str(path) not in str(e):
            raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)


def writable(path: PathLike) -> bool:
    """True if the caller may write the existing file `path`, as `open(path, "wb")` decides.

    NOTE: a rename replaces a file whatever its mode, so the check is made here, by hand."""
    return os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def remove_stale_temporaries(path: PathLike) -> list[Path]:
    """Delete the temporaries `atomic_write(path)` left behind in processes that no longer exist
    on this host; return their paths. Files of other targets, other hosts (a shared network
    folder) or live processes are never touched."""
    path = Path(path)
    pattern = re.compile(
        rf"\.{re.escape(path.name)}\.(\d+)@{re.escape(socket.gethostname())}\.[0-9a-f]{{12}}\.part"
    )
    removed = []
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if match and not process_exists(int(match[1])):
                with contextlib.suppress(OSError):  # a temporary we cannot remove is no reason to fail
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def process_exists(pid: int) -> bool:
    """True if a process `pid` exists on this host (or if that cannot be known)."""
    if os.name != "posix":
        return True  # NOTE: on Windows os.kill(pid, 0) would terminate the process, not probe it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: it exists but belongs to another user
        return True
    return True
