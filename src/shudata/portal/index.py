"""An in-process snapshot of the visible datasets for fast browsing, filtering, facets and sorting.

With 100,000 published datasets, SQL GROUP BYs and sorts over the visibility join cost
hundreds of milliseconds per request; the snapshot answers them in a few (numpy masks,
``bincount`` for facets, orders precomputed per sort key). It is rebuilt when the portal's
state fingerprint changes — newest publication id, newest withdrawal, newest
catalog change — and at the latest every ``MAX_AGE_S`` seconds (use counters for sorting may
be that stale). The snapshot only *selects and orders* ids: the rows of a page are always read
through :func:`shudata.portal.service.visible`, so a dataset hidden a moment ago never shows.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.portal.models import PortalDataset, PortalPublication
from shudata.portal.service import visible_condition
from shudata.security.models import Department

MAX_AGE_S = 60.0
CATEGORICAL = ("theme", "department", "format", "open_class", "update_cycle")


@dataclass
class Snapshot:
    fingerprint: tuple[Any, ...]
    built: float
    resource_ids: np.ndarray  # int64, one per visible dataset
    position: dict[int, int]  # resource id → row
    names: list[str]
    codes: dict[str, np.ndarray]  # categorical column → int32 codes
    values: dict[str, list[str]]  # categorical column → code → value
    tags: dict[str, np.ndarray]  # tag → rows having it
    orders: dict[str, np.ndarray] = field(default_factory=dict)  # sort → rows in that order
    # what CKAN's Solr fields need (:mod:`shudata.portal.solr`): title, organization
    # (the department's CKAN name and Chinese name), metadata_modified / _created (UTC epoch
    # seconds), num_tags; and per-row sort keys
    titles: list[str] = field(default_factory=list)
    organizations: dict[str, tuple[str, str]] = field(default_factory=dict)  # department id → (name, title)
    modified: np.ndarray = field(default_factory=lambda: np.zeros(0))
    created: np.ndarray = field(default_factory=lambda: np.zeros(0))
    num_tags: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    counters: dict[str, np.ndarray] = field(default_factory=dict)  # downloads, views, api
    _ranks: dict[str, np.ndarray] = field(default_factory=dict)
    _all_ids: frozenset[int] | None = None

    @property
    def size(self) -> int:
        return int(self.resource_ids.shape[0])

    def mask(self, *, theme: str | None = None, department_id: int | None = None, format: str | None = None,
             open_class: str | None = None, update_cycle: str | None = None, tags: Sequence[str] = (),
             names: Sequence[str] = ()) -> np.ndarray:
        keep = np.ones(self.size, dtype=bool)
        for col, want in (("theme", theme), ("department", None if department_id is None else str(department_id)),
                          ("format", format), ("open_class", open_class), ("update_cycle", update_cycle)):
            if want is None or want == "":
                continue
            try:
                code = self.values[col].index(want)
            except ValueError:
                return np.zeros(self.size, dtype=bool)
            keep &= self.codes[col] == code
        for tag in tags:
            rows = self.tags.get(tag)
            if rows is None:
                return np.zeros(self.size, dtype=bool)
            has = np.zeros(self.size, dtype=bool)
            has[rows] = True
            keep &= has
        if names:
            wanted = set(names)
            has = np.fromiter((n in wanted for n in self.names), dtype=bool, count=self.size)
            keep &= has
        return keep

    def facet_counts(self, keep: np.ndarray) -> dict[str, list[tuple[str, int]]]:
        out: dict[str, list[tuple[str, int]]] = {}
        for col in CATEGORICAL:
            counts = np.bincount(self.codes[col][keep], minlength=len(self.values[col]))
            out[col] = [(self.values[col][i], int(n)) for i, n in enumerate(counts) if n]
        return out

    def ordered(self, sort: str, keep: np.ndarray) -> np.ndarray:
        """Rows kept by ``keep``, in the order of ``sort``."""
        order = self.orders[sort]
        return order[keep[order]]

    def ranks(self, sort: str) -> np.ndarray:
        """Each row's place in the order of ``sort`` (computed once per snapshot)."""
        got = self._ranks.get(sort)
        if got is None:
            got = np.empty(self.size, dtype=np.int64)
            got[self.orders[sort]] = np.arange(self.size)
            self._ranks[sort] = got
        return got

    def sort_key(self, key: str) -> np.ndarray:
        """Each row's ascending sort key for a CKAN sort field (``name``, ``title``,
        ``modified``, ``created``, ``downloads``, ``views``, ``api``); computed once per snapshot."""
        got = self._ranks.get("key:" + key)
        if got is None:
            if key in ("name", "title"):
                texts = self.names if key == "name" else self.titles
                got = np.empty(self.size, dtype=np.int64)
                got[np.asarray(sorted(range(self.size), key=texts.__getitem__), dtype=np.int64)] = \
                    np.arange(self.size)
            elif key in ("modified", "created"):
                got = self.modified if key == "modified" else self.created
            else:
                got = self.counters[key]
            self._ranks["key:" + key] = got
        return got

    def sorted_rows(self, keys: Sequence[tuple[str, bool]], keep: np.ndarray,
                    score: np.ndarray | None = None) -> np.ndarray:
        """Rows kept by ``keep`` ordered by ``keys`` (``(key, descending)``; ``score`` is the
        given relevance), ties broken by name (as ``id asc``)."""
        if score is None:  # no relevance: one full order per sort, computed once per snapshot
            keys = [(k, d) for k, d in keys if k != "score"]  # equal for all: ordering by it changes nothing
            cache_key = "sorted:" + ",".join(f"{k} {int(d)}" for k, d in keys)
            order = self.orders.get(cache_key)
            if order is None:
                order = self._lexsort(keys, np.arange(self.size), None)
                if len(self.orders) < 64:
                    self.orders[cache_key] = order
            return order[keep[order]]
        return self._lexsort(keys, np.flatnonzero(keep), score)

    def _lexsort(self, keys: Sequence[tuple[str, bool]], rows: np.ndarray, score: np.ndarray | None) -> np.ndarray:
        columns: list[np.ndarray] = []
        for key, desc in keys:
            col = (score if score is not None else np.zeros(self.size)) if key == "score" else self.sort_key(key)
            columns.append(-col[rows] if desc else col[rows])
        columns.append(self.sort_key("name")[rows])
        return rows[np.lexsort(tuple(reversed(columns)))]

    def id_set(self, keep: np.ndarray) -> frozenset[int]:
        """The resource ids kept by ``keep`` (the unfiltered set is built once)."""
        if bool(keep.all()):
            if self._all_ids is None:
                self._all_ids = frozenset(self.position)
            return self._all_ids
        return frozenset(int(x) for x in self.resource_ids[keep])


def _encode(values: list[str]) -> tuple[np.ndarray, list[str]]:
    uniq = sorted(set(values))
    index = {v: i for i, v in enumerate(uniq)}
    return np.fromiter((index[v] for v in values), dtype=np.int32, count=len(values)), uniq


def fingerprint(session: Session) -> tuple[Any, ...]:
    newest = session.scalar(select(func.max(PortalPublication.id)))
    withdrawn = session.scalar(select(func.max(PortalPublication.withdrawn_at)))
    changed = session.scalar(select(func.max(CatalogResource.updated_at)))
    return (str(session.get_bind().engine.url), newest, withdrawn, changed)


def build(session: Session, fp: tuple[Any, ...]) -> Snapshot:
    stmt = (select(CatalogResource.id, PortalDataset.id, PortalDataset.name, PortalDataset.theme,
                   CatalogResource.provider_department_id, CatalogResource.format_category, CatalogResource.open_type,
                   CatalogResource.update_cycle, CatalogResource.tags, CatalogResource.name,
                   PortalDataset.first_published_at, PortalDataset.downloads, PortalDataset.views,
                   PortalDataset.api_calls, PortalDataset.published_at, CatalogResource.updated_at,
                   Department.uscc, Department.name)
            .select_from(PortalDataset).join(CatalogResource, CatalogResource.id == PortalDataset.resource_id)
            .join(Department, Department.id == CatalogResource.provider_department_id)
            .where(visible_condition()).order_by(CatalogResource.id))
    rows = session.execute(stmt).all()
    n = len(rows)
    rid = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    did = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    codes, values = {}, {}
    for col, k in zip(CATEGORICAL, (3, 4, 5, 6, 7), strict=True):
        codes[col], values[col] = _encode([str(r[k]) for r in rows])
    tag_rows: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        for t in set(r[8] or []):
            tag_rows.setdefault(str(t), []).append(i)
    published = np.fromiter((r[10].timestamp() for r in rows), dtype=np.float64, count=n)
    snap = Snapshot(fingerprint=fp, built=time.monotonic(), resource_ids=rid,
                    position={int(x): i for i, x in enumerate(rid)}, names=[str(r[2]) for r in rows],
                    codes=codes, values=values, tags={t: np.asarray(v, dtype=np.int64) for t, v in tag_rows.items()})
    # ties broken by dataset id, as the SQL orders do
    snap.orders["newest"] = np.lexsort((-did, -published))
    snap.orders["oldest"] = np.lexsort((did, published))
    for key, k in (("downloads", 11), ("views", 12), ("api", 13)):
        counter = np.fromiter((r[k] for r in rows), dtype=np.int64, count=n)
        snap.orders[key] = np.lexsort((-did, -counter))
    titles = [str(r[9]) for r in rows]
    snap.orders["name"] = np.asarray(sorted(range(n), key=lambda i: (titles[i], int(did[i]))), dtype=np.int64)
    snap.titles = titles
    snap.organizations = {str(r[4]): (str(r[16]).lower(), str(r[17])) for r in rows}
    snap.created = np.fromiter((epoch(r[10]) for r in rows), dtype=np.float64, count=n)
    snap.modified = np.fromiter((max(epoch(r[14]), epoch(r[15])) for r in rows), dtype=np.float64, count=n)
    snap.num_tags = np.fromiter((len(r[8] or []) for r in rows), dtype=np.int64, count=n)
    snap.counters = {key: np.fromiter((r[k] for r in rows), dtype=np.int64, count=n)
                     for key, k in (("downloads", 11), ("views", 12), ("api", 13))}
    return snap


def epoch(value: dt.datetime) -> float:
    """UTC epoch seconds of a stored time (naive values are UTC, as the store writes them).

    >>> epoch(dt.datetime(1970, 1, 2)), epoch(dt.datetime(1970, 1, 2, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    (86400.0, 86400.0)
    """
    return (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).timestamp()


_LOCK = threading.Lock()
_SNAPSHOTS: dict[str, Snapshot] = {}


def snapshot(session: Session) -> Snapshot:
    """The current snapshot for this metadata store (rebuilt when stale)."""
    fp = fingerprint(session)
    key = str(fp[0])
    snap = _SNAPSHOTS.get(key)
    if snap is not None and snap.fingerprint == fp and time.monotonic() - snap.built < MAX_AGE_S:
        return snap
    with _LOCK:
        snap = _SNAPSHOTS.get(key)
        if snap is not None and snap.fingerprint == fp and time.monotonic() - snap.built < MAX_AGE_S:
            return snap
        snap = build(session, fp)
        _SNAPSHOTS.pop(key, None)
        while len(_SNAPSHOTS) >= 8:  # one per metadata store; tests open many
            _SNAPSHOTS.pop(next(iter(_SNAPSHOTS)))
        _SNAPSHOTS[key] = snap
        return snap
