"""Masked delivery under a grant: the one place where shared data leaves the provider.

A grant becomes a :class:`~shudata.query.access.TableAccess` — its fields, the provider's
row filter (on raw values: the provider's decision) and the masking profile's column
rewrites — applied by the engine over the version's Parquet files. REST pages, downloads,
the incremental feed and Delta Sharing files all come from :func:`grant_view`.

What the *caller* adds — a filter, a sort, the key of the incremental feed — runs over the
masked file of the view (:func:`masked_file`), never over the lake version, so nothing a
consumer can observe (rows, ``total``, order, errors, timings) depends on a value it
receives masked (:mod:`shudata.sharing.narrow`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, LimitExceeded, PayloadTooLarge
from shudata.core.types import Actor
from shudata.lake.export import XLSX_MAX_ROWS
from shudata.lake.measure import row_sizes
from shudata.lake.models import LakeVersion
from shudata.lake.reader import iter_batches, layout, read_page
from shudata.lake.service import get_version, version_files
from shudata.query.access import TableAccess, access_subquery
from shudata.query.engines.base import Engine, Limits, ScalarUdf, TableSource
from shudata.query.engines.choose import engine_for
from shudata.query.engines.dialects import for_engine
from shudata.query.service import local_engine
from shudata.security.crypto.sm3 import sm3_hex
from shudata.sharing.filters import combine, validate_row_filter
from shudata.sharing.grants import active_grant
from shudata.sharing.locks import KeyedLocks
from shudata.sharing.masking import Masking, masking_for, masking_state
from shudata.sharing.models import SharingDelivery, SharingGrant
from shudata.sharing.narrow import narrowing, quoted

CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class GrantView:
    """What one consumer may receive of one version, ready to run."""

    grant: SharingGrant
    resource: CatalogResource
    version: LakeVersion
    source: TableSource
    sql: str  # SELECT over the source with fields, filters and masking applied
    udfs: tuple[ScalarUdf, ...] = ()  # vectorised functions the masking calls (pseudonyms, SM4 …)

    @property
    def tables(self) -> dict[str, TableSource]:
        return {self.source.name: self.source}

    def engine(self, settings: Settings) -> Engine:
        """The in-process engine with this view's masking functions registered."""
        return local_engine(settings).with_udfs(self.udfs)  # type: ignore[attr-defined]

    def export_engine(self, settings: Settings) -> Engine:
        """The engine the whole masked export runs on: Spark when the operator routes the
        resource there (``spark_resources``, ``spark_route_min_mb``, ``engine``), else the default."""
        eng = engine_for(settings, resource=self.resource.code, files=self.source.files)
        return eng.with_udfs(self.udfs)  # type: ignore[attr-defined]


def grant_access(grant: SharingGrant, stored: list[str], masking: Masking) -> TableAccess:
    """The grant as a TableAccess: fields ∩ stored columns, the provider's row filter, masking rewrites.

    Only the provider's terms are evaluated on raw values here; a caller's filter and sort
    run later, over the delivered values (:func:`fetch_page`).
    """
    fields = [f for f in grant.fields if f in stored]
    if not fields:
        raise InvalidInput("授权的信息项在该数据版本中都不存在", "None of the granted fields exist in this version",
                           code="no_granted_fields")
    row_filter = validate_row_filter(grant.row_filter, stored) if grant.row_filter else None
    masks = {c: e for c, e in masking.column_exprs.items() if c in fields}
    return TableAccess(columns=tuple(fields), row_filter=combine([row_filter]), column_exprs=masks)


def grant_view(*, session: Session, settings: Settings, actor: Actor, resource_key: str,
               version: int | None = None, source: str = "granted") -> GrantView:
    """Check the grant (403 when none, expired or revoked) and build the masked query."""
    resource = find_resource(session, resource_key)
    grant = active_grant(session=session, actor=actor, resource=resource)
    return view_of(session=session, settings=settings, grant=grant, resource=resource,
                   version=get_version(session, resource.id, version), source=source)


def view_of(*, session: Session, settings: Settings, grant: SharingGrant, resource: CatalogResource,
            version: LakeVersion, source: str = "granted") -> GrantView:
    """The masked query of ``grant`` over ``version``, the grant being already checked (by
    :func:`grant_view` for a caller, by :mod:`shudata.sharing.prepare` for the platform)."""
    v = version
    table = TableSource(name=source, files=version_files(settings, v))
    key = (grant.id, tuple(grant.fields), grant.row_filter, grant.masking_profile, resource.id, v.version,
           masking_state(session, resource, v, grant.masking_profile), source, str(settings.lake_dir))
    compiled = _VIEWS.get(key)
    if compiled is None:
        schema = layout(table.files).schema  # cached Parquet metadata of the immutable version
        masking = masking_for(session, settings, resource, v, table, schema, grant.masking_profile)
        access = grant_access(grant, schema.names, masking)
        compiled = (access_subquery(source, schema.names, access).sql("duckdb"), masking.udfs)
        with _VIEWS_LOCK:  # the background preparer compiles views too
            if len(_VIEWS) >= 512:
                _VIEWS.pop(next(iter(_VIEWS)))
            _VIEWS[key] = compiled
    return GrantView(grant=grant, resource=resource, version=v, source=table, sql=compiled[0], udfs=compiled[1])


# Compiled views keyed by everything they depend on: the grant's terms, the immutable version,
# the policy revision and scan report. A changed input is a new key.
_VIEWS: dict[tuple[object, ...], tuple[str, tuple[ScalarUdf, ...]]] = {}
_VIEWS_LOCK = threading.Lock()


def forget_views() -> None:
    """Drop the compiled views (for tests and benchmarks)."""
    with _VIEWS_LOCK:
        _VIEWS.clear()


def _day_start() -> dt.datetime:
    now = utcnow().astimezone(CST)
    return now.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def check_quota(session: Session, grant: SharingGrant, rows_wanted: int) -> None:
    """Refuse with 429 (and the reset time) when the day's call or row quota is used up."""
    if grant.quota_calls_per_day is None and grant.quota_rows_per_day is None:
        return
    since = _day_start()
    used = select(func.count(SharingDelivery.id), func.coalesce(func.sum(SharingDelivery.rows), 0)).where(
        SharingDelivery.grant_id == grant.id, SharingDelivery.delivered_at >= since)
    calls, rows = session.execute(used).one()
    reset = since + dt.timedelta(days=1)
    when = f"{reset.astimezone(CST):%Y-%m-%d %H:%M}"
    retry = int((reset - utcnow()).total_seconds()) + 1
    details = {"action": "sharing.grant.use", "reset": reset.isoformat()}
    if grant.quota_calls_per_day is not None and calls >= grant.quota_calls_per_day:
        raise LimitExceeded(f"今日调用次数已达授权上限 {grant.quota_calls_per_day} 次，将于 {when} 重置",
                            f"Daily call quota reached; resets at {reset.isoformat()}", retry_after=retry,
                            details=details, code="daily_call_quota")
    if grant.quota_rows_per_day is not None and rows + rows_wanted > grant.quota_rows_per_day:
        raise LimitExceeded(f"今日获取行数将超过授权上限 {grant.quota_rows_per_day} 行，将于 {when} 重置",
                            f"Daily row quota would be exceeded; resets at {reset.isoformat()}",
                            retry_after=retry, details=details, code="daily_row_quota")


def log_delivery(session: Session, actor: Actor, view: GrantView, *, rows: int, fmt: str, channel: str) -> None:
    session.add(SharingDelivery(grant_id=view.grant.id, version=view.version.version, rows=rows, format=fmt,
                                channel=channel, recipient=actor.username))
    record(session, actor, events.SharingDataDeliver(
        resource_id=view.resource.code,
        details={"grant": view.grant.id, "version": view.version.version, "rows": rows,
                 "format": fmt, "channel": channel}))


def masked_file_path(settings: Settings, view: GrantView) -> Path:
    """Where the whole masked view is kept: the name hashes everything the view depends on."""
    state = sm3_hex(json.dumps([view.grant.id, view.version.version, view.sql], ensure_ascii=False).encode())
    return settings.data_dir / "delivery" / f"g{view.grant.id}" / f"v{view.version.version}-{state[:16]}.parquet"


def masked_file(settings: Settings, view: GrantView) -> Path:
    """The whole masked view as one Parquet file, written once per (grant state, version).

    Versions never change and the name hashes everything the view depends on (fields,
    filters, masking SQL), so a cached file is always exactly what the grant allows; the
    grant itself is re-checked on every call before a file is used. The file is usually
    ready: :mod:`shudata.sharing.prepare` writes it in the background when the grant is
    made or the entry gets a new version; a call arriving while it is being written waits
    for that writer instead of writing it a second time.
    """
    path = masked_file_path(settings, view)
    if path.exists():
        return path
    with _BUILDING.hold(path):
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            export_parquet(settings=settings, view=view, dest=path)
    return path


_BUILDING = KeyedLocks()


def fetch_page(*, session: Session, settings: Settings, actor: Actor, view: GrantView, offset: int,
               limit: int, channel: str = "rest", filter: str | None = None,
               sort: str | None = None) -> tuple[pa.Table, int]:
    """One page of masked rows and the total row count; quota checked, delivery logged.

    The caller's ``filter`` (a narrower row filter, never a wider one) and ``sort`` (``"信息项
    [asc|desc], …"``) are checked against the delivered columns and run in the engine over the
    masked file, so they see the values as delivered; without them the page is a slice of
    that file (the same fast reader as internal reads).

    ``limit`` is used as given (at least 1) up to the channel's maximum
    (:func:`page_limit`); a caller that lets it be capped must say so in its answer — the REST
    route states ``limit`` and ``limit_requested`` and links the next page.
    """
    limit = page_limit(settings, limit, channel)
    path = masked_file(settings, view)
    narrow = narrowing(filter, sort, layout([path]).schema.names)
    check_quota(session, view.grant, limit)
    if narrow.active:
        engine = local_engine(settings)  # plain in-process engine: the file is already masked, no masking functions
        lim = Limits(timeout_s=settings.query_timeout_s)
        delivered = {"g": TableSource(name="g", files=[path])}
        page = engine.query(f"{narrow.select('g')} LIMIT {limit} OFFSET {max(0, offset)}", delivered, lim)
        total = int(engine.query(narrow.count("g"), delivered, lim).column(0)[0].as_py())
    else:
        page, total = read_page([path], max(0, offset), limit)
    log_delivery(session, actor, view, rows=page.num_rows, fmt="json", channel=channel)
    return page, total


def page_limit(settings: Settings, limit: int, channel: str = "rest") -> int:
    """The page size actually served for a requested ``limit``: at least 1, at most
    ``page_size_max`` (REST) or ``query_max_rows`` (other channels)."""
    return max(1, min(limit, settings.page_size_max if channel == "rest" else settings.query_max_rows))


@dataclass
class Delivery:
    """Rows leaving as one file: the whole (narrowed) masked view, or the slice a caller asked for.

    ``rows`` is what the file holds, ``total`` what the whole (narrowed) view holds;
    ``path`` is set when the file is exactly the masked file (whole, no filter or sort), so
    it can be sent as it is. ``batches`` yields the rows once, in order.
    """

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    rows: int
    total: int
    offset: int
    limit: int | None
    path: Path | None = None

    @property
    def whole(self) -> bool:
        return self.rows == self.total


def fetch_file(*, session: Session, settings: Settings, actor: Actor, view: GrantView, fmt: str,
               offset: int | None = None, limit: int | None = None, channel: str = "rest",
               filter: str | None = None, sort: str | None = None, record: bool = True) -> Delivery:
    """The rows of a download: every row of the masked view (narrowed by the caller's ``filter``
    and ordered by ``sort``, as :func:`fetch_page`), or — when the caller gives ``offset`` or
    ``limit`` — exactly that slice, nothing silently cut. The day's row quota is checked for
    the rows the file will hold, before any is written; the delivery is logged with that count.
    With ``record`` false neither is done: the caller prepares a file that no one receives yet
    (:mod:`shudata.sharing.files` charges and logs when its bytes leave).

    An XLSX file holds at most 1,048,575 rows: more is refused (422) before any work, never cut.
    """
    path = masked_file(settings, view)
    lay = layout([path])
    narrow = narrowing(filter, sort, lay.schema.names)
    start = max(0, offset or 0)
    sliced = offset is not None or limit is not None
    engine = local_engine(settings)  # plain in-process engine: the file is already masked
    lim = Limits(timeout_s=max(settings.query_timeout_s, 600))
    delivered = {"g": TableSource(name="g", files=[path])}
    total = int(engine.query(narrow.count("g"), delivered, lim).column(0)[0].as_py()) if narrow.active \
        else lay.total
    rows = max(0, min(total - start, limit if limit is not None else total))
    if fmt == "xlsx" and rows > XLSX_MAX_ROWS:
        raise InvalidInput(
            f"要下载的数据有 {rows} 行，超过 XLSX 上限 {XLSX_MAX_ROWS} 行；请下载 CSV 或 Parquet，"
            "或用 offset/limit 分段下载 XLSX",
            f"{rows} rows exceed the XLSX limit of {XLSX_MAX_ROWS}; download CSV or Parquet, or XLSX in parts "
            "with offset/limit", code="too_many_rows_for_xlsx",
            details={"rows": rows, "max_rows": XLSX_MAX_ROWS})
    if record:
        check_quota(session, view.grant, rows)
    batches: Iterator[pa.RecordBatch]
    if narrow.active:
        window = f" LIMIT {rows} OFFSET {start}" if sliced else ""
        batches = engine.stream(f"{narrow.select('g')}{window}", delivered, lim)
    elif sliced:
        batches = _slice_batches(path, start, rows)
    else:
        batches = iter_batches([path])
    if record:
        log_delivery(session, actor, view, rows=rows, fmt=fmt, channel=channel)
    return Delivery(schema=lay.schema, batches=_conformed(batches, lay.schema), rows=rows, total=total,
                    offset=start, limit=limit, path=path if not (narrow.active or sliced) else None)


def _conformed(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The batches with the masked file's schema (the engine's result drops ``not null``, which
    a Parquet writer opened with the file's schema refuses)."""
    for batch in batches:
        yield batch if batch.schema.equals(schema) else batch.cast(schema)


def _slice_batches(path: Path, offset: int, rows: int, step: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Rows ``offset`` … ``offset + rows`` of the masked file, a row group's worth at a time."""
    pos, end = offset, offset + rows
    while pos < end:
        page, _ = read_page([path], pos, min(step, end - pos))
        if page.num_rows == 0:
            return
        yield from page.to_batches()
        pos += page.num_rows


def export_parquet(*, settings: Settings, view: GrantView, dest: Path) -> int:
    """Write the whole masked view to ``dest`` (atomic: temp file then rename)."""
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.tmp")  # one per writer
    try:
        eng = view.export_engine(settings)  # the view is DuckDB SQL: Spark gets the same answers or a 422
        sql = for_engine(f"SELECT * FROM ({view.sql}) AS g", eng.dialect, [u.name for u in view.udfs])
        rows = eng.copy_to_parquet(sql, view.tables, tmp,
                                   Limits(timeout_s=max(settings.query_timeout_s, 600)))
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def changes_since(*, session: Session, settings: Settings, actor: Actor, resource_key: str, since_version: int,
                  key: str) -> tuple[GrantView, pa.Table]:
    """Rows added or changed since version ``since_version`` (by the declared ``key`` column)."""
    view = grant_view(session=session, settings=settings, actor=actor, resource_key=resource_key)
    if key not in view.grant.fields:
        raise InvalidInput(f"增量键“{key}”不在授权的信息项中", f"Key {key!r} is not a granted field",
                           code="field_not_granted")
    old = grant_view(session=session, settings=settings, actor=actor, resource_key=resource_key,
                     version=since_version, source="previous")
    check_quota(session, view.grant, 0)
    # Both sides are the masked files: what changed is what changed in the delivered values.
    cur_path, old_path = masked_file(settings, view), masked_file(settings, old)
    columns = layout([cur_path]).schema.names
    order = ", ".join([quoted(key)] + [quoted(c) for c in columns if c != key])
    sql = f"SELECT * FROM cur EXCEPT SELECT * FROM prev ORDER BY {order}"
    cap = settings.query_max_rows
    lim = Limits(timeout_s=settings.query_timeout_s, max_rows=cap + 1)
    table = local_engine(settings).query(sql, {"cur": TableSource(name="cur", files=[cur_path]),
                                                 "prev": TableSource(name="prev", files=[old_path])}, lim)
    _changes_fit(table, cap, settings.result_max_bytes, since_version)
    log_delivery(session, actor, view, rows=table.num_rows, fmt="json", channel="rest-incremental")
    return view, table


def _changes_fit(table: pa.Table, cap: int, max_bytes: int, since_version: int) -> None:
    """The incremental answer is whole or refused (413), never cut: more than ``cap`` rows or
    ``max_bytes`` bytes of changes is a case for the whole version's download."""
    size = int(row_sizes(table).sum()) if table.num_rows else 0
    if table.num_rows <= cap and size <= max_bytes:
        return
    raise PayloadTooLarge(
        f"自版本 {since_version} 以来变化的行超过单次增量上限（{cap} 行或 {max_bytes} 字节，"
        "设置 SHUDATA_QUERY_MAX_ROWS / SHUDATA_RESULT_MAX_BYTES）；请从更近的版本起取增量，"
        "或通过 Delta Sharing 获取整个版本",
        f"The rows changed since version {since_version} pass the limit of one incremental answer ({cap} rows or "
        f"{max_bytes} bytes; settings SHUDATA_QUERY_MAX_ROWS / SHUDATA_RESULT_MAX_BYTES); start from a later "
        "version, or read the whole version through Delta Sharing",
        code="changes_too_large", details={"max_rows": cap, "max_bytes": max_bytes, "since_version": since_version})
