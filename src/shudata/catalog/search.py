"""Chinese full-text search over the catalog, ranked (BM25 with field weights), with facets.

How a query runs (see :mod:`shudata.catalog.search_index` for the index):

1. The query is cut into terms; their document frequencies are read from
   ``catalog_search_stat``. Terms no entry contains are ignored.
2. Candidates come from the rarest terms first: each term's postings, best impact first,
   until ``CANDIDATE_CAP`` entries are collected. Common terms (四川, 信息) then only score
   the candidates already found, so a query costs a few thousand index rows whatever the
   catalog size. When a term had more postings than the cap, ``exact`` is false: the total
   and facets are those of the candidate set.
3. Score = Σ idf(term) × impact(term, entry); an entry must cover at least half of the
   query's IDF mass (so 企业信用 does not return every entry mentioning 信用 alone).
4. Ties are broken by entry id, so results are identical on SQLite and PostgreSQL.
5. Quality scores (filter ``min_quality``, ``sort="quality"``, ``ResourceRead.quality_score``)
   come from the ``catalog_quality_scores`` hook (the quality package's built-in plugin,
   :mod:`shudata.quality.providers`), so the catalog does not import the quality package.
   Without an implementation no entry has a score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Select, Table, select
from sqlalchemy.orm import Session

from shudata.catalog import actions as A
from shudata.catalog import visibility
from shudata.catalog.models import CatalogResource, CatalogSearchStat, CatalogSearchTerm
from shudata.catalog.schemas import SHARING_LABELS, FacetValue, SearchFilters, SearchHit, SearchResult
from shudata.catalog.search_index import DOCS_KEY, query_terms
from shudata.catalog.service import to_reads
from shudata.core.plugins import plugins_of
from shudata.core.types import Actor
from shudata.security.authz import require


def quality_scores(session: Session, ids: Sequence[int]) -> dict[int, float]:
    """Scores of ``ids`` from the ``catalog_quality_scores`` hook of the session's plugin
    manager (the first answer; nobody answers: no scores)."""
    if not ids:
        return {}
    scores = plugins_of(session).hook.catalog_quality_scores(session=session, ids=list(ids))
    return dict(scores) if scores is not None else {}

CANDIDATE_CAP = 1000
KEEP_OVERFETCH = 4
MIN_COVERAGE = 0.5
TERMS: Table = CatalogSearchTerm.__table__  # type: ignore[assignment]
STATS: Table = CatalogSearchStat.__table__  # type: ignore[assignment]
RES: Table = CatalogResource.__table__  # type: ignore[assignment]
CHUNK = 5000
FACET_VALUES = 30
FACETS = ("provider", "classification", "sharing_type", "format", "update_cycle")


@dataclass
class Matches:
    """Ranked entry ids of a query."""

    ranked: list[tuple[int, float]] = field(default_factory=list)
    exact: bool = True


def idf(df: int, n: int) -> float:
    """BM25's IDF, always positive.

    >>> round(idf(1, 100), 3), round(idf(90, 100), 3)
    (4.21, 0.11)
    """
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _filters(f: SearchFilters) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if f.provider is not None:
        cond.append(RES.c.provider_department_id == f.provider)
    if f.classification is not None:
        cond.append(RES.c.classification == f.classification.value)
    if f.sharing_type is not None:
        cond.append(RES.c.sharing_type == int(f.sharing_type))
    if f.format is not None:
        cond.append(RES.c.format_category == f.format.value)
    if f.update_cycle is not None:
        cond.append(RES.c.update_cycle == f.update_cycle.value)
    return cond


def raw(conn: Connection, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Run plain SQL written with ``?`` placeholders on the DBAPI cursor (the hot paths fetch
    thousands of small rows; SQLAlchemy's row processing would dominate their cost)."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def tune_sqlite(conn: Connection) -> None:
    """Give a SQLite connection a larger page cache and memory-mapped reads, once: the
    index is read in small random lookups, and a 2 MB cache would send most of them to the
    OS. (No-op on PostgreSQL.)"""
    if conn.dialect.name != "sqlite" or conn.connection.info.get("shudata_search_tuned"):
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.execute("PRAGMA mmap_size = 1073741824")
    finally:
        cursor.close()
    conn.connection.info["shudata_search_tuned"] = True


def _fetch_postings(conn: Connection, term: str, cond: list[ColumnElement[bool]], cap: int) -> list[tuple[int, int]]:
    if cond:
        return [(int(a), int(b)) for a, b in conn.execute(_postings(term, cond, cap)).all()]
    return raw(conn, "SELECT resource_id, impact FROM catalog_search_term WHERE term = ? "
                     f"ORDER BY impact DESC, resource_id DESC LIMIT {int(cap)}", (term,))


def _postings(term: str, cond: list[ColumnElement[bool]], cap: int) -> Select[int, int]:
    stmt = select(TERMS.c.resource_id, TERMS.c.impact).where(TERMS.c.term == term)
    if cond:
        stmt = stmt.join(RES, RES.c.id == TERMS.c.resource_id).where(*cond)
    return stmt.order_by(TERMS.c.impact.desc(), TERMS.c.resource_id.desc()).limit(cap)


def id_list(ids: Iterable[int]) -> str:
    """Integer ids as an SQL list literal (ints only, so nothing can be injected; far cheaper
    than thousands of bound parameters).

    >>> id_list([3, 1])
    '3,1'
    """
    return ",".join(str(int(i)) for i in ids) or "NULL"


def _complete(conn: Connection, terms: list[str], cands: dict[int, dict[str, int]]) -> None:
    """Fill in the impacts of ``terms`` for the candidates that lack them (primary-key lookups)."""
    for term in terms:
        ids = sorted(rid for rid, imp in cands.items() if term not in imp)
        for i in range(0, len(ids), CHUNK):
            sql = ("SELECT resource_id, impact FROM catalog_search_term WHERE term = ? "
                   f"AND resource_id IN ({id_list(ids[i:i + CHUNK])})")
            for rid, impact in raw(conn, sql, (term,)):
                cands[rid][term] = impact


def _prune(cands: dict[int, dict[str, int]], weights: dict[str, float], pending: list[str],
           need: float) -> dict[int, dict[str, int]]:
    """Drop candidates that cannot reach the coverage even with every pending term."""
    pending_mass = sum(weights[t] for t in pending)
    out = {}
    for rid, imp in cands.items():
        have = 0.0
        for t in imp:
            have += weights[t]
        bonus = pending_mass - sum(weights[t] for t in pending if t in imp)
        if have + bonus + 1e-9 >= need:
            out[rid] = imp
    return out


def match(session: Session, q: str, filters: SearchFilters | None = None,
          cap: int = CANDIDATE_CAP, min_coverage: float = MIN_COVERAGE,
          restrict: ColumnElement[bool] | None = None, keep: Container[int] | None = None) -> Matches:
    """Ranked ids of the entries matching ``q`` (see the module docstring).

    ``restrict`` is an extra condition over ``catalog_resource`` (another package's view of
    the catalog, e.g. the portal's published entries), applied while postings are read.
    ``keep`` does the same with a set of ids held in memory: postings are over-fetched
    (``KEEP_OVERFETCH`` × the cap) on the fast path and filtered as they arrive.
    """
    terms = query_terms(q)
    if not terms:
        return Matches()
    conn = session.connection()
    tune_sqlite(conn)
    keys = [*terms, DOCS_KEY]
    dfs: dict[str, int] = dict(raw(conn, f"SELECT term, df FROM catalog_search_stat WHERE term IN "
                                         f"({','.join('?' * len(keys))})", tuple(keys)))
    n = max(dfs.pop(DOCS_KEY, 0), 1)
    known = sorted((t for t in terms if dfs.get(t, 0) > 0), key=lambda t: (dfs[t], t))
    if not known:
        return Matches()
    weights = {t: idf(dfs[t], n) for t in known}
    cond = _filters(filters or SearchFilters())
    if restrict is not None:
        cond.append(restrict)
    cands: dict[int, dict[str, int]] = {}
    rest, exact = list(known), True
    need = min_coverage * sum(weights.values())
    partial: list[str] = []
    # MaxScore: once the terms not fetched yet cannot reach the coverage on their own,
    # no new entry can qualify, and those terms only need scoring for known candidates.
    while rest and sum(weights[t] for t in rest) + 1e-9 >= need:
        if len(cands) >= cap:
            exact = False
            break
        term = rest.pop(0)
        got = _fetch_postings(conn, term, cond, cap if keep is None else cap * KEEP_OVERFETCH)
        fetched = len(got)
        if keep is not None:
            got = [(rid, impact) for rid, impact in got if rid in keep][:cap]
        if len(got) >= cap or (keep is not None and fetched >= cap * KEEP_OVERFETCH):
            partial.append(term)
            exact = False
        for rid, impact in got:
            cands.setdefault(rid, {})[term] = impact
    pending = sorted({*rest, *partial})
    if pending:
        cands = _prune(cands, weights, pending, need)
        _complete(conn, pending, cands)
    return Matches(_rank(cands, weights, need), exact)


def _rank(cands: dict[int, dict[str, int]], weights: dict[str, float], need: float) -> list[tuple[int, float]]:
    order = sorted(weights)
    ranked: list[tuple[int, float]] = []
    for rid, imp in cands.items():
        covered = score = 0.0
        for t in order:  # a fixed order: identical float sums on every backend
            if t in imp:
                covered += weights[t]
                score += weights[t] * imp[t] / 1000
        if covered + 1e-9 >= need:
            ranked.append((rid, round(score, 9)))
    ranked.sort(key=lambda x: (-x[1], x[0]))
    return ranked


def _browse(session: Session, filters: SearchFilters, cap: int) -> Matches:
    """No query text: the newest entries (matching the filters)."""
    stmt = (select(RES.c.id).where(RES.c.is_deleted.is_(False), *_filters(filters))
            .order_by(RES.c.id.desc()).limit(cap + 1))
    ids = list(session.connection().scalars(stmt))
    return Matches([(i, 0.0) for i in ids[:cap]], exact=len(ids) <= cap)


def facet_counts(session: Session, ids: Iterable[int]) -> dict[str, list[FacetValue]]:
    """Counts of each facet value among ``ids``, most frequent first (top ``FACET_VALUES``)."""
    counters: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
    ids_ = sorted(set(ids))
    conn = session.connection()
    for i in range(0, len(ids_), CHUNK):
        rows = raw(conn, "SELECT provider_department_id, classification, sharing_type, format_category, "
                         f"update_cycle FROM catalog_resource WHERE id IN ({id_list(ids_[i:i + CHUNK])})")
        for name, column in zip(FACETS, zip(*rows, strict=True), strict=False):
            counters[name].update(str(v) for v in column)
    top = {name: sorted(counter.items(), key=lambda x: (-x[1], x[0]))[:FACET_VALUES]
           for name, counter in counters.items()}
    names = _department_names(session, [int(v) for v, _ in top["provider"]])
    return {name: [FacetValue(value=v, label=_label(name, v, names), count=c) for v, c in values]
            for name, values in top.items()}


def _department_names(session: Session, ids: list[int]) -> dict[str, str]:
    if not ids:
        return {}
    rows = raw(session.connection(), f"SELECT id, name FROM security_department WHERE id IN ({id_list(ids)})")
    return {str(i): n for i, n in rows}


def _label(facet: str, value: str, names: dict[str, str]) -> str:
    if facet == "provider":
        return names.get(value, value)
    if facet == "sharing_type":
        return SHARING_LABELS.get(int(value), (value,))[0]
    return value


def search(*, session: Session, actor: Actor, q: str, filters: SearchFilters | None = None,
           offset: int = 0, limit: int = 20, sort: Literal["relevance", "quality"] = "relevance") -> SearchResult:
    """Search the catalog: ranked hits (with freshness flags and quality scores) and facets.

    ``filters.min_quality`` keeps the entries scored at least that; ``sort="quality"`` orders
    by score, best first (unscored entries last), then by relevance and id."""
    require(actor, A.RESOURCE_VIEW)
    filters = filters or SearchFilters()
    found = match(session, q, filters) if q.strip() else _browse(session, filters, CANDIDATE_CAP)
    ranked = visibility.drop_hidden(session, actor, found.ranked)
    scores: dict[int, float] = {}
    if filters.min_quality is not None or sort == "quality":
        scores = quality_scores(session, [rid for rid, _ in ranked])
        if filters.min_quality is not None:
            ranked = [(rid, sc) for rid, sc in ranked if scores.get(rid, -1.0) >= filters.min_quality]
        if sort == "quality":
            order = {rid: n for n, (rid, _) in enumerate(ranked)}
            ranked = sorted(ranked, key=lambda x: (x[0] not in scores, -scores.get(x[0], 0.0), order[x[0]]))
    page = ranked[offset:offset + limit]
    if not scores:
        scores = quality_scores(session, [rid for rid, _ in page])
    rows = {r.id: r for r in session.scalars(select(CatalogResource).where(
        CatalogResource.id.in_([rid for rid, _ in page])))}
    reads = {r.id: r.model_copy(update={"quality_score": scores.get(r.id)})
             for r in to_reads(session, list(rows.values()))}
    hits = [SearchHit(resource=reads[rid], score=round(score, 6)) for rid, score in page if rid in reads]
    return SearchResult(query=q, total=len(ranked), exact=found.exact, offset=offset, limit=limit,
                        hits=hits, facets=facet_counts(session, (rid for rid, _ in ranked)))
