"""需求清单: a department records the data it needs; the platform suggests catalog entries
that may answer it (ranked by the search engine over the demand's title, description and
wanted fields); a steward links the demand to the entry that answers it.

Status: ``open`` (待匹配) → ``matched`` (已匹配, linked to an entry) or ``closed`` (已关闭).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog import actions as A
from shudata.catalog import visibility
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogDemand, CatalogResource
from shudata.catalog.schemas import (
    DEMAND_STATUS_LABELS,
    DemandCreate,
    DemandLink,
    DemandRead,
    DemandStatus,
    SearchHit,
)
from shudata.catalog.search import match
from shudata.catalog.service import to_reads
from shudata.catalog.states import DEMANDS, DemandEvent
from shudata.catalog.xlsx import workbook_bytes
from shudata.core.clock import DISPLAY_ZONE, local_text, utcnow
from shudata.core.errors import InvalidInput, NotFound
from shudata.core.types import Actor, ResourceRef
from shudata.security.authz import allowed, require
from shudata.security.models import Department

SUGGEST_COVERAGE = 0.15


def _read(session: Session, d: CatalogDemand) -> DemandRead:
    res = session.get(CatalogResource, d.resource_id) if d.resource_id else None
    return DemandRead(
        id=d.id, department_id=d.department_id, department_name=d.department.name, title=d.title,
        description=d.description, wanted_fields=list(d.wanted_fields or []), purpose=d.purpose,
        status=DemandStatus(d.status), resource_code=res.code if res else None,
        resource_name=res.name if res else None, linked_by=d.linked_by, linked_at=d.linked_at,
        created_by=d.created_by, created_at=d.created_at)


def _demand(session: Session, demand_id: int) -> CatalogDemand:
    d = session.get(CatalogDemand, demand_id)
    if d is None:
        raise NotFound(f"需求 {demand_id} 不存在", f"Demand {demand_id} not found", code="demand_not_found")
    return d


def demand_target(department_id: int | None) -> ResourceRef:
    """What ``catalog.demand.create`` is checked on: the requesting department (``None``: any
    department, which only the platform admin may name)."""
    return ResourceRef("catalog.demand", None, department_id=department_id)


def create_demand(*, session: Session, actor: Actor, data: DemandCreate) -> DemandRead:
    """Record a demand of the actor's department (the platform admin may name any)."""
    dept_id = data.department_id or actor.department_id
    require(actor, A.DEMAND_CREATE, demand_target(dept_id))
    if dept_id is None:
        raise InvalidInput("请指定需求部门", "Give the requesting department", code="department_required")
    if session.get(Department, dept_id) is None:
        raise NotFound(f"部门 {dept_id} 不存在", f"Department {dept_id} not found", code="department_not_found")
    d = CatalogDemand(department_id=dept_id, title=data.title, description=data.description,
                      wanted_fields=[f.strip() for f in data.wanted_fields if f.strip()], purpose=data.purpose,
                      status=DemandStatus.OPEN.value, created_by=actor.username)
    session.add(d)
    session.flush()
    record(session, actor, events.CatalogDemandCreate(resource_id=str(d.id), details={"title": d.title}))
    return _read(session, d)


def list_demands(*, session: Session, actor: Actor, department_id: int | None = None,
                 status: DemandStatus | None = None) -> list[DemandRead]:
    """Demands, newest first, optionally of one department and status."""
    require(actor, A.DEMAND_VIEW)
    stmt = select(CatalogDemand).order_by(CatalogDemand.id.desc())
    if department_id is not None:
        stmt = stmt.where(CatalogDemand.department_id == department_id)
    if status is not None:
        stmt = stmt.where(CatalogDemand.status == status.value)
    return [_read(session, d) for d in session.scalars(stmt)]


def get_demand(*, session: Session, actor: Actor, demand_id: int) -> DemandRead:
    require(actor, A.DEMAND_VIEW)
    return _read(session, _demand(session, demand_id))


def demand_text(d: CatalogDemand) -> str:
    return " ".join([d.title, d.description or "", " ".join(d.wanted_fields or []), d.purpose or ""])


def suggest(*, session: Session, actor: Actor, demand_id: int, limit: int = 5) -> list[SearchHit]:
    """Catalog entries that may answer a demand, most similar first."""
    require(actor, A.DEMAND_VIEW)
    d = _demand(session, demand_id)
    ranked = visibility.drop_hidden(session, actor, match(session, demand_text(d),
                                                           min_coverage=SUGGEST_COVERAGE).ranked)[:limit]
    rows = {r.id: r for r in session.scalars(select(CatalogResource).where(
        CatalogResource.id.in_([rid for rid, _ in ranked])))}
    reads = {r.id: r for r in to_reads(session, list(rows.values()))}
    return [SearchHit(resource=reads[rid], score=round(score, 6)) for rid, score in ranked if rid in reads]


def link_demand(*, session: Session, actor: Actor, demand_id: int, data: DemandLink) -> DemandRead:
    """Link a demand to the entry that answers it (→ matched), close it, or reopen it.

    Allowed to a steward of the requesting department or of the provider of the entry
    being linked (or currently linked)."""
    d = _demand(session, demand_id)
    demand_ref = ResourceRef("catalog.demand", d.id, department_id=d.department_id)
    res = find_resource(session, data.resource_code) if data.resource_code else None
    current = session.get(CatalogResource, d.resource_id) if d.resource_id else None
    refs = [demand_ref] + [ResourceRef("catalog.resource", r.code, r.provider_department_id)
                           for r in (res, current) if r is not None]
    if not any(allowed(actor, A.DEMAND_LINK, r) for r in refs):
        require(actor, A.DEMAND_LINK, demand_ref)
    if res is not None:
        d.resource_id, d.status = res.id, DEMANDS.next(d.status, DemandEvent.LINK)
    elif data.close:
        d.status = DEMANDS.next(d.status, DemandEvent.CLOSE)
    else:
        d.resource_id, d.status = None, DEMANDS.next(d.status, DemandEvent.REOPEN)
    d.linked_by, d.linked_at = actor.username, utcnow()
    d.updated_at = utcnow()
    session.flush()
    record(session, actor, events.CatalogDemandLink(resource_id=str(d.id),
                                                    details={"status": d.status, "resource": res.code if res else None,
                                                             "comment": data.comment}))
    return _read(session, d)


DEMAND_HEADERS = ["需求编号", "需求部门", "需求名称", "需求描述", "所需信息项", "用途", "状态", "匹配资源代码",
                  "匹配资源名称", "登记人", "登记时间"]


def export_demands(*, session: Session, actor: Actor, department_id: int | None = None,
                   tz: str = DISPLAY_ZONE) -> bytes:
    """The demand list as XLSX (formula-safe cells; times in ``tz``, the configured zone)."""
    rows = [[d.id, d.department_name, d.title, d.description, "、".join(d.wanted_fields), d.purpose,
             DEMAND_STATUS_LABELS[d.status.value][0], d.resource_code or "", d.resource_name or "", d.created_by,
             local_text(d.created_at, tz=tz)]
            for d in list_demands(session=session, actor=actor, department_id=department_id)]
    return workbook_bytes([("需求清单", DEMAND_HEADERS, rows)])
