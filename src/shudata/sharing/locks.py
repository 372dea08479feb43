"""Per-key locks: one builder per key at a time, callers for other keys never wait.

>>> locks = KeyedLocks()
>>> with locks.hold("a"):
...     locks.busy("a"), locks.busy("b")
(True, False)
>>> locks.busy("a")
False
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        """Hold the lock of ``key`` (waiting while another thread holds it)."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def busy(self, key: Hashable) -> bool:
        with self._guard:
            return key in self._locks
