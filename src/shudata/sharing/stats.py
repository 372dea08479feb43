"""Sharing statistics a platform operator reports upward: per entry and per department,
requests, approval times (median, overdue count), active grants, rows and calls delivered."""

from __future__ import annotations

import io
import statistics
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import local_date, utcnow
from shudata.core.textsafe import safe_cell
from shudata.core.types import Actor
from shudata.security.authz import require
from shudata.security.models import Department
from shudata.sharing import actions as A
from shudata.sharing.models import SharingDelivery, SharingGrant, SharingRequest
from shudata.sharing.service import calendar
from shudata.sharing.workflow import RequestStatus

By = Literal["resource", "department"]


@dataclass
class StatsRow:
    key: str
    label: str
    requests: int = 0
    approved: int = 0
    refused: int = 0
    pending: int = 0
    overdue: int = 0
    median_days: float | None = None
    grants_active: int = 0
    calls: int = 0
    rows: int = 0
    _days: list[float] = field(default_factory=list, repr=False)


def sharing_stats(*, session: Session, actor: Actor, by: By = "department") -> list[StatsRow]:
    """Statistics grouped by provider resource or provider department (approval time in working days)."""
    require(actor, A.REQUEST_VIEW)
    cal = calendar(session)
    today = utcnow().date()
    resources = {r.id: r for r in session.scalars(select(CatalogResource))}
    depts = {d.id: d.name for d in session.scalars(select(Department))}
    out: dict[str, StatsRow] = {}

    def row_for(resource_id: int) -> StatsRow:
        res = resources[resource_id]
        key, label = ((res.code, res.name) if by == "resource"
                      else (str(res.provider_department_id), depts.get(res.provider_department_id, "?")))
        return out.setdefault(key, StatsRow(key=key, label=label))

    for req in session.scalars(select(SharingRequest)):
        r = row_for(req.resource_id)
        r.requests += 1
        if req.status in (RequestStatus.APPROVED, RequestStatus.PARTIALLY_APPROVED):
            r.approved += 1
        elif req.status == RequestStatus.REFUSED:
            r.refused += 1
        elif req.status == RequestStatus.PENDING:
            r.pending += 1
            if req.due_date and today > req.due_date:
                r.overdue += 1
        if req.decided_at is not None and req.sharing_type == 2:
            r._days.append(cal.working_days_between(local_date(req.submitted_at), local_date(req.decided_at)))
    now = utcnow()
    for g in session.scalars(select(SharingGrant).where(SharingGrant.revoked_at.is_(None),
                                                        SharingGrant.expires_at > now)):
        row_for(g.resource_id).grants_active += 1
    delivered_rows = func.coalesce(func.sum(SharingDelivery.rows), 0)
    totals = (SharingGrant.resource_id, func.count(SharingDelivery.id), delivered_rows)
    used = (select(*totals).join(SharingGrant, SharingGrant.id == SharingDelivery.grant_id)
            .group_by(SharingGrant.resource_id))
    for resource_id, calls, rows in session.execute(used):
        r = row_for(resource_id)
        r.calls += int(calls)
        r.rows += int(rows)
    for r in out.values():
        r.median_days = statistics.median(r._days) if r._days else None
    return sorted(out.values(), key=lambda r: (-r.requests, r.key))


HEADERS = ("代码", "名称", "申请数", "批准", "拒绝", "待审", "超期", "审批用时中位数(工作日)", "有效授权", "调用次数",
           "交付行数")


def stats_xlsx(rows: list[StatsRow], title: str) -> bytes:

    from openpyxl import Workbook  # noqa: PLC0415 - openpyxl loads on the first XLSX export


    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(HEADERS))
    for r in rows:
        ws.append([safe_cell(r.key), safe_cell(r.label), r.requests, r.approved, r.refused, r.pending, r.overdue,
                   r.median_days, r.grants_active, r.calls, r.rows])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
