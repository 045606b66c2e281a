"""MNIST as CSV: one image per line, an optional label first, then the 784 pixels row by row.

The layouts in circulation, all read by `read_csv` (raw or gzip):

    label,1x1,1x2,...,28x28       Kaggle "MNIST in CSV" (mnist_train.csv, mnist_test.csv)
    label,pixel0,...,pixel783     Kaggle "Digit Recognizer" (train.csv)
    pixel0,...,pixel783           its test.csv, which has no labels
    5,0,0,...,0                   no header, label first (785 values a line), as in some write-ups

A first line holding letters is a header; 785 values a line means a label column, 784 none.
"""

from __future__ import annotations

import io
import re

import numpy as np

from tinygrad_edu.data.idx import PathLike, read_bytes

SIDE = 28
PIXELS = SIDE * SIDE
NUM_CLASSES = 10


def read_csv(path: PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an MNIST CSV file into (images uint8 (N, 28, 28), labels int64 (N,) or None).

    Labels are None for a file without a label column. A line with the wrong number of values,
    a value that is not an integer in 0..255, or a label outside 0..9 raises ValueError naming
    the file and the line.
    """
    content = read_bytes(path, "read_csv")
    first = content.split(b"\n", 1)[0]
    ncols = first.count(b",") + 1
    if ncols not in (PIXELS, PIXELS + 1):
        raise _error(
            path, 1, f"{ncols} values, expected {PIXELS + 1} (label and pixels) or {PIXELS} (pixels)"
        )
    header = re.search(rb"[A-Za-z]", first) is not None
    has_label = ncols == PIXELS + 1
    name = first.split(b",")[0].strip()
    if header and (name.lower() == b"label") != has_label:
        raise _error(
            path,
            1,
            f"a header of {ncols} columns, the first {name.decode(errors='replace')!r}; expected "
            f"'label' and {PIXELS} pixel columns, or {PIXELS} pixel columns",
        )
    body = content[len(first) + 1 :] if header else content
    if not body.strip():
        raise ValueError(f"read_csv: {path} has no data lines")
    try:
        values = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.uint8, comments=None, ndmin=2)
    except ValueError as e:
        raise _locate(path, content, ncols, header, str(e)) from None
    labels = values[:, 0].astype(np.int64) if has_label else None
    if values.shape[1] != ncols or (labels is not None and labels.max() >= NUM_CLASSES):
        raise _locate(path, content, ncols, header, f"{values.shape[1]} values a line")
    images = np.ascontiguousarray(values[:, ncols - PIXELS :]).reshape(-1, SIDE, SIDE)
    return images, labels


def _error(path: PathLike, line: int, reason: str) -> ValueError:
    return ValueError(f"read_csv: {path}, line {line}: {reason}")


def _locate(path: PathLike, content: bytes, ncols: int, header: bool, cause: str) -> ValueError:
    """The error for the first bad line; a slow line-by-line scan, run only once parsing has failed."""
    skip = int(header)
    for n, line in enumerate(content.splitlines()[skip:], 1 + skip):
        if not line:
            continue  # np.loadtxt skips empty lines too
        fields = [v.strip() for v in line.split(b",")]
        if len(fields) != ncols:
            return _error(path, n, f"{len(fields)} values, expected {ncols}")
        if ncols == PIXELS + 1 and not (fields[0].isdigit() and int(fields[0]) < NUM_CLASSES):
            return _error(path, n, f"label {fields[0].decode(errors='replace')!r} is not a digit 0-9")
        for column, v in enumerate(fields, 1):
            if not (v.isdigit() and int(v) <= 255):
                return _error(
                    path, n, f"value {v.decode(errors='replace')!r} in column {column} is not 0..255"
                )
    return ValueError(f"read_csv: {path} could not be parsed ({cause})")
