"""An event is appended to the chain when its transaction commits — with it, or not at all —
so the chain head is locked for the commit only, not for the rest of a request."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record
from shudata.audit.models import AuditEntry
from shudata.audit.verify import verify_chain
from shudata.core.types import Actor

SYS = Actor.system()


def _ids(rt) -> list[str | None]:
    with rt.transaction() as s:
        return list(s.scalars(select(AuditEntry.resource_id).order_by(AuditEntry.seq)))


def test_an_event_is_committed_with_its_transaction(rt):
    with rt.transaction() as s:
        record(s, SYS, AuditEvent("test.event", resource_id="a"))
        record(s, SYS, AuditEvent("test.event", resource_id="b"))
    assert _ids(rt) == ["a", "b"]
    with rt.transaction() as s:
        assert verify_chain(s).ok


def test_an_event_of_a_rolled_back_transaction_is_never_appended(rt):
    with pytest.raises(RuntimeError), rt.transaction() as s:
        record(s, SYS, AuditEvent("test.event", resource_id="lost"))
        raise RuntimeError("the change failed")
    session = rt.sessions()
    try:  # the same session object, reused after a rollback, does not carry the event over
        record(session, SYS, AuditEvent("test.event", resource_id="first"))
        session.rollback()
        record(session, SYS, AuditEvent("test.event", resource_id="second"))
        session.commit()
    finally:
        session.close()
    assert _ids(rt) == ["second"]


def test_the_head_is_free_until_the_recording_transaction_commits(rt):
    """A request that recorded its read and is still rendering does not hold up everyone else's."""
    slow = rt.sessions()
    try:
        record(slow, SYS, AuditEvent("test.event", resource_id="slow"))
        with rt.transaction() as fast:  # would wait for the head (and time out on SQLite) if it were held
            record(fast, SYS, AuditEvent("test.event", resource_id="fast"))
        slow.commit()
    finally:
        slow.close()
    assert _ids(rt) == ["fast", "slow"]
    with rt.transaction() as s:
        assert verify_chain(s).ok


def test_an_event_inside_a_rolled_back_savepoint_goes_with_it(rt):
    with rt.transaction() as s:
        record(s, SYS, AuditEvent("test.event", resource_id="kept"))
        nested = s.begin_nested()
        record(s, SYS, AuditEvent("test.event", resource_id="undone"))
        nested.rollback()
        record(s, SYS, AuditEvent("test.event", resource_id="after"))
    assert _ids(rt) == ["kept", "after"]
    with rt.transaction() as s:
        assert verify_chain(s).ok
