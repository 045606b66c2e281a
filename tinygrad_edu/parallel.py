"""Intra-op parallelism: PyTorch's `set_num_threads` / `get_num_threads`, and two ways for an op
to use more than one core: `parallel_for` splits one computation (over the images of a batch),
`concurrently` runs independent ones (a convolution's two gradients).

numpy releases the GIL inside its loops (ufuncs, copies, matrix products), so threads running
numpy use several cores, but only while the loops run: taking the GIL back costs ~10-20 µs when
another thread holds it. So a part pays off when it is a few large numpy calls.

The default is one thread, unlike PyTorch's (one per core). PyTorch owns its BLAS; numpy's BLAS
(OpenBLAS) keeps a pool of its own, whose idle threads spin, and two pools on the same cores slow
each other down. Limit BLAS to one thread first (`OPENBLAS_NUM_THREADS=1`, or threadpoolctl's
`threadpool_limits(1, "blas")`, as examples/mnist_cnn.py does), then call `set_num_threads`.

A part handed to another thread runs with the calling thread's grad mode and anomaly detection
(`grad_mode`'s flags are per thread), so it records, or not, as it would have here.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from tinygrad_edu.grad_mode import Switch, modes

T = TypeVar("T")

# NOTE: handing a part to another thread and back costs ~50-100 µs here, in wake-ups and cache
# misses: a part of fewer numbers than this runs faster where it is.
MIN_PART = 1 << 18

_threads = 1
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_inside = threading.local()  # `.yes` while a thread runs a part: what a part starts runs there


def set_num_threads(n: int) -> None:
    """Let ops split their work over `n` threads (the calling one included); 1 runs all of it there."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: the number of threads must be an int of at least 1, got {n!r}")
    global _threads, _pool
    with _lock:
        # NOTE: the old pool is dropped, not shut down: an op still using it in another thread
        # finishes there, and its threads end once nothing refers to it.
        _threads, _pool = n, None


def get_num_threads() -> int:
    """How many threads an op may split its work over (see `set_num_threads`)."""
    return _threads


def parallel_for(n: int, body: Callable[[slice], T], size: int) -> list[T]:
    """body(s) for consecutive slices s that cover range(n), up to `get_num_threads()` of them at
    once, and their results in order. `size` is how many numbers the whole loop touches: a small
    loop runs whole in the calling thread. Each body must write only its own part of any output.
    """
    parts = min(_threads, n, size // MIN_PART)
    bounds = [n * i // parts for i in range(parts + 1)] if parts > 1 else [0, n]
    return concurrently(*(lambda s=slice(a, b): body(s) for a, b in itertools.pairwise(bounds)))


def concurrently(*calls: Callable[[], T] | None) -> list[T | None]:
    """Each call's result, in order, the calls run at once on up to `get_num_threads()` threads
    (the first in the calling thread); a None call gives None and takes no thread. Returns when
    all are done, then re-raises the first error. Inside a call, `parallel_for` and
    `concurrently` run everything in that call's thread."""
    todo = [call for call in calls if call is not None]
    if len(todo) <= 1 or _threads == 1 or getattr(_inside, "yes", False):
        done = iter([call() for call in todo])
    else:
        pool = _workers()
        flags = {"enabled": modes.enabled, "anomaly": modes.anomaly}  # the caller's, for every part
        there = [pool.submit(_part, call, flags) for call in todo[1:]]
        try:
            here = _part(todo[0], flags)
        finally:
            wait(there)  # every part has finished writing before anything is raised or returned
        done = iter([here, *(f.result() for f in there)])
    return [None if call is None else next(done) for call in calls]


def _part(call: Callable[[], T], flags: dict[str, bool]) -> T:
    _inside.yes = True
    try:
        with Switch(**flags):
            return call()
    finally:
        _inside.yes = False


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="tinygrad_edu")
        return _pool


def _forget_workers() -> None:
    """In a child made by fork, which has only the forking thread: start again with no pool."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_workers)
