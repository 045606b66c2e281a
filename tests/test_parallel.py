"""Intra-op parallelism (`tinygrad_edu.parallel`): how work is split, that every part runs with
the caller's grad mode and finishes before an error is raised, and that a forked child works.
The ops that split their work are checked split and whole by test_conv's property tests."""

from __future__ import annotations

import os
import threading
import time

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from splitting import split_into

import tinygrad_edu as tg
from tinygrad_edu import functional as F
from tinygrad_edu import parallel


def test_one_thread_by_default_and_the_setting_round_trips() -> None:
    assert tg.get_num_threads() == 1  # numpy's BLAS has threads of its own: see the module's docstring
    with split_into(3):
        assert tg.get_num_threads() == 3
    assert tg.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None])
def test_set_num_threads_refuses_what_is_not_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match=r"set_num_threads: .* at least 1, got"):
        tg.set_num_threads(bad)  # type: ignore[arg-type]
    assert tg.get_num_threads() == 1


@given(n=st.integers(0, 40), threads=st.integers(1, 5))
def test_parallel_for_covers_the_range_once_in_order(n: int, threads: int) -> None:
    with split_into(threads):
        parts = parallel.parallel_for(n, lambda s: (s.start, s.stop, threading.get_ident()), size=n)
    starts, stops, idents = zip(*parts)
    assert starts[0] == 0 and stops[-1] == n and list(starts[1:]) == list(stops[:-1])
    assert len(parts) == max(min(threads, n), 1)
    assert all(b > a for a, b in zip(starts, stops)) or n == 0
    assert idents[0] == threading.get_ident()  # the first part here, the others on the workers
    assert threading.get_ident() not in idents[1:]


def test_small_loops_run_whole_here() -> None:
    tg.set_num_threads(4)
    try:
        parts = parallel.parallel_for(100, lambda s: (s, threading.get_ident()), size=parallel.MIN_PART - 1)
    finally:
        tg.set_num_threads(1)
    assert parts == [(slice(0, 100), threading.get_ident())]


def test_parts_run_in_the_callers_grad_mode() -> None:
    def modes() -> tuple[bool, bool, bool]:
        return tg.is_grad_enabled(), tg.is_anomaly_enabled(), threading.current_thread() is main

    main = threading.current_thread()
    with split_into(2):
        assert parallel.concurrently(modes, modes) == [(True, False, True), (True, False, False)]
        with tg.no_grad(), tg.detect_anomaly():
            assert parallel.concurrently(modes, modes) == [(False, True, True), (False, True, False)]
        assert parallel.concurrently(modes, modes) == [(True, False, True), (True, False, False)]


def test_a_part_started_inside_a_part_runs_in_its_thread() -> None:
    def inner() -> set[int]:
        return {ident for ident in parallel.parallel_for(8, lambda s: threading.get_ident(), size=8)}

    with split_into(2):
        outer = parallel.concurrently(inner, inner)
    assert all(len(idents) == 1 for idents in outer) and outer[0] != outer[1]


def test_an_error_is_raised_after_every_part_has_finished() -> None:
    done = []

    def slow() -> None:
        time.sleep(0.05)
        done.append(True)

    with split_into(2), pytest.raises(ZeroDivisionError):
        parallel.concurrently(lambda: 1 / 0, slow)
    assert done == [True]
    with split_into(2), pytest.raises(KeyError):  # from the other thread, too
        parallel.concurrently(slow, lambda: {}["missing"])
    assert done == [True, True]


def lenet_like_step() -> list[np.ndarray]:
    """Gradients of a small conv-pool-conv-pool net in float64."""
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((6, 2, 12, 12)), requires_grad=True)
    w1 = tg.Tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    w2 = tg.Tensor(rng.standard_normal((3, 4, 3, 3)), requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, padding=1)), 2)
    (F.max_pool2d(F.conv2d(h, w2), 2) ** 2).sum().backward()
    return [t.grad for t in (x, w1, w2)]


def test_a_network_gets_the_same_bits_split_and_whole() -> None:
    """Splitting changes no sum's order: the weight gradient's per-image terms are added up in one
    place, in the batch's order, however many threads made them."""
    whole = lenet_like_step()
    with split_into(3):
        split = lenet_like_step()
    for a, b in zip(split, whole):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Python 3.12+ warns of fork with threads
def test_a_forked_child_makes_its_own_threads() -> None:
    """The child of a fork has only the forking thread: with the parent's pool it would wait
    forever for a worker that is not there."""
    with split_into(2):
        lenet_like_step()  # the parent's workers exist
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if the split step finishes
            code = 1
            try:
                lenet_like_step()
                code = 0
            finally:
                os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung in a parallel op")


def test_changing_the_threads_while_an_op_holds_the_pool(monkeypatch) -> None:
    """Another thread calls set_num_threads just after an op took the pool, before it hands its
    parts over: the op still finishes on that pool."""
    take_pool = parallel._workers

    def then_change_the_count():
        pool = take_pool()
        tg.set_num_threads(3)
        return pool

    monkeypatch.setattr(parallel, "_workers", then_change_the_count)
    with split_into(2):
        assert parallel.parallel_for(4, lambda s: s.stop - s.start, size=4) == [2, 2]


def test_old_pools_let_their_threads_go() -> None:
    """Changing the count 60 times leaves at most the last pool's workers running."""
    before = threading.active_count()
    with split_into(2):
        for i in range(60):
            tg.set_num_threads(2 + i % 3)
            parallel.parallel_for(8, lambda s: s, size=8)
        deadline = time.monotonic() + 5
        while threading.active_count() > before + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threading.active_count() <= before + 3  # the last pool: 3 workers for 4 threads
