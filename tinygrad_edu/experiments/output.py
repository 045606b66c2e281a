"""What every experiment writes: a CSV file (atomically) and a line per file for the terminal."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tinygrad_edu.fileio import atomic_write
from tinygrad_edu.plot import MISSING


def write_csv(path: str | os.PathLike, fields: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A header line of `fields`, then one line per row."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(fields)
    w.writerows(rows)
    with atomic_write(path) as f:
        f.write(text.getvalue().encode())
    return Path(path)


def wrote(csv_path: Path, png_path: Path | None) -> str:
    """`wrote PATH` for each file, or why the plot is missing."""
    return f"wrote {csv_path}\n" + (f"wrote {png_path}" if png_path else MISSING)
