"""One thread that calls functions when their time is up: the statements' time limits.

A ``threading.Timer`` per statement started (and, with ``Thread.start``, waited for) a new
OS thread on every query — on a busy server a measurable share of a small query's cost,
and a wait for the GIL each time. Every time limit of the process is kept here instead, in
one heap served by one daemon thread, started on first use (and again in a forked child).

>>> import threading
>>> fired = threading.Event()
>>> key = call_later(0.01, fired.set)
>>> fired.wait(2)
True
>>> cancel(call_later(60, fired.clear))  # cancelled: never called
>>> fired.is_set()
True
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadlines:
    """Functions to call at given monotonic times, from one thread."""

    def __init__(self, name: str = "shudata-deadlines") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._live: dict[int, Callable[[], None]] = {}
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> int:
        """Call ``fn`` (in the deadlines thread) after ``delay_s`` seconds; returns a key for :meth:`cancel`."""
        at = time.monotonic() + delay_s
        with self._cond:
            key = next(self._keys)
            self._live[key] = fn
            earliest = not self._heap or at < self._heap[0][0]
            heapq.heappush(self._heap, (at, key))
            if len(self._heap) > 64 and len(self._heap) > 2 * len(self._live):  # drop cancelled entries
                self._heap = [e for e in self._heap if e[1] in self._live]
                heapq.heapify(self._heap)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            elif earliest:  # the thread sleeps until the old earliest time: wake it
                self._cond.notify()
        return key

    def cancel(self, key: int) -> None:
        """Do not call the function of ``key`` (nothing happens if it was already called)."""
        with self._cond:
            self._live.pop(key, None)

    def pending(self) -> int:
        """How many functions are still to be called."""
        with self._cond:
            return len(self._live)

    def _next_due(self) -> Callable[[], None]:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    _, key = heapq.heappop(self._heap)
                    return self._live.pop(key)
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def _serve(self) -> None:
        while True:
            fn = self._next_due()
            try:
                fn()
            except Exception:  # one failing callback must not stop the other time limits
                continue


_DEADLINES = Deadlines("shudata-query-deadlines")


def call_later(delay_s: float, fn: Callable[[], None]) -> int:
    """Call ``fn`` after ``delay_s`` seconds in the process's deadlines thread."""
    return _DEADLINES.call_later(delay_s, fn)


def cancel(key: int) -> None:
    """Cancel a :func:`call_later`."""
    _DEADLINES.cancel(key)
