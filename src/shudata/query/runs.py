"""Running workbench queries, by owner and run id, so that their owner can cancel them.

The workbench gives each run an id; while the run's statements execute, its
:class:`~shudata.query.engines.base.Cancel` handle is registered here under ``(owner, run id)``.
A cancel request from the same owner finds the handle and stops the statement on the server
(DuckDB ``interrupt()``), not only the browser's wait. Another user's run id finds nothing.

One registry per process (the server runs one process; the engine's own list of running
statements, used at shutdown, is per process as well).

>>> reg = RunRegistry()
>>> with reg.running("alice", "run-0001") as handle:
...     reg.cancel("bob", "run-0001"), reg.cancel("alice", "run-0001"), handle.cancelled
(False, True, True)
>>> reg.cancel("alice", "run-0001")
False
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shudata.query.engines.base import Cancel


class RunRegistry:
    """The cancel handles of the runs in progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[tuple[str, str], Cancel] = {}

    @contextmanager
    def running(self, owner: str, run_id: str | None) -> Iterator[Cancel]:
        """A handle registered under ``(owner, run_id)`` for the duration of the block (not
        registered when ``run_id`` is ``None``)."""
        handle = Cancel()
        key = (owner, run_id) if run_id else None
        if key is not None:
            with self._lock:
                self._runs[key] = handle
        try:
            yield handle
        finally:
            if key is not None:
                with self._lock:
                    if self._runs.get(key) is handle:
                        del self._runs[key]

    def cancel(self, owner: str, run_id: str) -> bool:
        """Cancel the owner's run ``run_id``; ``False`` when it is not (or no longer) running."""
        with self._lock:
            handle = self._runs.get((owner, run_id))
        if handle is None:
            return False
        handle.cancel()
        return True

    def is_running(self, owner: str, run_id: str) -> bool:
        with self._lock:
            return (owner, run_id) in self._runs


RUNS = RunRegistry()
"""The process's registry (see the module docstring)."""
