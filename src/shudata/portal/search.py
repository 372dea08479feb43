"""Searching the portal: Chinese full-text search over visible datasets, facets, sorting.

Text queries reuse the catalog's inverted index (:func:`shudata.catalog.search.match`)
restricted, while postings are read, to visible datasets — so an unpublished entry can
never appear, not even in a count. Without text the visible datasets are listed in SQL.
Facets: theme, department, format (the catalog's format category), open class, update cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import FacetValue
from shudata.catalog.search import match
from shudata.core.errors import InvalidInput
from shudata.portal.models import PortalDataset
from shudata.portal.service import visible, visible_condition
from shudata.security.models import Department

Sort = Literal["relevance", "newest", "oldest", "downloads", "views", "api", "name"]
SORTS: tuple[str, ...] = ("relevance", "newest", "oldest", "downloads", "views", "api", "name")
SORT_LABELS = {"relevance": ("相关度", "Relevance"), "newest": ("最新发布", "Newest"),
               "oldest": ("最早发布", "Oldest"), "downloads": ("下载最多", "Most downloaded"),
               "views": ("浏览最多", "Most viewed"), "api": ("调用最多", "Most API calls"),
               "name": ("名称", "Name")}
FACETS: tuple[str, ...] = ("theme", "department", "format", "open_class", "update_cycle")
FACET_LABELS = {"theme": ("主题", "Theme"), "department": ("部门", "Department"), "format": ("格式", "Format"),
                "open_class": ("开放类型", "Open class"), "update_cycle": ("更新周期", "Update cycle")}
FACET_LIMIT = 50
_COLUMN = {"theme": PortalDataset.theme, "department": CatalogResource.provider_department_id,
           "format": CatalogResource.format_category, "open_class": CatalogResource.open_type,
           "update_cycle": CatalogResource.update_cycle}


@dataclass(frozen=True)
class DatasetFilters:
    theme: str | None = None
    department_id: int | None = None
    format: str | None = None
    open_class: str | None = None
    update_cycle: str | None = None
    tags: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # restrict to these dataset names (CKAN ``name:`` / ``id:``)

    def conditions(self) -> list[ColumnElement[bool]]:
        cond: list[ColumnElement[bool]] = []
        if self.theme:
            cond.append(PortalDataset.theme == self.theme)
        if self.department_id is not None:
            cond.append(CatalogResource.provider_department_id == self.department_id)
        if self.format:
            cond.append(CatalogResource.format_category == self.format)
        if self.open_class:
            cond.append(CatalogResource.open_type == self.open_class)
        if self.update_cycle:
            cond.append(CatalogResource.update_cycle == self.update_cycle)
        if self.names:
            cond.append(PortalDataset.name.in_(self.names))
        return cond


@dataclass(frozen=True)
class DatasetHit:
    dataset: PortalDataset
    resource: CatalogResource
    score: float


@dataclass
class DatasetSearchResult:
    query: str
    total: int
    exact: bool
    offset: int
    limit: int
    sort: str
    hits: list[DatasetHit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)


def _has_tags(resource: CatalogResource, tags: Sequence[str]) -> bool:
    have = {str(t) for t in resource.tags or []}
    return all(t in have for t in tags)


def _order(sort: str) -> list[Any]:
    if sort == "oldest":
        return [PortalDataset.first_published_at.asc(), PortalDataset.id.asc()]
    if sort == "downloads":
        return [PortalDataset.downloads.desc(), PortalDataset.id.desc()]
    if sort == "views":
        return [PortalDataset.views.desc(), PortalDataset.id.desc()]
    if sort == "api":
        return [PortalDataset.api_calls.desc(), PortalDataset.id.desc()]
    if sort == "name":
        return [CatalogResource.name.asc(), PortalDataset.id.asc()]
    return [PortalDataset.first_published_at.desc(), PortalDataset.id.desc()]  # newest (and browse default)


def _sort_key(sort: str, ds: PortalDataset, res: CatalogResource, score: float) -> tuple[object, ...]:
    if sort == "newest":
        return (-ds.first_published_at.timestamp(), -ds.id)
    if sort == "oldest":
        return (ds.first_published_at.timestamp(), ds.id)
    if sort == "downloads":
        return (-ds.downloads, -ds.id)
    if sort == "views":
        return (-ds.views, -ds.id)
    if sort == "api":
        return (-ds.api_calls, -ds.id)
    if sort == "name":
        return (res.name, ds.id)
    return (-score, res.id)


def _facets_sql(session: Session, cond: list[ColumnElement[bool]]) -> dict[str, list[FacetValue]]:
    out: dict[str, Counter[str]] = {}
    for name in FACETS:
        col = _COLUMN[name]
        stmt = (select(col, func.count()).select_from(PortalDataset)
                .join(CatalogResource, CatalogResource.id == PortalDataset.resource_id)
                .where(visible_condition(), *cond).group_by(col))
        out[name] = Counter({str(v): int(n) for v, n in session.execute(stmt).all()})
    return _labelled(session, out)


def _labelled(session: Session, counters: dict[str, Counter[str]]) -> dict[str, list[FacetValue]]:
    top = {n: sorted(c.items(), key=lambda x: (-x[1], x[0]))[:FACET_LIMIT] for n, c in counters.items()}
    ids = [int(v) for v, _ in top.get("department", []) if v.isdigit()]
    names = dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()) \
        if ids else {}
    return {n: [FacetValue(value=v, label=str(names.get(int(v), v)) if n == "department" and v.isdigit() else v,
                           count=c) for v, c in vals] for n, vals in top.items()}


def search_datasets(session: Session, *, q: str = "", filters: DatasetFilters | None = None,
                    sort: str = "relevance", offset: int = 0, limit: int = 20,
                    facets: bool = True) -> DatasetSearchResult:
    """Visible datasets matching ``q`` and ``filters``; ``facets`` counts over all matches."""
    if sort not in SORTS:
        raise InvalidInput(f"未知的排序方式“{sort}”（可用：{'、'.join(SORTS)}）",
                           f"Unknown sort {sort!r} (use one of {', '.join(SORTS)})", code="bad_sort")
    if len(q) > 200:
        raise InvalidInput("搜索词过长（最多 200 字）", "The search text is too long (200 characters at most)",
                           code="bad_query")
    filters = filters or DatasetFilters()
    offset, limit = max(0, int(offset)), max(0, min(int(limit), 1000))
    cond = filters.conditions()
    if not q.strip():
        base = visible().where(*cond)
        if filters.tags:  # tags live in a JSON list: filter in Python over the (bounded) matches
            rows = [(d, r) for d, r in session.execute(base.order_by(*_order(sort))).all()
                    if _has_tags(r, filters.tags)]
            total = len(rows)
            page = rows[offset:offset + limit]
        else:
            total = int(session.scalar(select(func.count()).select_from(PortalDataset)
                                       .join(CatalogResource, CatalogResource.id == PortalDataset.resource_id)
                                       .where(visible_condition(), *cond)) or 0)
            page = [(d, r) for d, r in session.execute(base.order_by(*_order(sort)).offset(offset).limit(limit)).all()]
        fac = (_facets_sql(session, cond) if not filters.tags else
               _facets_rows(session, [(d, r) for d, r in rows])) if facets else {}
        return DatasetSearchResult(q, total, True, offset, limit, sort,
                                   [DatasetHit(d, r, 0.0) for d, r in page], fac)
    restrict = CatalogResource.id.in_(select(PortalDataset.resource_id).join(
        CatalogResource, CatalogResource.id == PortalDataset.resource_id).where(visible_condition(), *cond))
    found = match(session, q, restrict=restrict)
    scores = dict(found.ranked)
    rows_all: list[tuple[PortalDataset, CatalogResource]] = []
    ids = list(scores)
    for i in range(0, len(ids), 900):
        chunk = visible().where(CatalogResource.id.in_(ids[i:i + 900]))
        rows_all.extend((d, r) for d, r in session.execute(chunk).all())
    if filters.tags:
        rows_all = [(d, r) for d, r in rows_all if _has_tags(r, filters.tags)]
    rows_all.sort(key=lambda x: _sort_key(sort, x[0], x[1], scores.get(x[1].id, 0.0)))
    hits = [DatasetHit(d, r, round(scores.get(r.id, 0.0), 6)) for d, r in rows_all[offset:offset + limit]]
    return DatasetSearchResult(q, len(rows_all), found.exact, offset, limit, sort, hits,
                               _facets_rows(session, rows_all) if facets else {})


def _facets_rows(session: Session, rows: Sequence[tuple[PortalDataset, CatalogResource]]
                 ) -> dict[str, list[FacetValue]]:
    counters: dict[str, Counter[str]] = {n: Counter() for n in FACETS}
    for d, r in rows:
        counters["theme"][d.theme] += 1
        counters["department"][str(r.provider_department_id)] += 1
        counters["format"][r.format_category] += 1
        counters["open_class"][r.open_type] += 1
        counters["update_cycle"][r.update_cycle] += 1
    return _labelled(session, counters)
