"""Query use cases: run a caller's SQL in the sandbox over the catalog's resources.

Called the same way by the API, the CLI and (later) sharing, the portal and the market.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import itertools
import math
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import IO, Any, TypeVar

import pyarrow as pa
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, ShudataError
from shudata.core.plugins import PluginManager
from shudata.core.types import Actor
from shudata.query.access import TableAccess
from shudata.query.actions import QUERY_RUN
from shudata.query.catalog_tables import CatalogResolver
from shudata.query.engines.base import Cancel, Engine
from shudata.query.engines.choose import duckdb_engine, files_size, make_engine, ran, routed_to_spark, spark_engine
from shudata.query.engines.dialects import for_engine
from shudata.query.errors import ACTION
from shudata.query.export import write_file
from shudata.query.limits import (
    PageWindow,
    bounded_batches,
    count_query,
    limits_for,
    page_query,
    row_sizes,
    row_too_large,
    rows_within,
)
from shudata.query.sandbox import Sandboxed, sandbox
from shudata.query.schemas import ColumnInfo, QueryResult, TableUsed
from shudata.security.authz import require

T = TypeVar("T")
EXPORT_BATCH_ROWS = 8192  # rows per batch of a download: a few MB in flight, not the result


def default_engine(settings: Settings) -> Engine:
    """The engine queries run on: the ``engine`` setting (DuckDB in-process unless set to spark)."""
    return make_engine(settings)


def local_engine(settings: Settings) -> Engine:
    """The in-process engine (DuckDB) for work over files the platform prepared itself on this
    node — masked files, their heads and pages, change files, uploads being profiled. That SQL is
    DuckDB's and the files are local, so it runs here whatever the ``engine`` setting says; the
    jobs over a resource's data (sandbox, quality, masked exports) follow the routing instead."""
    return duckdb_engine(settings)


def _route(resolver: CatalogResolver, settings: Settings, sql: str, cap: int, pinned: bool) -> Sandboxed:
    """The sandboxed statement for the resolver's engine. Unless the caller pinned an engine, a
    query reading a resource routed to Spark (``spark_resources``, ``spark_route_min_mb``) moves
    there: the sandbox's checks run first either way, then its tree is generated as Spark SQL."""
    checked = sandbox(sql, resolver, max_rows=cap + 1, dialect=resolver.engine.dialect)
    if pinned or resolver.engine.name == "spark":
        return _refused_early(checked)
    sized = settings.spark_route_min_mb is not None
    if any(routed_to_spark(settings, resource=u.resource.code,
                           size_bytes=files_size(u.source.files) if sized else None)
           for u in resolver.used.values()):
        resolver.engine = spark_engine(settings)
        checked = sandbox(sql, resolver, max_rows=cap + 1, dialect=resolver.engine.dialect)
    return _refused_early(checked)


def _refused_early(checked: Sandboxed) -> Sandboxed:
    """Generating Spark SQL refuses (422 ``spark_divergent``) what Spark would answer differently
    from DuckDB: done here, before a session opens or anything runs."""
    if checked.dialect == "spark":
        _ = checked.sql
    return checked


def run_query(*, session: Session, settings: Settings, actor: Actor, sql: str, offset: int = 0,
              limit: int | None = None, versions: Mapping[str, int] | None = None,
              access_overrides: Mapping[str, TableAccess] | None = None, count: bool = True,
              engine: Engine | None = None, plugins: PluginManager | None = None,
              cancel: Cancel | None = None) -> QueryResult:
    """Run ``sql`` for ``actor`` and return one page of the result.

    Args:
        sql: one read-only statement naming resources by code, alias or name.
        offset, limit: the page (``limit`` defaults to and is capped by ``page_size_max``).
        versions: resource (code/alias/name) -> version number, for time travel.
        access_overrides: resource -> extra :class:`TableAccess` restrictions, applied on top
            of those of the ``query_table_access`` hook (masking), or of the delivered view of a
            table read through a grant (``query_granted_table``).
        count: compute ``total`` with a second, counting run when the page does not tell.
        engine: the engine (default: DuckDB from the settings).
        plugins: the plugin manager whose ``query_table_access`` hook restricts the tables
            (default: the one of the runtime that made ``session``).
        cancel: a handle another thread may use to stop the statements (409 ``query_cancelled``).

    Raises:
        InvalidInput, NotFound, PermissionDenied, QueryTimeout, Conflict: refused, failed or
            cancelled queries.
    """
    require(actor, QUERY_RUN)
    pinned = engine is not None
    engine = engine or default_engine(settings)
    cap = settings.query_max_rows
    window = PageWindow.of(offset=offset, limit=limit, cap=cap, page_size_max=settings.page_size_max)
    resolver = CatalogResolver(session=session, settings=settings, actor=actor, engine=engine,
                               versions=versions, access_overrides=access_overrides, plugins=plugins)
    started = time.perf_counter()
    with _explained(resolver, sql):
        checked = _route(resolver, settings, sql, cap, pinned)
        engine = resolver.engine
        with engine.session(resolver.sources, replace(limits_for(settings), cancel=cancel)) as run:
            # the page query carries its own LIMIT: no second limit over the relation (a re-bind in DuckDB)
            page = run.query(for_engine(page_query(checked.tree, window), engine.dialect))
            shown, total, has_more, truncated = window.settle(fetched=page.num_rows, counted=None)
            if count and total is None and has_more:
                counted = run.query(for_engine(count_query(checked.tree), engine.dialect))
                shown, total, has_more, truncated = window.settle(fetched=page.num_rows,
                                                                  counted=int(counted.column(0)[0].as_py()))
        page = page.slice(0, shown)
        byte_capped = _byte_cap(page, settings.result_max_bytes)
    if byte_capped:
        page, shown, has_more = page.slice(0, byte_capped), byte_capped, True
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    ran_on = ran(engine, started, shown, "query.run", ",".join(t["code"] for t in resolver.audit_tables()) or None)
    resolver.deliver(shown, "json")  # tables read through a grant: its quota, its delivery log
    _audit(session, actor, sql, resolver, rows=shown, truncated=truncated, elapsed_ms=elapsed_ms,
           byte_capped=bool(byte_capped), ran_on=ran_on)
    return QueryResult(
        columns=[ColumnInfo(name=f.name, type=str(f.type)) for f in page.schema],
        rows=rows_of(page), offset=window.offset, limit=window.limit, total=total, has_more=has_more,
        truncated=truncated, max_rows=cap, elapsed_ms=elapsed_ms, tables=_used(resolver),
        next_offset=window.offset + shown if has_more else None, byte_capped=bool(byte_capped),
        max_bytes=settings.result_max_bytes, ran=ran_on)


def _byte_cap(page: pa.Table, max_bytes: int) -> int:
    """0 when the page fits in ``max_bytes``; else how many of its rows do (at least one:
    a first row that alone passes the limit is refused with 413)."""
    fit = rows_within(page, max_bytes)
    if fit >= page.num_rows:
        return 0
    if fit == 0:
        raise row_too_large(int(row_sizes(page.slice(0, 1))[0]), max_bytes, "result_max_bytes")
    return fit


@dataclass
class QueryExport:
    """A whole (capped) result written to a spooled file, for a streaming download."""

    file: IO[bytes]
    rows: int
    truncated: bool
    tables: list[TableUsed]


def export_query(*, session: Session, settings: Settings, actor: Actor, sql: str, fmt: str,
                 versions: Mapping[str, int] | None = None,
                 access_overrides: Mapping[str, TableAccess] | None = None,
                 engine: Engine | None = None, plugins: PluginManager | None = None,
                 cancel: Cancel | None = None, whole: bool = False) -> QueryExport:
    """Run ``sql`` for ``actor`` and write its result, up to the row cap, as ``fmt`` (csv, xlsx,
    parquet) into a spooled temporary file, batch by batch.

    Memory stays bounded whatever the result (batches from the engine, a file that waits on
    disk past 32 MB); the rows are measured batch by batch, and a result that passes
    ``download_max_bytes`` is refused (413) as soon as it does, before anything is sent.
    With ``whole``, a result longer than the row cap is refused (422 ``result_over_row_cap``)
    instead of written up to the cap: the file holds every row, or there is no file.
    """
    require(actor, QUERY_RUN)
    pinned = engine is not None
    engine = engine or default_engine(settings)
    cap = settings.query_max_rows
    resolver = CatalogResolver(session=session, settings=settings, actor=actor, engine=engine,
                               versions=versions, access_overrides=access_overrides, plugins=plugins)
    started = time.perf_counter()
    with _explained(resolver, sql):
        checked = _route(resolver, settings, sql, cap, pinned)
        engine = resolver.engine
        limits = replace(limits_for(settings, cap + 1), cancel=cancel)
        stream = engine.stream(checked.sql, resolver.sources, limits, batch_rows=EXPORT_BATCH_ROWS)
        try:
            first = next(stream, None)
            schema = first.schema if first is not None else engine.query(
                checked.sql, resolver.sources, replace(limits, max_rows=0)).schema
            taken = _RowCap(cap)
            batches = bounded_batches(taken.take(stream, first), settings.download_max_bytes, "download_max_bytes")
            out = write_file(fmt, schema, batches)
        finally:
            if isinstance(stream, Generator):
                stream.close()  # stops the engine and closes its connection when the cap ended the read
        if whole and taken.truncated:
            out.close()
            raise over_row_cap(cap)
        try:
            resolver.deliver(taken.rows, fmt)
        except BaseException:
            out.close()
            raise
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    _audit(session, actor, sql, resolver, rows=taken.rows, truncated=taken.truncated, elapsed_ms=elapsed_ms,
           export=True)
    return QueryExport(file=out, rows=taken.rows, truncated=taken.truncated, tables=_used(resolver))


def over_row_cap(cap: int) -> InvalidInput:
    """A whole-result download refused because the result passes the row cap (never cut silently)."""
    return InvalidInput(
        f"查询结果超过 {cap:,} 行的上限（设置 SHUDATA_QUERY_MAX_ROWS），无法导出完整结果，未生成文件；"
        "请增加筛选条件或用 LIMIT/OFFSET 分段导出",
        f"The result has more than the {cap:,}-row cap (setting SHUDATA_QUERY_MAX_ROWS), so it cannot be exported "
        "whole and no file was made; filter it or export it in parts with LIMIT/OFFSET",
        code="result_over_row_cap", details={"limit": cap, "setting": "SHUDATA_QUERY_MAX_ROWS"})


class _RowCap:
    """Pass batches through up to ``cap`` rows; note whether more came."""

    def __init__(self, cap: int) -> None:
        self.cap, self.rows, self.truncated = cap, 0, False

    def take(self, rest: Iterable[pa.RecordBatch], first: pa.RecordBatch | None) -> Iterator[pa.RecordBatch]:
        for batch in itertools.chain((first,) if first is not None else (), rest):
            room = self.cap - self.rows
            kept = batch.slice(0, room) if batch.num_rows > room else batch
            if kept.num_rows:
                self.rows += kept.num_rows
                yield kept
            if kept.num_rows < batch.num_rows:
                self.truncated = True
                return


@contextmanager
def _explained(resolver: CatalogResolver, sql: str) -> Iterator[None]:
    """Give every refusal audit details naming the query action and the SQL (first 2,000
    characters), and hide engine names from its message."""
    try:
        yield
    except ShudataError as raised:
        exc = resolver.explain(raised)  # a column outside a grant is named as such
        if not isinstance(exc.details, dict):
            exc.details = {}
        exc.details.setdefault("action", ACTION)
        exc.details.setdefault("resource_type", "query")
        exc.details.setdefault("sql", sql[:2000])
        exc.zh, exc.en = resolver.scrub(exc.zh), resolver.scrub(exc.en)
        exc.args = (exc.zh,)
        if exc is raised:
            raise
        raise exc from raised


def _used(resolver: CatalogResolver) -> list[TableUsed]:
    return [TableUsed(**t) for t in resolver.audit_tables()]


def _audit(session: Session, actor: Actor, sql: str, resolver: CatalogResolver, *, rows: int, truncated: bool,
           elapsed_ms: float, export: bool = False, byte_capped: bool = False,
           ran_on: dict[str, Any] | None = None) -> None:
    tables = resolver.audit_tables()
    record(session, actor, events.QueryRun(
        resource_id=",".join(t["code"] for t in tables)[:200] or None,
        details={"sql": sql[:4000], "tables": tables, "rows": rows, "truncated": truncated,
                 "elapsed_ms": elapsed_ms, "export": export, **({"byte_capped": True} if byte_capped else {}),
                 **({"ran": ran_on} if ran_on else {})}))


def json_value(value: Any) -> Any:
    """A JSON-friendly form of one cell (dates ISO, decimals exact strings, bytes base64).

    >>> json_value(dt.date(2024, 1, 2)), json_value(decimal.Decimal("1.50")), json_value(b"ab")
    ('2024-01-02', '1.50', 'YWI=')
    """
    converters: dict[type, Callable[[Any], Any]] = {
        dt.datetime: lambda v: v.isoformat(), dt.date: lambda v: v.isoformat(), dt.time: lambda v: v.isoformat(),
        dt.timedelta: str, decimal.Decimal: str, uuid.UUID: str,
        bytes: lambda v: base64.b64encode(v).decode("ascii"),
    }
    for kind, convert in converters.items():
        if isinstance(value, kind):
            return convert(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):  # NaN and infinities are not JSON
        return None if math.isnan(value) else str(value)
    return value


def rows_of(table: pa.Table) -> list[list[Any]]:
    """The rows of an Arrow table as lists of JSON-friendly values."""
    columns = [_python_values(table.column(i), table.column_names[i]) for i in range(table.num_columns)]
    return [[json_value(col[r]) for col in columns] for r in range(table.num_rows)]


def _python_values(column: pa.ChunkedArray, name: str) -> list[Any]:
    """The column's values; dates and times Python cannot hold (year 10000 on, DuckDB's
    ``infinity``) as Arrow writes them as text, ``±infinity`` for the infinities.

    >>> _python_values(pa.chunked_array([pa.array([2**63 - 1, 1], pa.timestamp("us"))]), "t")
    ['infinity', '1970-01-01 00:00:00.000001']
    """
    try:
        return column.to_pylist()
    except (OverflowError, ValueError):
        pass
    try:
        text = column.cast(pa.string()).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InvalidInput(f"结果列“{name}”中有超出范围的日期或时间，无法显示；请用 CAST(… AS VARCHAR) 转为文本",
                           f"Column {name!r} holds dates or times out of range; CAST it AS VARCHAR",
                           code="value_out_of_range") from None
    marker = "<value out of range: "
    return [("-infinity" if v[len(marker):].startswith("-") else "infinity")
            if isinstance(v, str) and v.startswith(marker) else v for v in text]
