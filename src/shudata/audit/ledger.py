"""Append to the audit chain.

Each entry's hash is SM3(prev_hash || canonical JSON of the entry). The head row is
locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers) so concurrent
appends cannot fork the chain.

The lock lasts until the transaction ends, and every data read is audited, so the chain
head is the one place all requests meet. :func:`record` therefore queues the event on the
session and appends it just before the transaction commits (``before_commit``): the entry
is still committed with the change it records, or not at all, but the head is held for the
commit only, not for the rest of the request (rendering, sending, waiting for a thread).
Inside a savepoint the event is appended at once, so rolling the savepoint back takes it
back too.
"""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Engine, Table, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, SessionTransaction

from shudata.audit.events import AuditEvent, Event
from shudata.audit.models import AuditEntry, AuditHead
from shudata.core.clock import utcnow
from shudata.core.types import Actor
from shudata.security.crypto.sm3 import sm3_hex

GENESIS = "0" * 64
_HEAD: Table = AuditHead.metadata.tables[AuditHead.__tablename__]
_ENTRY: Table = AuditEntry.metadata.tables[AuditEntry.__tablename__]


def canonical(entry: AuditEntry) -> bytes:
    """The bytes that are hashed: every field but the hashes, in a fixed form.

    ``actor_kind`` is hashed when present; entries from before it was recorded (NULL) hash
    as they always did, and blanking a recorded kind breaks the entry's hash."""
    payload: dict[str, Any] = {
        "seq": entry.seq,
        "ts": entry.ts.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        **({"actor_kind": entry.actor_kind} if entry.actor_kind is not None else {}),
        "actor_user_id": entry.actor_user_id,
        "actor_department_id": entry.actor_department_id,
        "ip": entry.ip,
        "action": entry.action,
        "outcome": entry.outcome,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "details": entry.details,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return sm3_hex(prev_hash.encode() + canonical(entry))


def _head(session: Session) -> tuple[int, str]:
    """The chain head (sequence number, hash), locked for this transaction.

    ``INSERT … ON CONFLICT DO NOTHING`` creates the head once and, on SQLite, makes this
    transaction the single writer *before* the head is read (so two appends can never
    read the same head); on PostgreSQL ``FOR UPDATE`` then locks the row. Core statements
    on the tables, not the ORM: every audited request passes here, and the ORM's bulk
    insert and unit of work cost several times the statements themselves.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(_HEAD).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing())
    seq, hash_ = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()).one()
    return int(seq), str(hash_)


_PENDING = "shudata.audit.pending"


def record(session: Session, actor: Actor, event: Event | AuditEvent) -> None:
    """Record ``event`` in the caller's transaction (committed with the change it records):
    appended to the chain just before that transaction commits (see the module's docstring)."""
    if session.in_nested_transaction():
        append(session, actor, event)
        return
    if session.get_transaction() is None:
        session.connection()  # begin the transaction now, so its end (commit or rollback) is seen
    pending: list[tuple[Actor, Event | AuditEvent]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        if not session.info.get(_PENDING + ".hooked"):
            session.info[_PENDING + ".hooked"] = True
            _listen(session)
    pending.append((actor, event))


def _listen(session: Session) -> None:
    """Append the session's queued events before it commits; forget them when it rolls back."""
    sa_event.listen(session, "before_commit", _append_pending)
    sa_event.listen(session, "after_transaction_end", _forget_pending)


def _append_pending(session: Session) -> None:
    for actor, queued in session.info.pop(_PENDING, None) or ():
        append(session, actor, queued)


def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the session's transaction ended; committed events were appended
        session.info.pop(_PENDING, None)


def append(session: Session, actor: Actor, event: Event | AuditEvent) -> AuditEntry:
    """Append ``event`` to the chain now, locking the head until the transaction ends (the
    returned entry is not in the session: it was written with Core statements). A typed
    :class:`~shudata.audit.events.Event` is stored as its :meth:`~shudata.audit.events.Event.stored`
    shape (a bare :class:`AuditEvent` is accepted as it is, for the ledger's own tests)."""
    if isinstance(event, Event):
        event = event.stored()
    head_seq, head_hash = _head(session)
    ts = utcnow()
    entry = AuditEntry(
        seq=head_seq + 1,
        ts=ts,
        actor=actor.username,
        actor_kind=actor.kind.value,
        actor_user_id=actor.user_id,
        actor_department_id=actor.department_id,
        ip=actor.ip,
        action=event.action,
        outcome=event.outcome,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        details=json.dumps(dict(event.details), ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=head_hash,
        hash="",
    )
    entry.hash = chain_hash(head_hash, entry)
    values = {c.key: getattr(entry, c.key) for c in _ENTRY.columns if c.key != "id"}
    inserted = cast(CursorResult[Any], session.execute(_ENTRY.insert().values(**values)))
    key = inserted.inserted_primary_key
    entry.id = int(key[0]) if key is not None else 0
    session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=entry.seq, hash=entry.hash))
    return entry


def record_separately(engine: Engine, actor: Actor, event: Event | AuditEvent) -> None:
    """Append ``event`` in its own transaction: for denials and rejected input, whose
    surrounding transaction is rolled back."""
    with Session(engine, expire_on_commit=False) as session:
        record(session, actor, event)
        session.commit()
