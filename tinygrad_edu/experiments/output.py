"""What every experiment shares: its command line's common options, a CSV file written atomically,
and a line per file for the terminal."""

from __future__ import annotations

import argparse
import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tinygrad_edu.fileio import atomic_write
from tinygrad_edu.plot import MISSING


def parser(module: str, description: str, out: str, quick: str) -> argparse.ArgumentParser:
    """`python -m tinygrad_edu.experiments.MODULE` with the options every experiment takes:
    --out DIR (default `out`), --quick (`quick` says what it shrinks) and --seed."""
    p = argparse.ArgumentParser(prog=f"python -m tinygrad_edu.experiments.{module}", description=description)
    p.add_argument("--out", default=out, help="output directory (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--seed", type=int, default=0)
    return p


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
