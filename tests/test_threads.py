"""Backward passes from several threads into the same leaves: no contribution is lost."""

from __future__ import annotations

import threading

import numpy as np

import tinygrad_edu as tg


def test_concurrent_backward_into_one_leaf_loses_no_gradient():
    """Eight threads each run (W * 1.0).sum().backward() 300 times into one (256, 256) leaf: every
    entry of W.grad must be exactly 2400. Unlocked, `W.grad += g` lost updates (numpy releases the
    GIL inside the add): entries of 2,146-2,391 were seen."""
    w = tg.Tensor(np.zeros((256, 256), np.float32), requires_grad=True)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(300):
            (w * 1.0).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad, np.full((256, 256), 2400, np.float32))


def test_the_first_gradient_of_a_leaf_from_two_threads_at_once():
    """The first contributions race on `grad is None`: both must count."""
    for _ in range(50):
        w = tg.Tensor(np.zeros(1000), requires_grad=True)
        start = threading.Barrier(4)

        def work(w=w, start=start) -> None:
            start.wait()
            (w * 2.0).sum().backward()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_array_equal(w.grad, np.full(1000, 8.0))
