"""The queries and use cases behind the portal's HTML pages (``/portal``, ``/portal/stats``,
downloads) and the steward's ``/open-data`` page; the routes in :mod:`shudata.web.ui` only
render what these return.

Public reads see visible datasets only (:func:`shudata.portal.service.visible`); a download
checks data access itself (:func:`shudata.portal.developers.require_data_access`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, desc, func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.errors import NotFound
from shudata.lake.models import LakeVersion
from shudata.portal import service as P
from shudata.portal.developers import KeyHolder, count_key_use, require_data_access
from shudata.portal.models import PortalDataset, PortalPublication, PortalUsage
from shudata.security.models import Department

Row = tuple[PortalDataset, CatalogResource]


def visible_select(*cols: Any) -> Select[Any]:
    """``SELECT cols`` over the visible datasets (PortalDataset joined with CatalogResource)."""
    return (select(*cols).select_from(PortalDataset)
            .join(CatalogResource, CatalogResource.id == PortalDataset.resource_id).where(P.visible_condition()))


def _rows(session: Session, stmt: Select[PortalDataset, CatalogResource]) -> list[Row]:
    return [(d, r) for d, r in session.execute(stmt).all()]


# -- home ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HomeSummary:
    """What the portal's home page shows: totals, the newest and most used datasets, themes."""

    counts: dict[str, int]
    newest: list[Row]
    popular: list[Row]
    themes: list[tuple[str, int]]


def home_summary(session: Session, *, top: int = 6) -> HomeSummary:
    counts = session.execute(visible_select(
        func.count(PortalDataset.id), func.count(func.distinct(CatalogResource.provider_department_id)),
        func.coalesce(func.sum(PortalDataset.downloads), 0),
        func.coalesce(func.sum(PortalDataset.api_calls), 0))).one()
    newest = _rows(session, P.visible().order_by(PortalDataset.published_at.desc(), PortalDataset.id.desc())
                   .limit(top))
    used = (PortalDataset.views + PortalDataset.downloads + PortalDataset.api_calls)
    popular = _rows(session, P.visible().order_by(desc(used), PortalDataset.id).limit(top))
    themes = session.execute(visible_select(PortalDataset.theme, func.count(PortalDataset.id))
                             .group_by(PortalDataset.theme)
                             .order_by(func.count(PortalDataset.id).desc(), PortalDataset.theme)).all()
    return HomeSummary(
        counts={"datasets": counts[0], "departments": counts[1], "downloads": counts[2], "api_calls": counts[3]},
        newest=newest, popular=popular, themes=[(str(t), int(n)) for t, n in themes])


# -- downloads ----------------------------------------------------------------------------------

def publication_for(session: Session, ds: P.PublicDataset, version: int | None) -> P.PublicDataset:
    """``ds`` at ``version`` (the current one by default); ``NotFound`` unless that version is
    published (not withdrawn)."""
    if version is None or version == ds.publication.version:
        return ds
    pub = session.scalar(select(PortalPublication).where(
        PortalPublication.resource_id == ds.resource.id, PortalPublication.version == version,
        PortalPublication.status == "published").order_by(PortalPublication.id.desc()).limit(1))
    if pub is None or pub.file is None:
        raise NotFound(f"版本 v{version} 未发布或已撤回，不能下载",
                       f"Version {version} is not published (or withdrawn)", code="version_not_published")
    return P.PublicDataset(ds.dataset, ds.resource, pub)


def open_download(session: Session, *, name: str, version: int | None, holder: KeyHolder | None,
                  by_key: bool, count: bool = True) -> P.PublicDataset:
    """The publication a download of dataset ``name`` serves, once the caller may read it
    (有条件开放 needs an approved developer); counts the download (and the key's use when
    the call came with a key) unless ``count`` is false (a ``HEAD``, a revalidation, a range
    past the first byte: parts of one download, checked all the same)."""
    ds = publication_for(session, P.get_dataset(session, name), version)
    require_data_access(session, ds, holder)
    if count:
        P.count_use(session, ds, "download")
        if by_key:
            count_key_use(session, holder, ds)
    return ds


# -- public data requests -----------------------------------------------------------------------

def departments(session: Session) -> list[tuple[int, str]]:
    """Every department as ``(id, name)``, by name (the request form's choice of addressee)."""
    return [(int(i), str(n)) for i, n in session.execute(select(Department.id, Department.name)
                                                         .order_by(Department.name)).all()]


# -- usage statistics ---------------------------------------------------------------------------

def usage_stats(session: Session, *, days: int, today: dt.date | None = None) -> dict[str, Any]:
    """Views, downloads and API calls of the visible datasets: per dataset, per department
    and per day over the last ``days`` days (the ``/portal/stats`` page and its charts)."""
    rows = session.execute(P.visible().order_by(
        desc(PortalDataset.views + PortalDataset.downloads + PortalDataset.api_calls), PortalDataset.id)).all()
    per_dataset = [{"name": d.name, "title": r.name, "provider": r.provider.name, "views": d.views,
                    "downloads": d.downloads, "api_calls": d.api_calls} for d, r in rows]
    by_dept: dict[str, dict[str, Any]] = {}
    for d, r in rows:
        row = by_dept.setdefault(r.provider.name, {"name": r.provider.name, "datasets": 0, "views": 0,
                                                   "downloads": 0, "api_calls": 0})
        row["datasets"] += 1
        row["views"] += d.views
        row["downloads"] += d.downloads
        row["api_calls"] += d.api_calls
    per_department = sorted(by_dept.values(), key=lambda x: -(x["views"] + x["downloads"] + x["api_calls"]))
    since = (today or P.today()) - dt.timedelta(days=days - 1)
    daily = session.execute(
        select(PortalUsage.day, PortalUsage.kind, func.sum(PortalUsage.count))
        .where(PortalUsage.day >= since, PortalUsage.resource_id.in_(visible_select(PortalDataset.resource_id)))
        .group_by(PortalUsage.day, PortalUsage.kind)).all()
    day_list = [since + dt.timedelta(days=i) for i in range(days)]
    series: dict[str, dict[dt.date, int]] = {k: {} for k in P.KINDS}
    for day, kind, n in daily:
        if kind in series:
            series[kind][day] = int(n or 0)
    chart = {
        "days": [d.isoformat() for d in day_list],
        "daily": {k: [series[k].get(d, 0) for d in day_list] for k in P.KINDS},
        "datasets": {"labels": [x["title"] for x in per_dataset[:15]],
                     "views": [x["views"] for x in per_dataset[:15]],
                     "downloads": [x["downloads"] for x in per_dataset[:15]],
                     "api_calls": [x["api_calls"] for x in per_dataset[:15]]},
        "departments": {"labels": [x["name"] for x in per_department],
                        "views": [x["views"] for x in per_department],
                        "downloads": [x["downloads"] for x in per_department],
                        "api_calls": [x["api_calls"] for x in per_department]},
    }
    return {"per_dataset": per_dataset, "per_department": per_department, "chart": chart, "days": days}


# -- the steward's page -------------------------------------------------------------------------

def steward_entries(session: Session, department_id: int | None, *, limit: int = 500) -> list[dict[str, Any]]:
    """The department's openable entries (every department's when ``None``) with their newest
    lake version and portal state. The caller checks the steward's right to see them."""
    latest = (select(LakeVersion.resource_id, func.max(LakeVersion.version).label("v"))
              .group_by(LakeVersion.resource_id).subquery())
    stmt = (select(CatalogResource, latest.c.v, PortalDataset)
            .outerjoin(latest, latest.c.resource_id == CatalogResource.id)
            .outerjoin(PortalDataset, PortalDataset.resource_id == CatalogResource.id)
            .where(CatalogResource.is_deleted.is_(False), CatalogResource.open_type.in_(P.OPEN_CLASSES)))
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    out = []
    for res, v, ds in session.execute(stmt.order_by(CatalogResource.code).limit(limit)).all():
        published = ds is not None and ds.status == "published" and ds.version is not None
        out.append({"res": res, "latest": v, "published": published, "version": ds.version if ds else None,
                    "name": ds.name if ds else P.dataset_name(res)})
    return out
