"""Quality dashboards: one department's entries, and the operator's view across departments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog.access import can_read_data
from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, ResourceRef
from shudata.quality import actions as A
from shudata.quality.models import QualityQuarantineRow, QualityRun
from shudata.quality.states import QuarantineStatus
from shudata.security.authz import require
from shudata.security.models import Department


def _latest_runs(session: Session, resource_ids: list[int]) -> dict[int, QualityRun]:
    if not resource_ids:
        return {}
    newest = (select(func.max(QualityRun.id)).where(QualityRun.resource_id.in_(resource_ids),
                                                    QualityRun.overall_score.is_not(None))
              .group_by(QualityRun.resource_id))
    runs = session.scalars(select(QualityRun).where(QualityRun.id.in_(newest)))
    return {r.resource_id: r for r in runs}


def _open_quarantine(session: Session, resource_ids: list[int]) -> dict[int, int]:
    if not resource_ids:
        return {}
    stmt = (select(QualityQuarantineRow.resource_id, func.count()).where(
        QualityQuarantineRow.resource_id.in_(resource_ids), QualityQuarantineRow.status == QuarantineStatus.OPEN)
        .group_by(QualityQuarantineRow.resource_id))
    return {int(rid): int(n) for rid, n in session.execute(stmt)}


def _entries(session: Session, department_id: int | None) -> list[CatalogResource]:
    stmt = select(CatalogResource).where(CatalogResource.is_deleted.is_(False))
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    return list(session.scalars(stmt.order_by(CatalogResource.code)))


def department_dashboard(*, session: Session, actor: Actor, department_id: int) -> dict[str, Any]:
    """Each entry of the department: latest scores, last check, open quarantine rows."""
    require(actor, A.DASHBOARD_DEPT, ResourceRef("security.department", department_id, department_id=department_id))
    entries = _entries(session, department_id)
    ids = [e.id for e in entries]
    runs, quarantine = _latest_runs(session, ids), _open_quarantine(session, ids)
    items: list[dict[str, Any]] = []
    for e in entries:
        run = runs.get(e.id)
        items.append({"code": e.code, "name": e.name, "version": run.version if run else None,
                      "scores": run.scores if run else {}, "checked_at": run.created_at if run else None,
                      "run": run.id if run else None, "quarantined_open": quarantine.get(e.id, 0),
                      # its entry page, runs and quarantine are for readers of the raw data only
                      "readable": can_read_data(actor, e)})
    scored: list[float] = [float(i["scores"]["overall"]) for i in items if "overall" in i["scores"]]
    dept = session.get(Department, department_id)
    return {"department_id": department_id, "department": dept.name if dept else None, "entries": items,
            "average": round(sum(scored) / len(scored), 2) if scored else None,
            "checked": len(scored), "total": len(items)}


def platform_dashboard(*, session: Session, actor: Actor) -> dict[str, Any]:
    """Per department: entries, how many are checked, average score, open quarantine rows."""
    require(actor, A.DASHBOARD_PLATFORM)
    entries = _entries(session, None)
    ids = [e.id for e in entries]
    runs, quarantine = _latest_runs(session, ids), _open_quarantine(session, ids)
    names = {d.id: d.name for d in session.scalars(select(Department))}
    per: dict[int, dict[str, Any]] = {}
    for e in entries:
        d = per.setdefault(e.provider_department_id, {"department_id": e.provider_department_id,
                                                      "department": names.get(e.provider_department_id),
                                                      "total": 0, "checked": 0, "scores": [], "quarantined_open": 0})
        d["total"] += 1
        d["quarantined_open"] += quarantine.get(e.id, 0)
        if e.id in runs and runs[e.id].overall_score is not None:
            d["checked"] += 1
            d["scores"].append(runs[e.id].overall_score)
    rows = []
    for d in per.values():
        scores = d.pop("scores")
        d["average"] = round(sum(scores) / len(scores), 2) if scores else None
        rows.append(d)
    all_scores = [r.overall_score for r in runs.values() if r.overall_score is not None]
    return {"departments": sorted(rows, key=lambda r: (r["average"] is None, -(r["average"] or 0))),
            "average": round(sum(all_scores) / len(all_scores), 2) if all_scores else None,
            "checked": len(all_scores), "total": len(entries)}
