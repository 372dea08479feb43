"""The portable inverted index of the catalog (no backend-specific full-text features).

Text is cut into terms: jieba's search-mode words (two characters or more) plus the
character bigrams of every CJK run, whole lowercase alphanumeric runs, and resource codes
kept whole. Each (term, entry) posting carries an integer *impact*: the BM25 term-frequency
part summed over the entry's fields with field weights, normalised by fixed reference field
lengths, ×1000. Query time multiplies impacts by the term's IDF (from ``catalog_search_stat``)
in Python, so scores are identical on SQLite and PostgreSQL.

The index is maintained in the caller's transaction by :func:`index_entry` and
:func:`unindex_entry`; :func:`bulk_index` + :func:`rebuild_stats` load many entries at once.

>>> tokenize("四川省企业信用信息")[:6]
['四川', '四川省', '企业', '信用', '企业信用', '信息']
>>> "业信" in tokenize("企业信用")
True
>>> tokenize("代码 101001/000123 ABC-9")
['101001/000123', '代码', '101001', '000123', 'abc', '9']
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import jieba
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogSearchDoc, CatalogSearchStat, CatalogSearchTerm

DOCS_KEY = "#docs"
TERMS: Table = CatalogSearchTerm.__table__  # type: ignore[assignment]
DOCS: Table = CatalogSearchDoc.__table__  # type: ignore[assignment]
RANK_INDEX = "ix_catalog_search_term_rank"
K1, B = 1.2, 0.75
MAX_TERM = 64
CHUNK = 1000
CODE_RE = re.compile(r"[1-9]\d{5,11}/\d{1,6}")
RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9][a-z0-9_]*")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# field -> (weight, reference length in terms, with bigrams)
FIELDS: dict[str, tuple[float, float, bool]] = {
    "name": (3.0, 10.0, True), "code": (3.0, 3.0, True), "provider": (1.5, 8.0, True), "tags": (1.5, 8.0, True),
    "items": (1.2, 30.0, True), "abstract": (1.0, 30.0, False),
}


@cache
def _jieba() -> Any:
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=65536)
def _cjk_terms(run: str, bigrams: bool = True) -> tuple[str, ...]:
    """jieba search-mode words (dictionary only, no HMM: deterministic and fast) + bigrams."""
    if len(run) == 1:
        return (run,)
    words = [w for w in _jieba().cut_for_search(run, HMM=False) if len(w) >= 2]
    if not bigrams:
        return tuple(words)
    seen = set(words)
    pairs = [run[i:i + 2] for i in range(len(run) - 1)]
    return (*words, *(b for b in pairs if b not in seen))


def tokenize(text: str | None, bigrams: bool = True) -> list[str]:
    """Terms of ``text`` with repetitions (see the module docstring). Long prose (abstracts)
    is indexed without bigrams: its words suffice and the index stays small."""
    if not text:
        return []
    norm = unicodedata.normalize("NFKC", text).lower()
    out = [c[:MAX_TERM] for c in CODE_RE.findall(norm)]
    for run in RUN_RE.findall(norm):
        if CJK_RE.match(run):
            out.extend(_cjk_terms(run, bigrams))
        else:
            out.append(run[:MAX_TERM])
    return out


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query, sorted (a fixed order keeps float sums identical).

    A query uses jieba's words and only the bigrams of characters no word covers (unknown
    words): fewer terms to look up, and entries are indexed under both anyway.

    >>> query_terms("资阳市医疗保障局")
    ['保障', '保障局', '医疗', '资阳', '资阳市']
    >>> query_terms("在校学生数")
    ['在校', '在校学生', '学生', '生数']
    """
    if not text:
        return []
    norm = unicodedata.normalize("NFKC", text).lower()
    out = set(CODE_RE.findall(norm))
    for run in RUN_RE.findall(norm):
        if not CJK_RE.match(run):
            out.add(run[:MAX_TERM])
        elif len(run) == 1:
            out.add(run)
        else:
            out.update(_query_cjk(run))
    return sorted(out)


def _query_cjk(run: str) -> list[str]:
    words = [w for w in _jieba().cut(run, HMM=False) if len(w) >= 2]
    covered = [False] * len(run)
    pos = 0
    for piece in _jieba().cut(run, HMM=False):
        if len(piece) >= 2:
            covered[pos:pos + len(piece)] = [True] * len(piece)
        pos += len(piece)
    terms = [t for w in words for t in _cjk_terms(w, False)]
    terms += [run[i:i + 2] for i in range(len(run) - 1) if not (covered[i] and covered[i + 1])]
    return terms


@dataclass(frozen=True)
class EntryText:
    """The searchable text of one entry, by field."""

    resource_id: int
    name: str
    code: str
    provider: str
    abstract: str
    items: str
    tags: str

    @classmethod
    def of(cls, resource_id: int, *, name: str, code: str, provider: str, abstract: str,
           items: Iterable[Mapping[str, Any]], tags: Iterable[str]) -> EntryText:
        item_text = " ".join(f"{i.get('name', '')} {i.get('description') or ''}" for i in items)
        return cls(resource_id, name, code, provider, abstract, item_text, " ".join(t for t in tags if t))


def impacts(entry: EntryText) -> dict[str, int]:
    """Term -> integer impact (BM25 tf part, field-weighted, ×1000) of one entry."""
    total: dict[str, float] = {}
    for field, (weight, ref_len, bigrams) in FIELDS.items():
        terms = tokenize(getattr(entry, field), bigrams)
        if not terms:
            continue
        norm = K1 * (1 - B + B * len(terms) / ref_len)
        for term, tf in Counter(terms).items():
            total[term] = total.get(term, 0.0) + weight * tf * (K1 + 1) / (tf + norm)
    return {t: max(1, round(v * 1000)) for t, v in total.items()}


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _bump(session: Session, terms: list[str], delta: int) -> None:
    for part in _chunks(terms):
        session.execute(update(CatalogSearchStat).where(CatalogSearchStat.term.in_(part))
                        .values(df=CatalogSearchStat.df + delta))


def _add_df(session: Session, terms: list[str]) -> None:
    existing: set[str] = set()
    for part in _chunks(terms):
        existing.update(session.scalars(select(CatalogSearchStat.term).where(CatalogSearchStat.term.in_(part))))
    _bump(session, sorted(existing), 1)
    fresh = [{"term": t, "df": 1} for t in terms if t not in existing]
    if fresh:
        session.execute(insert(CatalogSearchStat), fresh)


def _drop_postings(session: Session, resource_id: int, terms: list[str]) -> None:
    for part in _chunks(terms):
        session.execute(delete(CatalogSearchTerm).where(CatalogSearchTerm.resource_id == resource_id,
                                                        CatalogSearchTerm.term.in_(part)))
    _bump(session, terms, -1)
    session.execute(delete(CatalogSearchStat).where(CatalogSearchStat.df <= 0,
                                                    CatalogSearchStat.term != DOCS_KEY))


def index_entry(session: Session, entry: EntryText) -> None:
    """(Re)index one entry in the caller's transaction, keeping document frequencies exact.

    Writers are serialised by the audit chain's head lock, taken before indexing by every
    catalog service function, so concurrent new terms cannot collide.
    """
    doc = session.get(CatalogSearchDoc, entry.resource_id)
    old = sorted(doc.terms) if doc else []
    if old:
        _drop_postings(session, entry.resource_id, old)
    postings = impacts(entry)
    rows = [{"term": t, "resource_id": entry.resource_id, "impact": v} for t, v in sorted(postings.items())]
    if rows:
        session.connection().execute(TERMS.insert(), rows)
    _add_df(session, sorted(postings))
    if doc is None:
        session.add(CatalogSearchDoc(resource_id=entry.resource_id, terms=sorted(postings)))
        _add_df(session, [DOCS_KEY])
    else:
        doc.terms = sorted(postings)
    session.flush()


def unindex_entry(session: Session, resource_id: int) -> None:
    """Remove an entry from the index (soft delete)."""
    doc = session.get(CatalogSearchDoc, resource_id)
    if doc is None:
        return
    _drop_postings(session, resource_id, sorted(doc.terms))
    _bump(session, [DOCS_KEY], -1)
    session.delete(doc)
    session.flush()


def bulk_index(session: Session, entries: Iterable[EntryText], batch: int = 50_000) -> int:
    """Insert postings for entries not indexed yet (bulk load); call :func:`rebuild_stats` after.
    The ranking index is dropped during the load and rebuilt at the end. Returns the number
    of postings written."""
    rank_index = next(i for i in TERMS.indexes if i.name == RANK_INDEX)
    rank_index.drop(session.connection())
    written = _bulk(session, entries, batch)
    rank_index.create(session.connection())
    return written


def _bulk(session: Session, entries: Iterable[EntryText], batch: int) -> int:
    rows: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    written = 0
    for entry in entries:
        postings = impacts(entry)
        rows.extend({"term": t, "resource_id": entry.resource_id, "impact": v} for t, v in postings.items())
        docs.append({"resource_id": entry.resource_id, "terms": sorted(postings)})
        if len(rows) >= batch:
            written += _flush_bulk(session, rows, docs)
            rows, docs = [], []
    return written + _flush_bulk(session, rows, docs)


def _flush_bulk(session: Session, rows: list[dict[str, Any]], docs: list[dict[str, Any]]) -> int:
    conn = session.connection()
    if rows:
        rows.sort(key=lambda r: (r["term"], r["resource_id"]))
        conn.execute(TERMS.insert(), rows)
    if docs:
        conn.execute(DOCS.insert(), docs)
    return len(rows)


def rebuild_stats(session: Session) -> None:
    """Recompute every document frequency from the postings (after a bulk load or repair)."""
    session.execute(delete(CatalogSearchStat))
    counts = select(CatalogSearchTerm.term, func.count()).group_by(CatalogSearchTerm.term)
    session.execute(insert(CatalogSearchStat).from_select(["term", "df"], counts))
    n = session.scalar(select(func.count()).select_from(CatalogSearchDoc)) or 0
    session.execute(insert(CatalogSearchStat), [{"term": DOCS_KEY, "df": n}])
    session.flush()
