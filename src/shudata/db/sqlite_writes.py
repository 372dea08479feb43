"""SQLite writers of one process take turns in Python, not in SQLite's busy handler.

SQLite lets one transaction write at a time. A connection that finds the database locked
retries in its busy handler, which *sleeps* between attempts (1, 2, 5, 10 … up to 100 ms):
under load the lock sits free while the waiters sleep, and every audited request (every read
of data is audited, and the audit chain is written at commit) queues there. Profiles of
``bench/load.py`` showed a quarter of all request threads' time inside SQLite's first write
statement of a transaction.

:class:`TurnTakingConnection` (the ``factory`` of ``sqlite3.connect``) takes a process-wide
lock per database file before the statement that makes its transaction a writer (the first
``INSERT``/``UPDATE``/``DELETE``/``REPLACE``: the Python driver begins the transaction right
there) and gives it back when the transaction ends (commit, rollback or close). A waiting
writer is woken the moment the lock is free. Nothing changes in what is written or when it
is committed; readers never wait (WAL). Other processes (``serve --workers N``, ingest
workers) still meet in SQLite's busy handler, as before. A writer that waits longer than
:data:`TURN_TIMEOUT_S` goes on without its turn and lets SQLite decide, as it did before (so
a request that writes on two connections of the same database cannot wait on itself for
longer than that).
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

TURN_TIMEOUT_S = 10.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def turn_for(database: str) -> threading.Lock:
    """The writers' lock of ``database`` in this process (one per file)."""
    with _turns_guard:
        lock = _turns.get(database)
        if lock is None:
            lock = _turns[database] = threading.Lock()
        return lock


def starts_write(sql: str) -> bool:
    """Whether ``sql`` is a statement the driver begins a write transaction for.

    >>> starts_write("  insert into t values (1)"), starts_write("SELECT 1"), starts_write("UPDATE t SET a=1")
    (True, False, True)
    """
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take turns with the process's other
    connections to the same file (see the module's docstring)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._turn = turn_for(str(database))
        self._holding = False

    def cursor(self, factory: Any = None) -> Any:
        """A cursor that takes the turn before writing (a ``factory`` of the caller's own
        writes without it)."""
        return super().cursor(factory or _TurnTakingCursor)

    def _before(self, sql: str) -> None:
        if not self._holding and starts_write(sql):
            self._holding = self._turn.acquire(timeout=TURN_TIMEOUT_S)

    def _after(self) -> None:
        if self._holding and not self.in_transaction:  # autocommit: the statement was its own transaction
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            if not self.in_transaction:
                self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


class _TurnTakingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        con: TurnTakingConnection = self.connection  # type: ignore[assignment]
        con._before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            con._after()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        con: TurnTakingConnection = self.connection  # type: ignore[assignment]
        con._before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            con._after()
