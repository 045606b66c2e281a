"""MNIST as CSV: one image per line, an optional label first, then the 784 pixels row by row.

The layouts in circulation, all read by `read_csv` (raw or gzip):

    label,1x1,1x2,...,28x28       Kaggle "MNIST in CSV" (mnist_train.csv, mnist_test.csv)
    5,0,0,...,0                   no header, label first (785 values a line): pjreddie's "MNIST in
                                  CSV" (mnist_train.csv, mnist_test.csv) and some write-ups
    label,pixel0,...,pixel783     Kaggle "Digit Recognizer" (train.csv)
    pixel0,...,pixel783           its test.csv, which has no labels (784 values a line)

A first line holding letters is a header; 785 values a line means a label column, 784 none. The
label must come first: a header naming another first column is refused, and so is a file without
a header whose first column is one value throughout while its last column holds varying digits
0-9 (the label written last: MNIST's corner pixels are always 0). A label last in a file whose
first pixels vary cannot be told from a label first, and is read as one.

`read_digit_recognizer` and `read_mnist_csv` read one family only and check its header exactly;
`write_submission` writes the Digit Recognizer's `ImageId,Label` file.
"""

from __future__ import annotations

import io
import re

import numpy as np

from tinygrad_edu.data.idx import PathLike, read_bytes
from tinygrad_edu.fileio import atomic_write

SIDE = 28
PIXELS = SIDE * SIDE
NUM_CLASSES = 10

KAGGLE_TEST_HEADER = ",".join(f"pixel{i}" for i in range(PIXELS))
KAGGLE_TRAIN_HEADER = "label," + KAGGLE_TEST_HEADER
MNIST_CSV_HEADER = "label," + ",".join(f"{r}x{c}" for r in range(1, SIDE + 1) for c in range(1, SIDE + 1))
SUBMISSION_HEADER = "ImageId,Label"


def read_csv(path: PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an MNIST CSV file of any layout above into (images uint8 (N, 28, 28), labels int64
    (N,) or None).

    Labels are None for a file without a label column. A line with the wrong number of values,
    a value that is not an integer in 0..255, a label outside 0..9 or a label seemingly in the
    last column raises ValueError naming the file and the line.
    """
    return _read(path, "read_csv", None)


def read_digit_recognizer(path: PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read Kaggle's Digit Recognizer train.csv (header `label,pixel0,…,pixel783`) into (images,
    labels), or its test.csv (header `pixel0,…,pixel783`) into (images, None)."""
    return _read(path, "read_digit_recognizer", (KAGGLE_TRAIN_HEADER, KAGGLE_TEST_HEADER))


def read_mnist_csv(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an "MNIST in CSV" file (mnist_train.csv, mnist_test.csv): label first, then the 784
    pixels, with no header (pjreddie's) or the header `label,1x1,…,28x28` (Kaggle's)."""
    images, labels = _read(path, "read_mnist_csv", (None, MNIST_CSV_HEADER))
    if labels is None:
        raise ValueError(f"read_mnist_csv: {path} has {PIXELS} values a line, no label column")
    return images, labels


def write_submission(path: PathLike, labels: np.ndarray) -> None:
    """Write predicted digits as a Kaggle Digit Recognizer submission, atomically: the line
    `ImageId,Label`, then `i,label` for image i = 1, 2, … in the order of test.csv, each ending '\\n'."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        hint = " (take logits.argmax(1) first)" if y.ndim == 2 else ""
        raise TypeError(
            f"write_submission: expected one integer label per image, shape (N,), "
            f"got dtype {y.dtype} and shape {y.shape}{hint}"
        )
    if len(y) == 0:
        raise ValueError(f"write_submission: no labels to write to {path}")
    bad = np.flatnonzero((y < 0) | (y >= NUM_CLASSES))
    if bad.size:
        raise ValueError(
            f"write_submission: {bad.size} labels are not digits 0-9, "
            f"the first at index {bad[0]}: {y[bad[0]]}"
        )
    rows = np.column_stack([np.arange(1, len(y) + 1), y])
    with atomic_write(path) as f:
        np.savetxt(f, rows, fmt="%d", delimiter=",", newline="\n", header=SUBMISSION_HEADER, comments="")


def _read(
    path: PathLike, fn: str, headers: tuple[str | None, ...] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse any layout; `headers`, if given, lists the first lines allowed (None: no header)."""
    content = read_bytes(path, fn)
    first = content.split(b"\n", 1)[0]
    header = re.search(rb"[A-Za-z]", first) is not None
    if headers is not None:
        names = ",".join(v.strip().decode(errors="replace") for v in first.split(b",")) if header else None
        if names not in headers:
            raise _error(fn, path, 1, f"{_shorten(names)}, expected {' or '.join(map(_shorten, headers))}")
    ncols = first.count(b",") + 1
    if ncols not in (PIXELS, PIXELS + 1):
        raise _error(
            fn, path, 1, f"{ncols} values, expected {PIXELS + 1} (label and pixels) or {PIXELS} (pixels)"
        )
    has_label = ncols == PIXELS + 1
    name = first.split(b",")[0].strip()
    if header and (name.lower() == b"label") != has_label:
        raise _error(
            fn,
            path,
            1,
            f"a header of {ncols} columns, the first {name.decode(errors='replace')!r}; expected "
            f"'label' and {PIXELS} pixel columns, or {PIXELS} pixel columns",
        )
    body = content[len(first) + 1 :] if header else content
    if not body.strip():
        raise ValueError(f"{fn}: {path} has no data lines")
    try:
        values = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.uint8, comments=None, ndmin=2)
    except ValueError as e:
        raise _locate(fn, path, content, ncols, header, str(e)) from None
    labels = values[:, 0].astype(np.int64) if has_label else None
    if values.shape[1] != ncols or (labels is not None and labels.max() >= NUM_CLASSES):
        raise _locate(fn, path, content, ncols, header, f"{values.shape[1]} values a line")
    if labels is not None and not header and _label_looks_last(values):
        raise _error(
            fn,
            path,
            1,
            f"the first column, read as the label, is {labels[0]} on every line, while the last column "
            "holds digits 0-9 that vary: the label seems to be in the last column. Move it first "
            "(label, then the 784 pixels) or add a header",
        )
    images = np.ascontiguousarray(values[:, ncols - PIXELS :]).reshape(-1, SIDE, SIDE)
    return images, labels


def _label_looks_last(values: np.ndarray) -> bool:
    first, last = values[:, 0], values[:, -1]
    constant_first = len(values) > 1 and (first == first[0]).all()
    return constant_first and last.max() < NUM_CLASSES and (last != last[0]).any()


def _shorten(header: str | None) -> str:
    if header is None:
        return "no header"
    names = header.split(",")
    return repr(header) if len(names) <= 4 else repr(",".join(names[:2]) + ",…," + names[-1])


def _error(fn: str, path: PathLike, line: int, reason: str) -> ValueError:
    return ValueError(f"{fn}: {path}, line {line}: {reason}")


def _locate(fn: str, path: PathLike, content: bytes, ncols: int, header: bool, cause: str) -> ValueError:
    """The error for the first bad line; a slow line-by-line scan, run only once parsing has failed."""
    skip = int(header)
    for n, line in enumerate(content.splitlines()[skip:], 1 + skip):
        if not line:
            continue  # np.loadtxt skips empty lines too
        fields = [v.strip() for v in line.split(b",")]
        if len(fields) != ncols:
            return _error(fn, path, n, f"{len(fields)} values, expected {ncols}")
        if ncols == PIXELS + 1 and not (fields[0].isdigit() and int(fields[0]) < NUM_CLASSES):
            return _error(fn, path, n, f"label {fields[0].decode(errors='replace')!r} is not a digit 0-9")
        for column, v in enumerate(fields, 1):
            if not (v.isdigit() and int(v) <= 255):
                return _error(
                    fn, path, n, f"value {v.decode(errors='replace')!r} in column {column} is not 0..255"
                )
    return ValueError(f"{fn}: {path} could not be parsed ({cause})")
