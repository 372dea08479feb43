"""Rows of a published dataset: previews, CKAN ``datastore_search`` queries, downloads.

Everything reads the current publication's masked Parquet file (never the lake version).
The datastore reads it with its row ids: :func:`table_file` writes, once per publication, the
same rows with ``_id`` first — the row's ordinal in the published file, from 1 — so a row keeps
its ``_id`` whatever the filter, sort or page (CKAN's ``_id``), and SQL can select and filter it.
The unfiltered page is a slice through the lake's cached reader; filters, full-text ``q``
and sorting run in DuckDB with every identifier checked against the published columns and
every value passed as a quoted literal.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.lake.reader import read_page
from shudata.portal import downloads
from shudata.portal.gate import portal_dir
from shudata.portal.service import PublicDataset
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.sharing.locks import KeyedLocks

ROW_ID = "_id"
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


_BUILDING = KeyedLocks()


def table_file(settings: Settings, ds: PublicDataset) -> Path:
    """The publication's rows with ``_id`` first (the row's ordinal in the published file, from 1),
    written once per publication next to the portal's other files (temp file, then rename).
    A published column already named ``_id`` is kept as it is (no second one is added)."""
    pub = ds.publication
    dest = portal_dir(settings) / "datastore" / str(pub.resource_id) / f"p{pub.id}-{(pub.sha256 or '')[:16]}.parquet"
    if dest.exists():
        return dest
    with _BUILDING.hold(dest):
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = pq.ParquetFile(ds.file(settings))
        schema = src.schema_arrow
        if ROW_ID not in schema.names:
            schema = schema.insert(0, pa.field(ROW_ID, pa.int64(), nullable=False))
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as out:
                start = 1
                for i in range(src.num_row_groups):
                    group = src.read_row_group(i)
                    if ROW_ID not in group.column_names:
                        group = group.add_column(0, pa.field(ROW_ID, pa.int64(), nullable=False),
                                                 pa.array(range(start, start + group.num_rows), pa.int64()))
                    out.write_table(group.cast(schema))
                    start += group.num_rows
            tmp.replace(dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        downloads.tidy(dest.parent, current={dest.name.split(".", 1)[0]})  # older publications' tables
    return dest


def table_columns(ds: PublicDataset) -> list[str]:
    """The datastore table's columns: ``_id``, then the published ones."""
    names = [str(c["name"]) for c in ds.publication.columns]
    return names if ROW_ID in names else [ROW_ID, *names]


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


def query(settings: Settings, ds: PublicDataset, dq: DatastoreQuery, *, count: bool = True
          ) -> tuple[pa.Table, int | None]:
    """Rows matching ``dq`` (``_id`` first, unless ``fields`` leave it out) and the number of
    matching rows (``None`` when ``count`` is false and counting would cost a query)."""
    file = table_file(settings, ds)
    known = table_columns(ds)
    texts = [c for c in known if c != ROW_ID]
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
        texts_sql = [f"CAST({_ident(c)} AS VARCHAR) ILIKE {pattern} ESCAPE '\\'" for c in texts]
        where.append("(" + " OR ".join(texts_sql) + ")")
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
    if not count:
        return page, None
    total = int(eng.query(f"SELECT count(*) FROM ({base}) AS x", tables, lim).column(0)[0].as_py())
    return page, total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def preview(settings: Settings, ds: PublicDataset, rows: int = 20) -> pa.Table:
    return read_page([ds.file(settings)], 0, rows)[0]
