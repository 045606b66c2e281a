"""`split_into(n)`: run ops on n threads, splitting even the tiny arrays of the property tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import tinygrad_edu as tg
from tinygrad_edu import parallel


@contextmanager
def split_into(threads: int) -> Iterator[None]:
    """Ops split their work over `threads` threads, however small it is."""
    before = tg.get_num_threads(), parallel.MIN_PART
    tg.set_num_threads(threads)
    parallel.MIN_PART = 1
    try:
        yield
    finally:
        tg.set_num_threads(before[0])
        parallel.MIN_PART = before[1]
