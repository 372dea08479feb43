"""Searching the portal: Chinese full-text search over visible datasets, facets, sorting.

Text queries reuse the catalog's inverted index (:func:`shudata.catalog.search.match`)
restricted, while postings are read, to visible datasets — so an unpublished entry can
never appear, not even in a count. Without text the visible datasets are listed in SQL.
Facets: theme, department, format (the catalog's format category), open class, update cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import ColumnElement, Text, cast, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import FacetValue
from shudata.catalog.search import match
from shudata.core.errors import InvalidInput
from shudata.portal import index
from shudata.portal.models import PortalDataset
from shudata.portal.service import visible
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


@dataclass(frozen=True)
class DatasetFilters:
    theme: str | None = None
    department_id: int | None = None
    format: str | None = None
    open_class: str | None = None
    update_cycle: str | None = None
    tags: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # restrict to these dataset names (CKAN ``name:`` / ``id:``)

    def resource_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on ``catalog_resource`` alone."""
        cond: list[ColumnElement[bool]] = []
        if self.department_id is not None:
            cond.append(CatalogResource.provider_department_id == self.department_id)
        if self.format:
            cond.append(CatalogResource.format_category == self.format)
        if self.open_class:
            cond.append(CatalogResource.open_type == self.open_class)
        if self.update_cycle:
            cond.append(CatalogResource.update_cycle == self.update_cycle)
        for tag in self.tags:  # tags are a JSON list: match the serialised element
            cond.append(cast(CatalogResource.tags, Text).contains(json.dumps(tag), autoescape=True))
        return cond

    def dataset_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on ``portal_dataset`` alone."""
        cond: list[ColumnElement[bool]] = []
        if self.theme:
            cond.append(PortalDataset.theme == self.theme)
        if self.names:
            cond.append(PortalDataset.name.in_(self.names))
        return cond

    def conditions(self) -> list[ColumnElement[bool]]:
        return [*self.resource_conditions(), *self.dataset_conditions()]


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


def _labelled(session: Session, counters: dict[str, list[tuple[str, int]]]) -> dict[str, list[FacetValue]]:
    top = {n: sorted(c, key=lambda x: (-x[1], x[0]))[:FACET_LIMIT] for n, c in counters.items()}
    ids = [int(v) for v, _ in top.get("department", []) if v.isdigit()]
    names = dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()) \
        if ids else {}
    return {n: [FacetValue(value=v, label=str(names.get(int(v), v)) if n == "department" and v.isdigit() else v,
                           count=c) for v, c in vals] for n, vals in top.items()}


def _rows(session: Session, ids: Sequence[int]) -> dict[int, tuple[PortalDataset, CatalogResource]]:
    """The page's rows, read through the visibility rule (authoritative, whatever the snapshot says)."""
    out: dict[int, tuple[PortalDataset, CatalogResource]] = {}
    for i in range(0, len(ids), 900):
        for d, r in session.execute(visible().where(PortalDataset.resource_id.in_(list(ids[i:i + 900])))).all():
            out[r.id] = (d, r)
    return out


def search_datasets(session: Session, *, q: str = "", filters: DatasetFilters | None = None,
                    sort: str = "relevance", offset: int = 0, limit: int = 20,
                    facets: bool = True) -> DatasetSearchResult:
    """Visible datasets matching ``q`` and ``filters``; ``facets`` counts over all matches.

    Filters, facets and orders come from the in-process snapshot (:mod:`shudata.portal.index`);
    text ranking from the catalog index, keeping only the snapshot's matching ids; the page's
    rows are then read through the visibility rule.
    """
    if sort not in SORTS:
        raise InvalidInput(f"未知的排序方式“{sort}”（可用：{'、'.join(SORTS)}）",
                           f"Unknown sort {sort!r} (use one of {', '.join(SORTS)})", code="bad_sort")
    if len(q) > 200:
        raise InvalidInput("搜索词过长（最多 200 字）", "The search text is too long (200 characters at most)",
                           code="bad_query")
    filters = filters or DatasetFilters()
    offset, limit = max(0, int(offset)), max(0, min(int(limit), 1000))
    snap = index.snapshot(session)
    keep = snap.mask(theme=filters.theme, department_id=filters.department_id, format=filters.format,
                     open_class=filters.open_class, update_cycle=filters.update_cycle, tags=filters.tags,
                     names=filters.names)
    scores: dict[int, float] = {}
    exact = True
    if not q.strip():
        rows_in_order = snap.ordered("newest" if sort == "relevance" else sort, keep)
        total = int(rows_in_order.shape[0])
        page_ids = [int(x) for x in snap.resource_ids[rows_in_order[offset:offset + limit]]]
        matched = keep
    else:
        allowed = snap.id_set(keep)
        found = match(session, q, keep=allowed)
        exact = found.exact
        scores = dict(found.ranked)
        ranked = [rid for rid, _ in found.ranked if rid in snap.position]  # best first, ties by id
        if sort != "relevance":
            rank = snap.ranks(sort)
            ranked.sort(key=lambda rid: int(rank[snap.position[rid]]))
        total = len(ranked)
        page_ids = ranked[offset:offset + limit]
        matched = np.zeros(snap.size, dtype=bool)
        if ranked:
            matched[np.fromiter((snap.position[r] for r in ranked), dtype=np.int64, count=len(ranked))] = True
    rows = _rows(session, page_ids)
    hits = [DatasetHit(rows[i][0], rows[i][1], round(scores.get(i, 0.0), 6)) for i in page_ids if i in rows]
    fac = _labelled(session, snap.facet_counts(matched)) if facets else {}
    return DatasetSearchResult(q, total, exact, offset, limit, sort, hits, fac)


# -- CKAN's package_search: a parsed Solr query over the snapshot ---------------------------------

@dataclass
class QueryResult:
    """Matches of a CKAN ``package_search``: the page's rows, the total, and the facet counts
    over every match (``field -> [(value, count)]``, tags included)."""

    total: int
    hits: list[DatasetHit]
    facets: dict[str, list[tuple[str, int]]]
    organizations: dict[str, tuple[str, str]] = field(default_factory=dict)  # department id → (name, title)


def query_datasets(session: Session, *, where: Callable[[index.Snapshot, TextMatch], np.ndarray] | None,
                   text: str = "", rank: str = "", sort: Sequence[tuple[str, bool]] = (("score", True),),
                   offset: int = 0, limit: int = 10, facets: bool = True, tag_facet: bool = True) -> QueryResult:
    """Visible datasets kept by ``where`` (a compiled ``q``/``fq``: snapshot and full-text search
    → mask) and matching the free ``text`` (looked up among those only, so the index's
    candidate cap applies to the filtered set), ordered by ``sort`` (``(key, descending)``,
    ties by name; ``score`` is the relevance of ``text``, or of ``rank`` — the words of a
    fielded ``q``); one page of them read through the visibility rule. ``facets``: counts of
    the categorical columns over every match (and of the tags with ``tag_facet``)."""
    snap = index.snapshot(session)
    full_text = TextMatch(session, snap)
    keep = where(snap, full_text) if where is not None else np.ones(snap.size, dtype=bool)
    score: np.ndarray | None = None
    if text.strip():
        ranked = full_text.ranked(text, keep)
        score = full_text.scores(ranked)
        keep = keep & full_text.mask(ranked)
    elif rank.strip() and any(k == "score" for k, _ in sort):
        score = full_text.scores(full_text.ranked(rank))
    rows = snap.sorted_rows(list(sort), keep, score if any(k == "score" for k, _ in sort) else None)
    page_ids = [int(x) for x in snap.resource_ids[rows[offset:offset + limit]]]
    found = _rows(session, page_ids)
    hits = [DatasetHit(found[i][0], found[i][1], float(score[snap.position[i]]) if score is not None else 0.0)
            for i in page_ids if i in found]
    counts: dict[str, list[tuple[str, int]]] = {}
    if facets:
        counts = snap.facet_counts(keep)
        if tag_facet:  # one count per distinct tag: only when asked for
            counts["tags"] = [(t, n) for t, at in snap.tags.items() if (n := int(keep[at].sum()))]
    return QueryResult(int(rows.shape[0]), hits, counts, snap.organizations)


class TextMatch:
    """Full-text words → the snapshot's rows the catalog index matches (each set of words is
    looked up once per query when searched among all datasets)."""

    def __init__(self, session: Session, snap: index.Snapshot) -> None:
        self.session, self.snap = session, snap
        self._seen: dict[str, list[tuple[int, float]]] = {}

    def ranked(self, words: str, keep: np.ndarray | None = None) -> list[tuple[int, float]]:
        """``(resource id, score)`` of the datasets matching ``words``, best first — among
        the rows of ``keep`` when given."""
        if len(words) > 200:
            raise InvalidInput("搜索词过长（最多 200 字）", "The search text is too long (200 characters at most)",
                               code="bad_query")
        if keep is not None and not bool(keep.all()):
            found = match(self.session, words, keep=self.snap.id_set(keep))
            return [(rid, s) for rid, s in found.ranked if rid in self.snap.position]
        got = self._seen.get(words)
        if got is None:
            found = match(self.session, words, keep=self.snap.id_set(np.ones(self.snap.size, dtype=bool)))
            got = self._seen[words] = [(rid, s) for rid, s in found.ranked if rid in self.snap.position]
        return got

    def mask(self, ranked: list[tuple[int, float]]) -> np.ndarray:
        out = np.zeros(self.snap.size, dtype=bool)
        out[np.asarray([self.snap.position[rid] for rid, _ in ranked], dtype=np.int64)] = True
        return out

    def scores(self, ranked: list[tuple[int, float]]) -> np.ndarray:
        """Each row's relevance (0 where it did not match)."""
        out = np.zeros(self.snap.size)
        for rid, s in ranked:
            out[self.snap.position[rid]] = s
        return out

    def __call__(self, words: str) -> np.ndarray:
        """The rows matching ``words`` (a full-text clause of a query)."""
        return self.mask(self.ranked(words))
