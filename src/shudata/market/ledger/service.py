"""Append to, seal, read and verify the market ledger (存证账本).

Appending follows the audit trail (:mod:`shudata.audit.ledger`): the head row is locked
(``INSERT … ON CONFLICT DO NOTHING`` then ``SELECT … FOR UPDATE``), the entry is hashed onto it
and written in the caller's transaction, so an event is committed with the change it records or
not at all. Every ``market_ledger_checkpoint_every`` entries the append also signs the new head
with the exchange's SM2 key (:func:`seal`); :func:`seal` can be run at any time (``shudata market
ledger seal``) to sign the tail.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.types import Actor
from shudata.market.ledger import actions, chain
from shudata.market.ledger.keys import exchange_key
from shudata.market.ledger.models import MarketLedgerCheckpoint, MarketLedgerEntry, MarketLedgerHead
from shudata.security.authz import require
from shudata.security.crypto import sm2

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class LedgerEvent:
    """A market event to put on record: ``kind`` names it (``market.order.settled``), the subject is
    what it is about (``order`` / ``O-20261207-0001``), ``payload`` the facts (JSON-able)."""

    kind: str
    subject_type: str
    subject_id: str
    actor: str
    payload: dict[str, Any] = field(default_factory=dict)


def _head(session: Session) -> MarketLedgerHead:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(MarketLedgerHead).values(id=1, seq=0, hash=chain.GENESIS).on_conflict_do_nothing())
    stmt = (select(MarketLedgerHead).where(MarketLedgerHead.id == 1).with_for_update()
            .execution_options(populate_existing=True))
    return session.execute(stmt).scalar_one()


def _iso(ts: Any) -> str:
    return str(ts.isoformat(timespec="microseconds"))


def append(session: Session, event: LedgerEvent, *, settings: Settings | None = None) -> MarketLedgerEntry:
    """Append ``event`` now (head locked until the transaction ends). When the new entry's number
    is a multiple of ``market_ledger_checkpoint_every`` and ``settings`` are at hand (the session's
    runtime gives them), the head is signed at once; otherwise :func:`seal_due` signs it later."""
    head = _head(session)
    ts = utcnow()
    row = chain.Row(seq=head.seq + 1, ts=_iso(ts), kind=event.kind, actor=event.actor,
                    subject_type=event.subject_type, subject_id=str(event.subject_id),
                    payload=chain.payload_text(event.payload), prev_hash=head.hash, hash="")
    digest = chain.entry_hash(head.hash, row)
    entry = MarketLedgerEntry(seq=row.seq, ts=ts, kind=row.kind, actor=row.actor, subject_type=row.subject_type,
                              subject_id=row.subject_id, payload=row.payload, prev_hash=row.prev_hash, hash=digest)
    session.add(entry)
    head.seq, head.hash = row.seq, digest
    session.flush()
    settings = settings or session.info.get("settings")
    if isinstance(settings, Settings) and row.seq % settings.market_ledger_checkpoint_every == 0:
        _sign(session, settings, row.seq, digest)
    return entry


def seal_due(session: Session, settings: Settings) -> list[MarketLedgerCheckpoint]:
    """Sign every checkpoint that is due (each multiple of N up to the head) but missing: entries
    appended where no settings were at hand are sealed here, at the seq they were due."""
    every = settings.market_ledger_checkpoint_every
    head = _head(session)
    done = set(session.scalars(select(MarketLedgerCheckpoint.seq)))
    out: list[MarketLedgerCheckpoint] = []
    for seq in range(every, head.seq + 1, every):
        if seq in done:
            continue
        digest = session.scalar(select(MarketLedgerEntry.hash).where(MarketLedgerEntry.seq == seq))
        if digest is not None:
            out.append(_sign(session, settings, seq, digest))
    return out


def _sign(session: Session, settings: Settings, seq: int, head_hash: str) -> MarketLedgerCheckpoint:
    public, private = exchange_key(session, settings)
    cp = MarketLedgerCheckpoint(seq=seq, head_hash=head_hash, public_key=public,
                                signature=sm2.sign(private, public, chain.seal_message(seq, head_hash)), ts=utcnow())
    session.add(cp)
    session.flush()
    return cp


def seal(session: Session, settings: Settings) -> MarketLedgerCheckpoint | None:
    """Sign the current head unless it is already signed (or the ledger is empty)."""
    head = _head(session)
    if head.seq == 0:
        return None
    existing = session.scalar(select(MarketLedgerCheckpoint).where(MarketLedgerCheckpoint.seq == head.seq))
    return existing or _sign(session, settings, head.seq, head.hash)


def _ts_text(value: Any) -> str:
    """A stored time as hashed (``_iso``), read without the ORM type's round trip: SQLite hands back
    its naive UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``), PostgreSQL an aware datetime."""
    if isinstance(value, str):
        if len(value) == 26:
            return f"{value[:10]}T{value[11:]}+00:00"
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).isoformat(timespec="microseconds")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return str(value.astimezone(dt.UTC).isoformat(timespec="microseconds"))


def _rows(session: Session) -> Iterator[chain.Row]:
    """Every entry in storage order, read through Core (no ORM identity map: a ledger is long) and
    without the time type's conversion (the hot path of verification)."""
    e = MarketLedgerEntry
    stmt = (select(e.seq, type_coerce(e.ts, String), e.kind, e.actor, e.subject_type, e.subject_id, e.payload,
                   e.prev_hash, e.hash).order_by(e.id).execution_options(yield_per=10_000))
    row, ts_text = chain.Row, _ts_text
    for seq, ts, kind, actor, st, sid, payload, prev, digest in session.connection().execute(stmt):
        yield row(seq, ts_text(ts), kind, actor, st, sid, payload, prev, digest)


def _seals(session: Session) -> list[chain.Seal]:
    c = MarketLedgerCheckpoint
    stmt = select(c.seq, c.head_hash, c.public_key, c.signature).order_by(c.seq)
    return [chain.Seal(*r) for r in session.execute(stmt)]


def verify(session: Session, settings: Settings) -> chain.LedgerReport:
    """Re-compute every hash and check every checkpoint signature against the exchange's key."""
    public, _ = exchange_key(session, settings, create=False)
    head = session.get(MarketLedgerHead, 1)
    return chain.verify(_rows(session), _seals(session), public_key=public, verify_signature=sm2.verify,
                        head=(head.seq, head.hash) if head is not None else None)


@dataclass(frozen=True)
class Proof:
    """存证查询: what anyone may learn about one entry hash (never its payload)."""

    found: bool
    hash: str
    seq: int | None = None
    ts: str | None = None
    kind: str | None = None
    subject_type: str | None = None
    hash_valid: bool = False  # the entry re-hashes to ``hash`` and links to its predecessor
    sealed_by: int | None = None  # the first checkpoint at or after it whose signature is valid
    sealed_at: str | None = None
    signature_valid: bool = False
    chain_to_seal_valid: bool = False  # the hashes from the entry to that checkpoint link up
    public_key: str | None = None


def prove(session: Session, settings: Settings, digest: str) -> Proof:
    """Look ``digest`` up: does it exist, re-hash, and lie under a valid exchange signature?

    The entries from it up to the covering checkpoint are re-hashed and their links checked, so
    a valid signature over the checkpoint's head vouches for this entry."""
    digest = digest.strip().lower()
    entry = session.scalar(select(MarketLedgerEntry).where(MarketLedgerEntry.hash == digest))
    if entry is None:
        return Proof(found=False, hash=digest)
    row = chain.Row(entry.seq, _iso(entry.ts), entry.kind, entry.actor, entry.subject_type, entry.subject_id,
                    entry.payload, entry.prev_hash, entry.hash)
    prev = session.scalar(select(MarketLedgerEntry.hash).where(MarketLedgerEntry.seq == entry.seq - 1))
    hash_valid = chain.entry_hash(row.prev_hash, row) == digest and (prev or chain.GENESIS) == row.prev_hash
    base = Proof(found=True, hash=digest, seq=entry.seq, ts=row.ts, kind=entry.kind,
                 subject_type=entry.subject_type, hash_valid=hash_valid)
    cp = session.scalar(select(MarketLedgerCheckpoint).where(MarketLedgerCheckpoint.seq >= entry.seq)
                        .order_by(MarketLedgerCheckpoint.seq).limit(1))
    if cp is None:
        return base
    public, _ = exchange_key(session, settings, create=False)
    sig_ok = cp.public_key == public and sm2.verify(public, chain.seal_message(cp.seq, cp.head_hash), cp.signature)
    e = MarketLedgerEntry
    stmt = (select(e.seq, e.ts, e.kind, e.actor, e.subject_type, e.subject_id, e.payload, e.prev_hash, e.hash)
            .where(e.seq > entry.seq, e.seq <= cp.seq).order_by(e.seq))
    linked, last, expected = hash_valid, digest, entry.seq
    for seq, ts, kind, actor, st, sid, payload, prev_hash, h in session.execute(stmt):
        r = chain.Row(seq, _iso(ts), kind, actor, st, sid, payload, prev_hash, h)
        expected += 1
        if seq != expected or prev_hash != last or chain.entry_hash(prev_hash, r) != h:
            linked = False
            break
        last = h
    linked = linked and expected == cp.seq and last == cp.head_hash
    return Proof(**{**base.__dict__, "sealed_by": cp.seq, "sealed_at": _iso(cp.ts), "signature_valid": sig_ok,
                    "chain_to_seal_valid": linked, "public_key": public})


def entries(session: Session, *, offset: int = 0, limit: int = 100, kind: str | None = None,
            subject_id: str | None = None) -> tuple[int, list[MarketLedgerEntry]]:
    """A page of entries, newest first (the regulator's and operator's view), and the total."""
    stmt = select(MarketLedgerEntry)
    count = select(func.count()).select_from(MarketLedgerEntry)
    if kind:
        stmt, count = stmt.where(MarketLedgerEntry.kind == kind), count.where(MarketLedgerEntry.kind == kind)
    if subject_id:
        stmt = stmt.where(MarketLedgerEntry.subject_id == subject_id)
        count = count.where(MarketLedgerEntry.subject_id == subject_id)
    total = session.scalar(count) or 0
    rows = session.scalars(stmt.order_by(MarketLedgerEntry.seq.desc()).offset(offset).limit(limit)).all()
    return total, list(rows)


# -- use cases (authorised, audited) ------------------------------------------------------------

def verify_ledger(*, session: Session, settings: Settings, actor: Actor) -> chain.LedgerReport:
    """校验存证账本 (regulator, exchange, auditors; the CLI's ``shudata audit verify``)."""
    require(actor, actions.LEDGER_VERIFY)
    report = verify(session, settings)
    record(session, actor, events.MarketLedgerVerify(details={
        "checked": report.checked, "checkpoints": report.seals_checked, "problems": len(report.problems),
        "unsigned_tail": report.unsigned_tail}))
    return report


def seal_now(*, session: Session, settings: Settings, actor: Actor) -> list[MarketLedgerCheckpoint]:
    """Sign every due checkpoint and the current head (``shudata market ledger seal``)."""
    require(actor, actions.LEDGER_SEAL)
    made = seal_due(session, settings)
    signed = {c.seq for c in made}
    head = _head(session)
    if head.seq and head.seq not in signed and session.scalar(
            select(MarketLedgerCheckpoint.id).where(MarketLedgerCheckpoint.seq == head.seq)) is None:
        made.append(_sign(session, settings, head.seq, head.hash))
    if made:
        record(session, actor, events.MarketLedgerSeal(details={"seqs": [c.seq for c in made]}))
    return made


def read_entries(*, session: Session, actor: Actor, offset: int = 0, limit: int = 100, kind: str | None = None,
                 subject_id: str | None = None) -> tuple[int, list[MarketLedgerEntry]]:
    """The ledger, payloads included: the regulator (监管) reads it all."""
    require(actor, actions.LEDGER_READ)
    return entries(session, offset=offset, limit=limit, kind=kind, subject_id=subject_id)


def lookup(*, session: Session, settings: Settings, actor: Actor, digest: str) -> Proof:
    """存证查询 (public): is this entry hash on record, intact and under the exchange's signature?"""
    require(actor, actions.LEDGER_PROVE)
    if not _HEX64.fullmatch(digest.strip().lower()):
        raise InvalidInput("存证哈希应为 64 位十六进制（SM3 摘要）", "The hash must be 64 hex digits (SM3)",
                           code="ledger_hash_invalid", details={"field": "hash"})
    return prove(session, settings, digest)
