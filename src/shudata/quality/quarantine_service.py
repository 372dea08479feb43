"""The quarantine as a steward sees it: list, fix a row (re-checked), release fixed rows into a
new version, export as XLSX with the reasons in a column."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource, resource_ref
from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound
from shudata.core.textsafe import safe_cell
from shudata.core.types import Actor, Page
from shudata.lake.parquet import read_table
from shudata.lake.service import get_version
from shudata.quality import actions as A
from shudata.quality.models import QualityQuarantineRow
from shudata.quality.reference import region_sources
from shudata.quality.rules import RuleSet
from shudata.quality.run import Target, evaluate
from shudata.quality.schemas import QuarantineRowRead
from shudata.quality.service import current_rule_set, engine_for, ref_cache_dir, target_of
from shudata.quality.states import QUARANTINE, QuarantineEvent, QuarantineStatus
from shudata.security.authz import require


def _rows_query(res: CatalogResource, version: int | None, status: str | None) -> Any:
    stmt = select(QualityQuarantineRow).where(QualityQuarantineRow.resource_id == res.id)
    if version is not None:
        stmt = stmt.where(QualityQuarantineRow.version == version)
    if status:
        stmt = stmt.where(QualityQuarantineRow.status == status)
    return stmt


def list_rows(*, session: Session, actor: Actor, resource: str, version: int | None = None,
              status: str | None = "open", offset: int = 0, limit: int = 50) -> Page[QuarantineRowRead]:
    res = find_resource(session, resource)
    require(actor, A.QUARANTINE_MANAGE, resource_ref(res))
    stmt = _rows_query(res, version, status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(QualityQuarantineRow.id).offset(offset).limit(limit))
    return Page(items=[QuarantineRowRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit)


def _check_row(settings: Settings, rs: RuleSet, data: dict[str, Any], columns: list[str]) -> list[str]:
    """Keys of the blocking rules the row still fails (checked by the engine, like on ingest)."""
    blocking = RuleSet(rules=[r for r in rs.row_rules() if r.severity == "block"])
    with tempfile.TemporaryDirectory() as tmp:
        table = pa.table({c: pa.array([None if data.get(c) is None else str(data.get(c))], pa.string())
                          for c in columns})
        path = Path(tmp) / "row.parquet"
        pq.write_table(table, path)
        report = evaluate(engine_for(settings), Target.from_parquet("staged", [path]), blocking,
                          lookups=region_sources(ref_cache_dir(settings)), samples=0, null_stats=False)
    return [r.key for r in report.results if r.failed]


def fix_row(*, session: Session, settings: Settings, actor: Actor, row_id: int, data: dict[str, Any]
            ) -> QuarantineRowRead:
    """Replace a quarantined row's values; it becomes ``fixed`` when it passes the blocking rules."""
    row = session.get(QualityQuarantineRow, row_id)
    if row is None:
        raise NotFound(f"隔离记录 {row_id} 不存在", f"Quarantined row {row_id} not found", code="quarantine_not_found")
    res = session.get(CatalogResource, row.resource_id)
    if res is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("res is unexpectedly None")
    require(actor, A.QUARANTINE_MANAGE, resource_ref(res))
    unknown = sorted(set(data) - set(row.data))
    if unknown:
        raise InvalidInput(f"未知的列：{'、'.join(unknown)}", f"Unknown columns: {', '.join(unknown)}",
                           code="quarantine_unknown_column")
    merged = {**row.data, **data}
    rs, _rev = current_rule_set(session, res.id)
    still = _check_row(settings, rs, merged, list(row.data))
    row.data = merged
    row.rules = still
    row.status = QUARANTINE.next(row.status, QuarantineEvent.FIX_FAILED if still else QuarantineEvent.FIX_PASSED)
    row.updated_by = actor.username
    row.updated_at = utcnow()
    session.flush()
    record(session, actor, events.QualityQuarantineFix(
        resource_id=res.code, details={"row": row_id, "status": row.status}))
    return QuarantineRowRead.model_validate(row)


def _as_schema(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Fixed rows (JSON values) as a table of the version's schema; ``InvalidInput`` when a value
    does not convert."""
    arrays = []
    for f in schema:
        raw = pa.array([None if r.get(f.name) is None else str(r.get(f.name)) for r in rows], pa.string())
        try:
            arrays.append(raw.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(f"已修正的行中“{f.name}”的值无法转换为 {f.type}：{exc}",
                               f"A fixed value of {f.name!r} does not convert to {f.type}", code="quarantine_bad_value"
                               ) from exc
    try:
        return pa.Table.from_arrays(arrays, schema=schema)
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"已修正的行仍有必填列为空：{exc}", f"A fixed row leaves a required column empty: {exc}",
                           code="quarantine_bad_value") from exc


def release_fixed(*, session: Session, settings: Settings, actor: Actor, resource: str) -> dict[str, Any]:
    """Append the fixed rows to the latest version's data as a new version."""
    res = find_resource(session, resource)
    require(actor, A.QUARANTINE_MANAGE, resource_ref(res))
    fixed = list(session.scalars(_rows_query(res, None, QuarantineStatus.FIXED).order_by(QualityQuarantineRow.id)))
    if not fixed:
        raise InvalidInput("没有已修正的隔离数据可发布", "No fixed rows to release", code="quarantine_nothing_fixed")
    v = get_version(session, res.id)
    target = target_of(settings, v)
    current = read_table(list(target.source.files))
    extra = _as_schema([r.data for r in fixed], current.schema)
    new = write_version(session=session, settings=settings, actor=actor, resource=res,
                        batches_or_table=pa.concat_tables([current, extra]),
                        source_name=f"隔离区修正（{len(fixed)} 行）", source_format="parquet",
                        comment=f"released {len(fixed)} fixed quarantined rows onto version {v.version}")
    for r in fixed:
        r.status = QUARANTINE.next(r.status, QuarantineEvent.RELEASE)
        r.updated_by = actor.username
        r.updated_at = utcnow()
    session.flush()
    record(session, actor, events.QualityQuarantineRelease(
        resource_id=res.code, details={"rows": len(fixed), "version": new.version}))
    return {"version": new.version, "rows": len(fixed)}


def export_xlsx(*, session: Session, actor: Actor, resource: str, version: int | None = None) -> bytes:
    """Every quarantined row of an entry (or one version) with its reasons in a column."""
    res = find_resource(session, resource)
    require(actor, A.QUARANTINE_MANAGE, resource_ref(res))
    rows = list(session.scalars(_rows_query(res, version, None).order_by(QualityQuarantineRow.id)))
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r.data if c not in columns]
    wb = Workbook()
    ws = wb.active
    ws.title = "隔离数据"
    ws.append(["版本", "原行号", "状态", "未通过规则", "原因", *columns])
    for r in rows:
        ws.append([r.version, r.row_no, r.status, ", ".join(r.rules), safe_cell(r.reasons),
                   *[safe_cell(r.data.get(c)) for c in columns]])
    buf = io.BytesIO()
    wb.save(buf)
    record(session, actor, events.QualityQuarantineExport(
        resource_id=res.code, details={"rows": len(rows), "version": version}))
    return buf.getvalue()
