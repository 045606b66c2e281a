"""Downloading the four MNIST files from public mirrors, each checked against its published MD5.

Every file is streamed into a temporary file beside its destination and renamed into place only
once its length and MD5 are right, so a failed, truncated or corrupt download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
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

_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered a file intact; the message lists every attempt and the manual way out."""


def download_mnist(
    dest: PathLike,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> list[Path]:
    """Download into `dest` each file of `checksums` (name → MD5) that is not there yet.

    Defaults: `MIRRORS` and `MNIST_MD5`. Each file is fetched from the mirrors in order until one
    serves it complete and with the right MD5; `timeout` (seconds) bounds each connection and read.
    Returns the paths of all the files; raises DownloadError if some file could not be fetched.
    """
    mirrors = MIRRORS if mirrors is None else mirrors
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
        _download(name, md5, dest, mirrors, timeout, list(checksums))
    return [dest / name for name in checksums]


def _download(
    name: str, md5: str, dest: Path, mirrors: Sequence[str], timeout: float, names: list[str]
) -> None:
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        print(f"download_mnist: fetching {url}", file=sys.stderr)
        try:
            _fetch(url, dest / name, md5, timeout)
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


def _fetch(url: str, target: Path, md5: str, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "tinygrad_edu"})
    with urllib.request.urlopen(request, timeout=timeout) as response, atomic_write(target) as f:
        expected = response.headers.get("Content-Length")
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        while chunk := response.read(_CHUNK):
            f.write(chunk)
            digest.update(chunk)
            received += len(chunk)
        # NOTE: http.client returns a short body without raising when the server hangs up early,
        # so the length is checked here; the MD5 then catches everything else.
        if expected is not None and received != int(expected):
            raise ValueError(f"truncated: received {received} of {expected} bytes")
        if digest.hexdigest() != md5:
            raise ValueError(f"MD5 {digest.hexdigest()} is not the expected {md5}")
