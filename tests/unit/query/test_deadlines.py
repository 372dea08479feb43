"""The one deadlines thread that keeps every statement's time limit."""

from __future__ import annotations

import threading

from shudata.query.engines.deadlines import Deadlines


def test_functions_are_called_in_deadline_order_from_one_thread() -> None:
    d = Deadlines("test-deadlines")
    calls: list[tuple[str, str]] = []
    done = threading.Event()
    d.call_later(0.15, lambda: (calls.append(("late", threading.current_thread().name)), done.set()))
    d.call_later(0.05, lambda: calls.append(("early", threading.current_thread().name)))  # earlier: wakes the thread
    assert done.wait(5)
    assert [c[0] for c in calls] == ["early", "late"]
    assert {c[1] for c in calls} == {"test-deadlines"}


def test_a_cancelled_function_is_never_called() -> None:
    d = Deadlines("test-deadlines")
    called = threading.Event()
    marker = threading.Event()
    d.cancel(d.call_later(0.02, called.set))
    d.call_later(0.1, marker.set)
    assert marker.wait(5)
    assert not called.is_set()
    assert d.pending() == 0


def test_a_failing_function_does_not_stop_the_others() -> None:
    d = Deadlines("test-deadlines")
    ok = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    d.call_later(0.01, boom)
    d.call_later(0.03, ok.set)
    assert ok.wait(5)


def test_many_cancelled_limits_do_not_pile_up() -> None:
    d = Deadlines("test-deadlines")
    for _ in range(10_000):  # a busy server: every statement finishes long before its limit
        d.cancel(d.call_later(30, lambda: None))
    assert d.pending() == 0
    assert len(d._heap) <= 130


def test_no_thread_per_statement() -> None:
    d = Deadlines("test-deadlines")
    before = threading.active_count()
    keys = [d.call_later(30, lambda: None) for _ in range(200)]
    assert threading.active_count() <= before + 1
    for k in keys:
        d.cancel(k)
