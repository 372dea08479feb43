"""Rows of a published dataset: previews, CKAN ``datastore_search`` queries, downloads.

Everything reads the current publication's masked Parquet file (never the lake version).
The unfiltered page is a slice through the lake's cached reader; filters, full-text ``q``
and sorting run in DuckDB with every identifier checked against the published columns and
every value passed as a quoted literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.lake.reader import read_page
from shudata.portal.service import PublicDataset
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine

FORMATS = ("csv", "xlsx", "json", "parquet")
FORMAT_LABELS = {"csv": "CSV", "xlsx": "XLSX", "json": "JSON", "parquet": "Parquet"}
_RID = re.compile(r"^(?P<name>.+?)(?:-(?P<fmt>csv|xlsx|json|parquet))?$")


def resource_id(ds: PublicDataset, fmt: str) -> str:
    """A distribution's stable id (CKAN ``resource.id``): ``<dataset name>-<format>``."""
    return f"{ds.name}-{fmt}"


def split_resource_id(rid: str) -> tuple[str, str | None]:
    """``'101001-000123-csv'`` → ``('101001-000123', 'csv')``; a bare dataset name has no format.

    >>> split_resource_id("101001-000123-csv"), split_resource_id("101001-000123")
    (('101001-000123', 'csv'), ('101001-000123', None))
    """
    m = _RID.match(rid.strip())
    if m is None:
        return rid, None
    return m.group("name"), m.group("fmt")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class DatastoreQuery:
    filters: Mapping[str, Any] | None = None
    q: str | Mapping[str, str] | None = None
    fields: Sequence[str] | None = None
    sort: str | None = None
    limit: int = 100
    offset: int = 0
    distinct: bool = False


def columns(ds: PublicDataset) -> list[dict[str, str]]:
    return [dict(c) for c in ds.publication.columns]


def _check_columns(names: Sequence[str], known: Sequence[str], what: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(f"{what}中的字段不存在：{'、'.join(unknown)}（可用：{'、'.join(known)}）",
                           f"Unknown field(s) in {what}: {', '.join(unknown)}",
                           code="unknown_field", details={"fields": unknown})


def parse_sort(sort: str | None, known: Sequence[str]) -> list[tuple[str, str]]:
    """``"人口 desc, 年份"`` → ``[("人口", "DESC"), ("年份", "ASC")]``; unknown columns refused."""
    out: list[tuple[str, str]] = []
    for raw in (sort or "").split(","):
        col = raw.strip()
        if not col:
            continue
        direction = "ASC"
        for suffix in (" desc", " asc"):
            if col.lower().endswith(suffix):
                direction = suffix.strip().upper()
                col = col[: -len(suffix)].strip()
        col = col.strip('"')
        _check_columns([col], known, "排序 sort")
        out.append((col, direction))
    return out


def query(settings: Settings, ds: PublicDataset, dq: DatastoreQuery) -> tuple[pa.Table, int]:
    """Rows matching ``dq`` and the number of matching rows."""
    file = ds.file(settings)
    known = [c["name"] for c in ds.publication.columns]
    fields = list(dq.fields or [])
    _check_columns(fields, known, "fields")
    limit, offset = max(0, int(dq.limit)), max(0, int(dq.offset))
    if not dq.filters and not dq.q and not dq.sort and not dq.distinct:
        page, total = read_page([file], offset, limit)
        return (page.select(fields) if fields else page), total
    where: list[str] = []
    for col, value in (dq.filters or {}).items():
        _check_columns([col], known, "filters")
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values):
            raise InvalidInput("filters 的值须为文本、数字或它们的列表", "Filter values must be scalars or lists",
                               code="bad_filter_value")
        lits = ", ".join(_lit(v) for v in values) or "NULL"
        where.append(f"CAST({_ident(col)} AS VARCHAR) IN ({lits})")
    if isinstance(dq.q, Mapping):
        for col, text in dq.q.items():
            _check_columns([col], known, "q")
            where.append(f"CAST({_ident(col)} AS VARCHAR) ILIKE {_lit('%' + _escape_like(str(text)) + '%')} "
                         "ESCAPE '\\'")
    elif dq.q:
        pattern = _lit("%" + _escape_like(str(dq.q)) + "%")
        texts = [f"CAST({_ident(c)} AS VARCHAR) ILIKE {pattern} ESCAPE '\\'" for c in known]
        where.append("(" + " OR ".join(texts) + ")")
    select = ", ".join(_ident(f) for f in fields) if fields else "*"
    base = f"SELECT {'DISTINCT ' if dq.distinct else ''}{select} FROM t"
    if where:
        base += " WHERE " + " AND ".join(where)
    order = parse_sort(dq.sort, known)
    order_sql = (" ORDER BY " + ", ".join(f"{_ident(c)} {d}" for c, d in order)) if order else ""
    eng = DuckDBEngine(threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit)
    tables = {"t": TableSource("t", [file])}
    lim = Limits(timeout_s=settings.query_timeout_s)
    page = eng.query(f"{base}{order_sql} LIMIT {limit} OFFSET {offset}", tables, lim)
    total = int(eng.query(f"SELECT count(*) FROM ({base}) AS x", tables, lim).column(0)[0].as_py())
    return page, total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def preview(settings: Settings, ds: PublicDataset, rows: int = 20) -> pa.Table:
    return read_page([ds.file(settings)], 0, rows)[0]
