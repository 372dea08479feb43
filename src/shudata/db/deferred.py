"""Writes a request makes "on the way out": queued on the session and run just before its
transaction commits.

On SQLite the first write of a transaction makes it *the* writer until it commits; a counter
bumped at the start of a request (a dataset's use count) would hold every other writer of
the process back for the rest of that request (reading the page, encoding it, waiting for a
thread). Queued with :func:`before_commit`, the same statements run inside the same
transaction, committed with it or not at all, but the write lock is taken for the commit
only. Inside a savepoint they run at once, so rolling the savepoint back takes them back too.
Rolled-back transactions forget what they queued.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_PENDING = "shudata.db.deferred"


def before_commit(session: Session, write: Callable[[Session], None]) -> None:
    """Run ``write(session)`` just before ``session``'s transaction commits (at once inside a
    savepoint)."""
    if session.in_nested_transaction():
        write(session)
        return
    if session.get_transaction() is None:
        session.connection()  # begin the transaction now, so its end (commit or rollback) is seen
    pending: list[Callable[[Session], None]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        if not session.info.get(_PENDING + ".hooked"):
            session.info[_PENDING + ".hooked"] = True
            event.listen(session, "before_commit", _run)
            event.listen(session, "after_transaction_end", _forget)
    pending.append(write)


def _run(session: Session) -> None:
    for write in session.info.pop(_PENDING, None) or ():
        write(session)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the session's transaction ended; committed writes ran
        session.info.pop(_PENDING, None)
