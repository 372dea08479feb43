"""Datastore actions: ``datastore_search`` (a page of a published file),
``datastore_search_sql`` (a sandboxed SELECT over published files) and ``datastore_info``
(a table's fields with their types, and its row count).

Every row has CKAN's ``_id``: its ordinal in the published file, from 1
(:func:`shudata.portal.data.table_file`), the same whatever the filter, sort or page, and a
column SQL can select and filter. ``records_format`` is ``objects``, ``lists``, ``csv`` or ``tsv``
(CKAN's: a string of rows without a header, the columns named by ``fields``); ``include_total=false``
leaves the count out (and its query). A ``limit`` above ``SHUDATA_DATASTORE_ROWS_MAX`` (CKAN's
``ckan.datastore.search.rows_max``, 32,000) is capped as CKAN caps it — ``limit`` in the result
is the one applied — and the answer says so (``limit_requested``, ``limit_capped``).

Rows are the gate-checked, published file only. Each action checks access itself: the
dataset must be visible (:func:`~shudata.portal.logic.packages.dataset_of_resource`) and, when
it is 有条件开放, the call's developer key must hold an approved application
(:func:`shudata.portal.developers.require_data_access`) — for every table a SQL query names.
Records are returned pre-encoded (``orjson.Fragment``): encode the result with
:func:`encode_result`.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import itertools
from collections.abc import Generator, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
import pyarrow as pa

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.config import Settings
from shudata.core.errors import ShudataError
from shudata.lake.reader import BytesLRU
from shudata.portal import ckan
from shudata.portal.data import FORMATS, ROW_ID, DatastoreQuery, resource_id, table_columns, table_file
from shudata.portal.data import query as datastore_query
from shudata.portal.developers import require_data_access
from shudata.portal.logic.context import Context
from shudata.portal.logic.packages import dataset_of_resource
from shudata.portal.logic.params import Params, invalid
from shudata.portal.service import PublicDataset
from shudata.query.access import ResolvedTable
from shudata.query.engines.base import TableSource, view_name
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.limits import collect_within, limits_for, row_sizes, row_too_large, rows_within
from shudata.query.sandbox import sandbox

SQL_ROWS_MAX = 32000  # the default of SHUDATA_DATASTORE_ROWS_MAX (CKAN's rows_max)
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")
SQL_MAX_CHARS = 20_000
# encoded datastore pages of immutable published files, with how many rows each holds
_PAGES: BytesLRU[tuple[int, bytes]] = BytesLRU(64 << 20)


def encode_default(value: Any) -> Any:
    """How values JSON has no type for are written (decimals as text, bytes as base64)."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def encode_result(body: Any) -> bytes:
    """An action's result (or CKAN envelope) as JSON bytes."""
    return orjson.dumps(body, default=encode_default)


def _records(table: pa.Table, fmt: str) -> bytes:
    """The rows as CKAN writes ``records``: objects, lists, or one CSV/TSV string (no header)."""
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    names = table.column_names
    rows = list(zip(*cols, strict=True)) if cols else []
    if fmt in ("csv", "tsv"):
        return orjson.dumps(_delimited(rows, "," if fmt == "csv" else "\t"))
    if fmt == "lists":
        return orjson.dumps([list(r) for r in rows], default=encode_default)
    return orjson.dumps([dict(zip(names, r, strict=True)) for r in rows], default=encode_default)


def _delimited(rows: list[tuple[Any, ...]], delimiter: str) -> str:
    r"""Rows as CSV/TSV text, one line each (``\n``); NULL is an empty field, dates ISO 8601.

    >>> _delimited([(1, "成都, 四川", None), (2, "二", True)], ",")
    '1,"成都, 四川",\n2,二,true\n'
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | decimal.Decimal):
        return encode_default(value)
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=encode_default).decode()
    return value


def _links(ctx: Context, params: Params, rid: str, offset: int, limit: int) -> dict[str, str]:
    keep = {k: v for k, v in params.values.items() if k not in ("offset", "resource_id", "id")
            and isinstance(v, str | int | float) and not isinstance(v, bool)}
    start = urlencode({"resource_id": rid, **keep})
    nxt = urlencode({"resource_id": rid, **keep, "offset": offset + limit})
    return {"start": f"{ctx.path}?{start}", "next": f"{ctx.path}?{nxt}"}


def datastore_search(ctx: Context, params: Params) -> dict[str, Any]:
    """Search a DataStore table: rows of a published (masked) file, as CKAN's ``datastore_search``.

    :param resource_id: the resource id (``<dataset>-<format>``) or the dataset name
    :param filters: JSON object, column → value or list of values (``_id`` too)
    :param q: full-text query (text), or JSON object column → text
    :param fields: the columns to return (list or comma-separated)
    :param sort: ``"column [asc|desc], …"`` (``_id`` too)
    :param limit: rows to return (default 100, capped at ``SHUDATA_DATASTORE_ROWS_MAX``, 32,000)
    :param offset: rows to skip
    :param distinct: distinct rows only
    :param records_format: ``objects`` (default), ``lists``, ``csv`` or ``tsv`` (a string, no header)
    :param include_total: count the matching rows (default true)
    :returns: ``fields``, ``records``, ``total``, ``limit``, ``offset``, ``_links``; ``_id`` is the
        row's stable ordinal in the published file
    """
    p, settings = params, ctx.settings
    rid = p.text("resource_id") or p.required("id")
    ds = dataset_of_resource(ctx.session, rid)
    require_data_access(ctx.session, ds, ctx.key)
    filters, q = p.json("filters"), p.json("q")
    if filters is not None and not isinstance(filters, dict):
        raise invalid("filters", "应为 JSON 对象", "Must be a JSON object")
    if q is not None and not isinstance(q, str | dict):
        raise invalid("q", "应为文本或 JSON 对象", "Must be text or a JSON object")
    fields = p.names("fields")
    fmt = p.text("records_format", "objects") or "objects"
    if fmt not in RECORDS_FORMATS:
        raise invalid("records_format", "只支持 objects、lists、csv 或 tsv", "Use objects, lists, csv or tsv")
    include_total = p.flag("include_total", True)
    requested = p.integer("limit", 100)
    limit = min(requested, settings.datastore_rows_max)  # capped as CKAN caps it at rows_max; stated below
    offset = p.integer("offset", 0)
    sort = p.text("sort")
    if sort and " ".join(sort.replace('"', "").split()).lower() in (ROW_ID, f"{ROW_ID} asc"):
        sort = None  # the file's own order
    cols = list(fields) if fields else table_columns(ds)
    dq = DatastoreQuery(filters=filters, q=q or None, fields=fields or None, sort=sort, limit=limit, offset=offset,
                        distinct=p.flag("distinct", False))
    key = (ds.publication.id, ds.publication.file, offset, limit, tuple(cols), fmt, settings.result_max_bytes)
    plain = not (filters or q or sort or dq.distinct)
    hit = _PAGES.get(key) if plain else None
    shown = limit
    total: int | None
    if hit is None:
        table, total = datastore_query(settings, ds, dq, count=include_total)
        fit = rows_within(table, settings.result_max_bytes)
        if fit < table.num_rows:  # the page is cut to the byte limit, and says so
            if fit == 0:
                raise row_too_large(int(row_sizes(table.slice(0, 1))[0]), settings.result_max_bytes,
                                    "result_max_bytes")
            table, shown = table.slice(0, fit), fit
        shown = min(shown, table.num_rows)
        body = _records(table, fmt)
        if plain and shown == min(limit, table.num_rows):
            _PAGES.put(key, (shown, body), nbytes=len(body))
    else:
        (shown, body), total = hit, ds.publication.rows
    ctx.used(ds)
    canonical = ckan.resource_of(rid, ds)
    out: dict[str, Any] = {
        "include_total": include_total, "limit": limit, "offset": offset, "records_format": fmt,
        "resource_id": canonical, "total_estimation_threshold": None,
        "fields": ckan.datastore_fields(ds.publication.columns, cols, ROW_ID in cols),
        "records": orjson.Fragment(body), "_links": _links(ctx, p, canonical, offset, max(shown, 1)),
        **({"filters": filters} if filters else {}), **({"q": q} if q else {}), **({"sort": sort} if sort else {}),
    }
    if include_total:
        out["total"], out["total_was_estimated"] = total, False
    more = total is None or offset + shown < total
    if requested > limit:
        out["limit_requested"] = requested
        out["limit_capped"] = _limit_capped(limit, requested, offset + shown if more else None)
    if shown < limit and (total is None or offset + shown < total):
        out["records_capped"] = _capped(settings, shown, offset + shown)
    return out


def datastore_info(ctx: Context, params: Params) -> dict[str, Any]:
    """CKAN's ``datastore_info``: the table's fields (``_id`` left out, as CKAN does) with their
    types, and ``meta`` — row count, table type, the ids the table answers to (aliases) and the
    size of the published file.

    :param id: the resource id (``<dataset>-<format>``) or the dataset name
    """
    rid = params.text("resource_id") or params.required("id")
    ds = dataset_of_resource(ctx.session, rid)
    require_data_access(ctx.session, ds, ctx.key)
    canonical = ckan.resource_of(rid, ds)
    names = [ds.name, *(resource_id(ds, f) for f in FORMATS), ds.resource.code]
    if ds.resource.alias:
        names.append(ds.resource.alias)
    pub = ds.publication
    fields = [{"id": str(c["name"]), "type": ckan.ckan_type(str(c.get("type", "string"))),
               "schema": {"native_type": str(c.get("type", "string")), "notnull": False, "is_index": False,
                          "uniquekey": False}}
              for c in pub.columns if c["name"] != ROW_ID]
    ctx.used(ds)
    return {"meta": {"id": canonical, "count": pub.rows, "table_type": "BASE TABLE",
                     "aliases": sorted({n for n in names if n != canonical}), "size": pub.bytes,
                     "version": pub.version},
            "fields": fields}


def _limit_capped(limit: int, requested: int, next_offset: int | None) -> dict[str, Any]:
    """How a page whose requested ``limit`` passed the maximum says so (CKAN caps it the same
    way, at ``ckan.datastore.search.rows_max``): the limit applied and where the rest is."""
    rest_zh = f"其余行从 offset={next_offset} 继续获取（_links.next），或下载整个数据集" if next_offset is not None \
        else "这已是最后一页"
    rest_en = f"fetch the rest from offset={next_offset} (_links.next), or download the whole dataset" \
        if next_offset is not None else "this is the last page"
    return {"reason": "rows_max", "limit": limit, "limit_requested": requested, "next_offset": next_offset,
            "message": f"每次最多 {limit} 行（设置 SHUDATA_DATASTORE_ROWS_MAX，同 CKAN 的 "
                       f"ckan.datastore.search.rows_max），请求的 limit={requested} 已按 {limit} 行返回；{rest_zh}",
            "message_en": f"A call returns at most {limit} records (setting SHUDATA_DATASTORE_ROWS_MAX, as CKAN's "
                          f"ckan.datastore.search.rows_max); the requested "
                          f"limit={requested} was capped to {limit}; {rest_en}"}


def _capped(settings: Settings, records: int, next_offset: int | None) -> dict[str, Any]:
    """How a byte-capped answer says so: why, the limit, what it holds and where the rest is."""
    where_zh = f"其余行从 offset={next_offset} 继续获取" if next_offset is not None else \
        "请少选列，或在 SQL 中用 LIMIT/OFFSET 分段获取其余行"
    where_en = f"fetch the rest from offset={next_offset}" if next_offset is not None else \
        "select fewer columns, or fetch the rest in parts with LIMIT/OFFSET in the SQL"
    return {"reason": "bytes", "max_bytes": settings.result_max_bytes, "records": records,
            "next_offset": next_offset,
            "message": f"结果超过单次答复的字节上限 {settings.result_max_bytes}（设置 SHUDATA_RESULT_MAX_BYTES），"
                       f"只返回了前 {records} 行；{where_zh}",
            "message_en": f"The result passes the {settings.result_max_bytes}-byte limit of one answer (setting "
                          f"SHUDATA_RESULT_MAX_BYTES); only the first {records} records are returned; {where_en}"}


def datastore_search_sql(ctx: Context, params: Params) -> dict[str, Any]:
    """Run one read-only SQL SELECT over DataStore tables (the resource ids, double-quoted; each
    has ``_id``) in the platform's SQL sandbox, as CKAN's ``datastore_search_sql``.

    :param sql: the SELECT statement
    :returns: ``records``, ``fields``, ``records_truncated`` (more rows than
        ``SHUDATA_DATASTORE_ROWS_MAX`` matched)
    """
    sql = params.required("sql")
    if len(sql) > SQL_MAX_CHARS:
        raise invalid("sql", "过长（最多 20,000 字）", "Too long (20,000 characters at most)")
    settings = ctx.settings
    used: dict[str, tuple[PublicDataset, TableSource]] = {}

    def resolve(name: str) -> ResolvedTable:
        ds = dataset_of_resource(ctx.session, name)
        require_data_access(ctx.session, ds, ctx.key)
        if ds.name not in used:  # the published rows with their _id (a column like any other here)
            file = table_file(settings, ds)
            used[ds.name] = (ds, TableSource(view_name(settings.secret_key, [file]), [file]))
        d, src = used[ds.name]
        return ResolvedTable(source=src.name, columns=tuple(table_columns(d)), label=ckan.resource_of(name, d))

    rows_max = settings.datastore_rows_max
    try:
        checked = sandbox(sql, resolve, max_rows=rows_max + 1)
        engine = DuckDBEngine(threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit)
        table, capped = _sql_rows(engine, checked.sql, {s.name: s for _, s in used.values()}, settings, rows_max)
    except ShudataError as exc:
        for d, src in used.values():
            exc.zh, exc.en = exc.zh.replace(src.name, d.name), exc.en.replace(src.name, d.name)
        if isinstance(exc.details, dict):
            exc.details = {**exc.details, "action": "portal.api.datastore_search_sql", "sql": sql[:2000]}
        raise
    truncated = table.num_rows > rows_max
    table = table.slice(0, rows_max)
    for d, _ in used.values():
        ctx.used(d)
    record(ctx.session, ctx.actor, events.PortalApiDatastoreSearchSql(
        resource_id=",".join(used)[:200] or None,
        details={"sql": sql[:4000], "rows": table.num_rows,
                 **({"byte_capped": True} if capped else {})}))
    out: dict[str, Any] = {"sql": sql, "records": orjson.Fragment(_records(table, "objects")),
                           "fields": [{"id": f.name, "type": ckan.ckan_type(str(f.type))} for f in table.schema],
                           "records_truncated": truncated or capped}
    if truncated:
        out["limit"] = rows_max
    if capped:
        out["records_capped"] = _capped(settings, table.num_rows, None)
    return out


def _sql_rows(engine: DuckDBEngine, sql: str, tables: Mapping[str, TableSource], settings: Settings,
              rows_max: int) -> tuple[pa.Table, bool]:
    """The rows of ``sql`` (at most ``rows_max + 1``) read batch by batch until they pass
    ``result_max_bytes``; and whether that limit cut them."""
    stream = engine.stream(sql, tables, limits_for(settings, rows_max + 1))
    try:
        first = next(stream, None)
        if first is None:
            return engine.query(sql, tables, limits_for(settings, 0)), False
        return collect_within(first.schema, itertools.chain([first], stream), settings.result_max_bytes,
                              "result_max_bytes")
    finally:
        if isinstance(stream, Generator):
            stream.close()  # stops the engine and closes its connection when the limit ended the read
