"""Datastore actions: ``datastore_search`` (a page of a published file) and
``datastore_search_sql`` (a sandboxed SELECT over published files).

Rows are the gate-checked, published file only. Each action checks access itself: the
dataset must be visible (:func:`~shudata.portal.logic.packages.dataset_of_resource`) and, when
it is 有条件开放, the call's developer key must hold an approved application
(:func:`shudata.portal.developers.require_data_access`) — for every table a SQL query names.
Records are returned pre-encoded (``orjson.Fragment``): encode the result with
:func:`encode_result`.
"""

from __future__ import annotations

import base64
import decimal
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
from shudata.portal.data import DatastoreQuery
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

SQL_ROWS_MAX = 32000
SQL_MAX_CHARS = 20_000
_PAGES = BytesLRU(64 << 20)  # encoded datastore pages of immutable published files


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


def _records(table: pa.Table, offset: int, fmt: str, with_id: bool) -> bytes:
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    names = table.column_names
    ids = range(offset + 1, offset + table.num_rows + 1)
    if fmt == "lists":
        rows: list[Any] = [[i, *r] for i, r in zip(ids, zip(*cols, strict=True), strict=False)] if with_id \
            else [list(r) for r in zip(*cols, strict=True)]
    else:
        keys = ["_id", *names] if with_id else names
        rows = [dict(zip(keys, (i, *r) if with_id else r, strict=True))
                for i, r in zip(ids, zip(*cols, strict=True), strict=False)]
    if not names:
        rows = [[i] if fmt == "lists" else {"_id": i} for i in ids] if with_id else []
    return orjson.dumps(rows, default=encode_default)


def _links(ctx: Context, params: Params, rid: str, offset: int, limit: int) -> dict[str, str]:
    keep = {k: v for k, v in params.values.items() if k not in ("offset", "resource_id", "id")
            and isinstance(v, str | int | float) and not isinstance(v, bool)}
    start = urlencode({"resource_id": rid, **keep})
    nxt = urlencode({"resource_id": rid, **keep, "offset": offset + limit})
    return {"start": f"{ctx.path}?{start}", "next": f"{ctx.path}?{nxt}"}


def datastore_search(ctx: Context, params: Params) -> dict[str, Any]:
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
    if fmt not in ("objects", "lists"):
        raise invalid("records_format", "只支持 objects 或 lists", "Only objects and lists are supported")
    requested = p.integer("limit", 100)
    limit = min(requested, settings.page_size_max)  # as CKAN's ckan.datastore.search.rows_max; stated below
    offset = p.integer("offset", 0)
    sort = p.text("sort")
    if sort and sort.strip().strip('"').lower() in ("_id", "_id asc"):
        sort = None
    with_id = not fields or "_id" in fields
    cols = [f for f in fields or [] if f != "_id"]
    dq = DatastoreQuery(filters=filters, q=q or None, fields=cols or None, sort=sort, limit=limit, offset=offset,
                        distinct=p.flag("distinct", False))
    key = (ds.publication.file, offset, limit, tuple(cols), fmt, with_id, settings.result_max_bytes)
    plain = not (filters or q or sort or dq.distinct)
    body = _PAGES.get(key) if plain else None
    table: pa.Table | None = None
    shown = limit
    if body is None:
        table, total = datastore_query(settings, ds, dq)
        fit = rows_within(table, settings.result_max_bytes)
        if fit < table.num_rows:  # the page is cut to the byte limit, and says so
            if fit == 0:
                raise row_too_large(int(row_sizes(table.slice(0, 1))[0]), settings.result_max_bytes,
                                    "result_max_bytes")
            table, shown = table.slice(0, fit), fit
        body = _records(table, offset, fmt, with_id)
        if plain and shown == limit:
            _PAGES.put(key, body)
    else:
        total = ds.publication.rows
    ctx.used(ds)
    canonical = ckan.resource_of(rid, ds)
    out = {"include_total": True, "limit": limit, "offset": offset, "records_format": fmt,
           "resource_id": canonical, "total_estimation_threshold": None,
           "fields": ckan.datastore_fields(ds.publication.columns, cols or None, with_id),
           "records": orjson.Fragment(body), "_links": _links(ctx, p, canonical, offset, shown),
           "total": total, "total_was_estimated": False}
    if requested > limit:
        out["limit_requested"] = requested
        out["limit_capped"] = _limit_capped(limit, requested, offset + shown if offset + shown < total else None)
    if shown < limit:
        out["records_capped"] = _capped(settings, shown, offset + shown)
    return out


def _limit_capped(limit: int, requested: int, next_offset: int | None) -> dict[str, Any]:
    """How a page whose requested ``limit`` passed the maximum says so (CKAN caps it the same
    way, at ``ckan.datastore.search.rows_max``): the limit applied and where the rest is."""
    rest_zh = f"其余行从 offset={next_offset} 继续获取（_links.next），或下载整个数据集" if next_offset is not None \
        else "这已是最后一页"
    rest_en = f"fetch the rest from offset={next_offset} (_links.next), or download the whole dataset" \
        if next_offset is not None else "this is the last page"
    return {"reason": "rows_max", "limit": limit, "limit_requested": requested, "next_offset": next_offset,
            "message": f"每页最多 {limit} 行（设置 SHUDATA_PAGE_SIZE_MAX），请求的 limit={requested} "
                       f"已按 {limit} 行返回；{rest_zh}",
            "message_en": f"A page holds at most {limit} records (setting SHUDATA_PAGE_SIZE_MAX); the requested "
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
    sql = params.required("sql")
    if len(sql) > SQL_MAX_CHARS:
        raise invalid("sql", "过长（最多 20,000 字）", "Too long (20,000 characters at most)")
    settings = ctx.settings
    used: dict[str, tuple[PublicDataset, TableSource]] = {}

    def resolve(name: str) -> ResolvedTable:
        ds = dataset_of_resource(ctx.session, name)
        require_data_access(ctx.session, ds, ctx.key)
        if ds.name not in used:
            file = ds.file(settings)
            used[ds.name] = (ds, TableSource(view_name(settings.secret_key, [file]), [file]))
        d, src = used[ds.name]
        return ResolvedTable(source=src.name, columns=tuple(str(col["name"]) for col in d.publication.columns),
                             label=ckan.resource_of(name, d))

    try:
        checked = sandbox(sql, resolve, max_rows=SQL_ROWS_MAX + 1)
        engine = DuckDBEngine(threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit)
        table, capped = _sql_rows(engine, checked.sql, {s.name: s for _, s in used.values()}, settings)
    except ShudataError as exc:
        for d, src in used.values():
            exc.zh, exc.en = exc.zh.replace(src.name, d.name), exc.en.replace(src.name, d.name)
        if isinstance(exc.details, dict):
            exc.details = {**exc.details, "action": "portal.api.datastore_search_sql", "sql": sql[:2000]}
        raise
    truncated = table.num_rows > SQL_ROWS_MAX
    table = table.slice(0, SQL_ROWS_MAX)
    for d, _ in used.values():
        ctx.used(d)
    record(ctx.session, ctx.actor, events.PortalApiDatastoreSearchSql(
        resource_id=",".join(used)[:200] or None,
        details={"sql": sql[:4000], "rows": table.num_rows,
                 **({"byte_capped": True} if capped else {})}))
    out = {"sql": sql, "records": orjson.Fragment(_records(table, 0, "objects", False)),
           "fields": [{"id": f.name, "type": ckan.ckan_type(str(f.type))} for f in table.schema],
           "records_truncated": truncated or capped}
    if capped:
        out["records_capped"] = _capped(settings, table.num_rows, None)
    return out


def _sql_rows(engine: DuckDBEngine, sql: str, tables: Mapping[str, TableSource], settings: Settings
              ) -> tuple[pa.Table, bool]:
    """The rows of ``sql`` (at most ``SQL_ROWS_MAX + 1``) read batch by batch until they pass
    ``result_max_bytes``; and whether that limit cut them."""
    stream = engine.stream(sql, tables, limits_for(settings, SQL_ROWS_MAX + 1))
    try:
        first = next(stream, None)
        if first is None:
            return engine.query(sql, tables, limits_for(settings, 0)), False
        return collect_within(first.schema, itertools.chain([first], stream), settings.result_max_bytes,
                              "result_max_bytes")
    finally:
        if isinstance(stream, Generator):
            stream.close()  # stops the engine and closes its connection when the limit ended the read
