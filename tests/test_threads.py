"""Backward passes from several threads into the same leaves: no contribution is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

import tinygrad_edu as tg


def run_at_once(work: Callable[[], None], threads: int) -> None:
    """Run `work` in that many threads, all released together by a barrier, and wait for them."""
    start = threading.Barrier(threads)

    def body() -> None:
        start.wait()
        work()

    running = [threading.Thread(target=body) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()


def test_concurrent_backward_into_one_leaf_loses_no_gradient():
    """Eight threads each run (W * 1.0).sum().backward() 300 times into one (256, 256) leaf: every
    entry of W.grad must be exactly 2400. Unlocked, `W.grad += g` lost updates (numpy releases the
    GIL inside the add): entries of 2,146-2,391 were seen."""
    w = tg.Tensor(np.zeros((256, 256), np.float32), requires_grad=True)

    def work() -> None:
        for _ in range(300):
            (w * 1.0).sum().backward()

    run_at_once(work, threads=8)
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad, np.full((256, 256), 2400, np.float32))


def test_the_first_gradient_of_a_leaf_from_two_threads_at_once():
    """The first contributions race on `grad is None`: all must count."""
    for _ in range(50):
        w = tg.Tensor(np.zeros(1000), requires_grad=True)
        run_at_once(lambda w=w: (w * 2.0).sum().backward(), threads=4)
        np.testing.assert_array_equal(w.grad, np.full(1000, 8.0))
