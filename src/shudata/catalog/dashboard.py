"""Catalog dashboards: per department, entries, overdue ones, ones without data, demands;
and the platform admin's cross-department view. The UI renders these as they are."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog import actions as A
from shudata.catalog import visibility
from shudata.catalog.freshness import Latest, freshness, latest_versions
from shudata.catalog.models import CatalogDemand, CatalogResource
from shudata.catalog.schemas import DepartmentDashboard, PlatformDashboard
from shudata.catalog.service import to_reads
from shudata.core.clock import utcnow
from shudata.core.types import Actor, ResourceRef
from shudata.security.authz import require
from shudata.security.models import Department
from shudata.security.service import get_department_row

LISTED = 50


@dataclass
class _Tally:
    states: Counter[str] = field(default_factory=Counter)
    overdue_ids: list[int] = field(default_factory=list)
    no_data_ids: list[int] = field(default_factory=list)


def _tallies(session: Session, department_id: int | None) -> dict[int, _Tally]:
    stmt = select(CatalogResource.id, CatalogResource.provider_department_id, CatalogResource.update_cycle,
                  CatalogResource.created_at).where(CatalogResource.is_deleted.is_(False))
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    rows = session.execute(stmt.order_by(CatalogResource.id)).all()
    latest: dict[int, Latest] = latest_versions(session, [r[0] for r in rows] if department_id else None)
    now: dt.datetime = utcnow()
    out: dict[int, _Tally] = {}
    for rid, dept, cycle, created in rows:
        lv = latest.get(rid)
        status, _ = freshness(cycle, lv.created_at if lv else None, created, now)
        tally = out.setdefault(dept, _Tally())
        tally.states[status] += 1
        if status == "overdue":
            tally.overdue_ids.append(rid)
        elif status == "no_data":
            tally.no_data_ids.append(rid)
    return out


def _demand_counts(session: Session, department_id: int | None) -> dict[int, Counter[str]]:
    stmt = select(CatalogDemand.department_id, CatalogDemand.status, func.count()).group_by(
        CatalogDemand.department_id, CatalogDemand.status)
    if department_id is not None:
        stmt = stmt.where(CatalogDemand.department_id == department_id)
    out: dict[int, Counter[str]] = {}
    for dept, status, n in session.execute(stmt):
        out.setdefault(dept, Counter())[status] += n
    return out


def _board(session: Session, dept: Department, tally: _Tally, demands: Counter[str],
           with_lists: bool) -> DepartmentDashboard:
    def entries(ids: list[int]) -> list[CatalogResource]:
        if not with_lists or not ids:
            return []
        return list(session.scalars(select(CatalogResource).where(CatalogResource.id.in_(ids[:LISTED]))
                                    .order_by(CatalogResource.code)))

    return DepartmentDashboard(
        department_id=dept.id, department_name=dept.name, entries=sum(tally.states.values()),
        overdue=tally.states["overdue"], no_data=tally.states["no_data"], fresh=tally.states["fresh"],
        demands_open=demands["open"], demands_matched=demands["matched"], demands_closed=demands["closed"],
        overdue_entries=to_reads(session, entries(tally.overdue_ids)),
        no_data_entries=to_reads(session, entries(tally.no_data_ids)))


def department_dashboard(*, session: Session, actor: Actor, department_id: int) -> DepartmentDashboard:
    """One department's catalog health, with its overdue and data-less entries listed."""
    require(actor, A.DASHBOARD_VIEW, ResourceRef("catalog.dashboard", department_id, department_id=department_id))
    dept = get_department_row(session, department_id)
    tally = _tallies(session, department_id).get(department_id, _Tally())
    demands = _demand_counts(session, department_id).get(department_id, Counter())
    # custody entries are listed to the custody department's staff and the exchange operator only
    listed = department_id not in visibility.hidden_departments(session, actor)
    return _board(session, dept, tally, demands, with_lists=listed)


def platform_dashboard(*, session: Session, actor: Actor) -> PlatformDashboard:
    """Every department's figures (without entry lists) and the platform totals."""
    require(actor, A.PLATFORM_DASHBOARD)
    tallies = _tallies(session, None)
    demands = _demand_counts(session, None)
    boards = [_board(session, d, tallies.get(d.id, _Tally()), demands.get(d.id, Counter()), with_lists=False)
              for d in session.scalars(select(Department).order_by(Department.id))]
    return PlatformDashboard(
        departments=boards, entries=sum(b.entries for b in boards), overdue=sum(b.overdue for b in boards),
        no_data=sum(b.no_data for b in boards), demands_open=sum(b.demands_open for b in boards),
        demands_matched=sum(b.demands_matched for b in boards))
