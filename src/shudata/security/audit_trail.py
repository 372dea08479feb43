"""Reading and verifying the audit trail (auditors and the platform admin).

The use cases live here, above :mod:`shudata.audit` (L2, which records and verifies the chain
but does not authorise): reading the trail needs ``audit.read`` (:mod:`shudata.security.actions`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.audit.models import AuditEntry
from shudata.audit.verify import VerifyReport, verify_chain
from shudata.core.types import Actor, Page
from shudata.security.actions import AUDIT_READ
from shudata.security.authz import require


class AuditEntryRead(BaseModel):
    seq: int
    ts: dt.datetime
    actor: str
    actor_kind: str | None = None  # user | token | peer | developer | system | anonymous
    ip: str | None
    action: str
    outcome: str
    resource_type: str | None
    resource_id: str | None
    details: dict[str, Any]
    hash: str


def _read(e: AuditEntry) -> AuditEntryRead:
    return AuditEntryRead(seq=e.seq, ts=e.ts, actor=e.actor, actor_kind=e.actor_kind, ip=e.ip, action=e.action,
                          outcome=e.outcome,
                          resource_type=e.resource_type, resource_id=e.resource_id,
                          details=json.loads(e.details or "{}"), hash=e.hash)


def list_entries(*, session: Session, actor: Actor, action: str | None = None, outcome: str | None = None,
                 actor_name: str | None = None, offset: int = 0, limit: int = 50) -> Page[AuditEntryRead]:
    require(actor, AUDIT_READ)
    stmt = select(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if outcome:
        stmt = stmt.where(AuditEntry.outcome == outcome)
    if actor_name:
        stmt = stmt.where(AuditEntry.actor == actor_name)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit))
    return Page[AuditEntryRead](items=[_read(e) for e in rows], total=total, offset=offset, limit=limit)


def verify(*, session: Session, actor: Actor) -> VerifyReport:
    require(actor, AUDIT_READ)
    report = verify_chain(session)
    record(session, actor, events.AuditVerify(outcome="success",
                                              details={"checked": report.checked, "problems": len(report.problems)}))
    return report
