"""Downloading the four MNIST files from public mirrors, each checked against its published MD5.

Every file is streamed into a temporary file beside its destination and renamed into place only
once its length and MD5 are right, so a failed, truncated or corrupt download leaves nothing behind.
Each file has a deadline on every mirror, so a server that trickles cannot hold a download forever.

The environment can set what the arguments leave unset:

    TINYGRAD_EDU_MIRRORS    mirror URLs, separated by spaces or commas, tried in order
    TINYGRAD_EDU_TIMEOUT    seconds a connection or a read may wait for the server (default 30)
    TINYGRAD_EDU_DEADLINE   seconds one file may take from one mirror, all told (default 600)
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from tinygrad_edu.data.idx import PathLike
from tinygrad_edu.fileio import atomic_write

# Tried in this order: PyTorch's mirror, TensorFlow's mirror, then the original site.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# MD5 of the canonical .gz files, as the mirrors serve them.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

ENV_MIRRORS = "TINYGRAD_EDU_MIRRORS"
ENV_TIMEOUT = "TINYGRAD_EDU_TIMEOUT"
ENV_DEADLINE = "TINYGRAD_EDU_DEADLINE"
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 600.0

_CHUNK = 1 << 16
_SCHEMES = ("http", "https", "file")


class DownloadError(OSError):
    """No mirror delivered a file intact; the message lists every attempt and the manual way out."""


def download_mnist(
    dest: PathLike,
    mirrors: Sequence[str] | str | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> list[Path]:
    """Download into `dest` each file of `checksums` (name → MD5) that is not there yet.

    Each file is fetched from the mirrors in order until one serves it complete and with the
    right MD5. `timeout` (seconds) bounds the wait for a connection and for each read; `deadline`
    (seconds) bounds a whole file from one mirror: a slower mirror is abandoned (at most
    `timeout` after the deadline, the longest one read waits) and the next one is tried.
    Unset arguments come from $TINYGRAD_EDU_MIRRORS, $TINYGRAD_EDU_TIMEOUT and
    $TINYGRAD_EDU_DEADLINE, then from `MIRRORS`, 30 s, 600 s and `MNIST_MD5`.
    Returns the paths of all the files; raises DownloadError if some file could not be fetched.
    """
    mirrors = _mirrors(mirrors)
    timeout = _seconds("timeout", timeout, ENV_TIMEOUT, DEFAULT_TIMEOUT)
    deadline = _seconds("deadline", deadline, ENV_DEADLINE, DEFAULT_DEADLINE)
    checksums = MNIST_MD5 if checksums is None else checksums
    dest = Path(dest)
    missing = {name: md5 for name, md5 in checksums.items() if not (dest / name).exists()}
    if missing:
        try:  # before any mirror is asked: a folder that cannot be written is not the mirrors' fault
            dest.mkdir(parents=True, exist_ok=True)
            if not os.access(dest, os.W_OK | os.X_OK):
                raise PermissionError(f"{dest} is not writable")
        except OSError as e:
            why = f"download_mnist: cannot download into {dest} ({e}). "
            raise DownloadError(why + _by_hand(list(checksums), dest)) from None
    for name, md5 in missing.items():
        _download(name, md5, dest, mirrors, timeout, deadline, list(checksums))
    return [dest / name for name in checksums]


def _mirrors(mirrors: Sequence[str] | str | None) -> tuple[str, ...]:
    """The mirrors to try: the argument, else $TINYGRAD_EDU_MIRRORS, else `MIRRORS`."""
    source = "mirrors"
    if mirrors is None and os.environ.get(ENV_MIRRORS, "").strip():
        mirrors, source = os.environ[ENV_MIRRORS].replace(",", " ").split(), f"${ENV_MIRRORS}"
    if mirrors is None:
        return MIRRORS
    urls = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
    bad = [url for url in urls if not (isinstance(url, str) and url.split("://")[0] in _SCHEMES)]
    if not urls or bad:
        raise ValueError(
            f"download_mnist: {source} must be one or more http://, https:// or file:// URLs, got {mirrors!r}"
        )
    return urls


def _seconds(name: str, value: float | None, env: str, default: float) -> float:
    """A positive, finite number of seconds: `value`, else $env, else `default`."""
    source = name
    if value is None and os.environ.get(env, "").strip():
        value, source = os.environ[env], f"${env}"
    if value is None:
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ValueError(f"download_mnist: {source} must be a positive number of seconds, got {value!r}")
    return seconds


def _download(
    name: str, md5: str, dest: Path, mirrors: Sequence[str], timeout: float, deadline: float, names: list[str]
) -> None:
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        print(f"download_mnist: fetching {url}", file=sys.stderr)
        try:
            _fetch(url, dest / name, md5, timeout, deadline)
            return
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures.append(f"  {url}: {e}")
    raise DownloadError(
        f"download_mnist: could not download {name}; tried:\n"
        + "\n".join(failures)
        + "\n"
        + _by_hand(names, dest)
    )


def _by_hand(names: Sequence[str], dest: Path) -> str:
    return (
        f"Download the files by hand ({', '.join(names)}) from any MNIST mirror and put them in {dest}, "
        "or set TINYGRAD_EDU_DATA to a folder holding them in a subfolder mnist/."
    )


def _fetch(url: str, target: Path, md5: str, timeout: float, deadline: float) -> None:
    start = time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": "tinygrad_edu"})
    with (
        urllib.request.urlopen(request, timeout=min(timeout, deadline)) as response,
        atomic_write(target) as f,
    ):
        expected = getattr(response, "length", None)  # from Content-Length; None when absent or invalid
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        # NOTE: read1, not read: read(n) waits for all n bytes, so a server trickling a byte at a
        # time would keep each call going without ever letting the deadline be checked.
        while chunk := response.read1(_CHUNK):
            f.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if time.monotonic() - start > deadline:
                of = "?" if expected is None else expected
                raise TimeoutError(
                    f"gave up at the deadline of {deadline:g} s with {received} of {of} bytes received "
                    f"(set deadline= or ${ENV_DEADLINE})"
                )
        # NOTE: http.client returns a short body without raising when the server hangs up early,
        # so the length is checked here; the MD5 then catches everything else.
        if expected is not None and received != expected:
            raise ValueError(f"truncated: received {received} of {expected} bytes")
        if digest.hexdigest() != md5:
            raise ValueError(f"MD5 {digest.hexdigest()} is not the expected {md5}")
