"""Audit trail: list and verify."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from shudata.core.types import Page
from shudata.security import audit_trail as service
from shudata.security.audit_trail import AuditEntryRead
from shudata.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryRead], summary="审计日志 / audit trail")
def list_audit(session: SessionDep, actor: ActorDep, action: str | None = None, outcome: str | None = None,
               user: str | None = None, offset: int = Query(0, ge=0),
               limit: int = Query(50, ge=1, le=1000)) -> Page[AuditEntryRead]:
    """审计日志（审计员、平台管理员），可按操作、结果、用户筛选并分页；每条记录带哈希链上的摘要。"""
    return service.list_entries(session=session, actor=actor, action=action, outcome=outcome,
                                actor_name=user, offset=offset, limit=limit)


@router.post("/audit/verify", summary="校验审计链 / verify the chain")
def verify(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """逐条重算审计日志的 SM3 哈希链，报告被篡改、缺失或顺序错乱的记录（审计员、平台管理员）。"""
    report = service.verify(session=session, actor=actor)
    return {"ok": report.ok, "checked": report.checked,
            "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in report.problems]}
