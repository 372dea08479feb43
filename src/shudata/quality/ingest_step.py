"""The quality steps of the ingest pipeline (``shudata.jobs.ingest.STEPS``).

``screen`` runs after the upload is staged and before it is published: rows failing the
entry's blocking rules are moved out of the staged parts into the quarantine table (with
rule, reason and the row's number in the uploaded file); the accepted rows are what gets
published. ``record`` runs after
publishing: it ties the quarantine to the new version and stores a full check of it, so
every ingest is checked and scored. Input rows always equal accepted + quarantined.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import update
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record as audit
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.lake import layout
from shudata.lake.ingest.source import SourceInfo, StageStats
from shudata.lake.models import LakeVersion
from shudata.lake.parquet import parts
from shudata.quality.models import QualityQuarantineRow, QualityRun
from shudata.quality.quarantine import ROW_COLUMN, QuarantineOutcome, split
from shudata.quality.reference import region_sources
from shudata.quality.run import Target
from shudata.quality.service import current_rule_set, engine_for, ref_cache_dir, run_checks, store_run
from shudata.quality.states import QuarantineStatus

RUN_KEY = "quality_run"


class StagedRun(Protocol):
    """What the quality steps read and set on ``shudata.jobs.ingest.IngestRun``."""

    session: Session
    settings: Settings
    actor: Actor
    resource: CatalogResource
    staging: Path | None
    quarantined_rows: int
    extra_audit: dict[str, Any]
    version: LakeVersion | None
    info: SourceInfo | None
    stats: StageStats | None


def first_row(info: SourceInfo | None) -> int:
    """The number, in the uploaded file, of its first data row: the CSV line, the sheet row
    below the header, or 1 (JSON records, Parquet rows)."""
    if info is None:
        return 1
    if info.format == "csv":
        return info.data_line
    return (info.header_row or 0) + 1


def number_rows(files: list[Path], start: int, dest: Path) -> Target:
    """The staged rows, in upload order, as one file with ``__row``: each row's number in the
    uploaded file (``start`` for the first data row), so the steward can find it there."""
    writer: pq.ParquetWriter | None = None
    n = start
    try:
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=65_536):
                table = pa.Table.from_batches([batch])
                table = table.append_column(ROW_COLUMN, pa.array(range(n, n + table.num_rows), pa.int64()))
                n += table.num_rows
                if writer is None:
                    writer = pq.ParquetWriter(dest, table.schema)
                writer.write_table(table)
        if writer is None:  # no rows: an empty file with the staged schema
            schema = pq.read_schema(files[0]).append(pa.field(ROW_COLUMN, pa.int64()))
            pq.write_table(schema.empty_table(), dest)
    finally:
        if writer is not None:
            writer.close()
    return Target.from_parquet("staged", [dest])


def jsonable(value: Any) -> Any:
    """A cell value as JSON (dates and decimals as text)."""
    if isinstance(value, (dt.date, dt.datetime, dt.time, decimal.Decimal)):
        return value.isoformat() if not isinstance(value, decimal.Decimal) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _replace_parts(staging: Path, accepted: Path) -> None:
    for p in parts(staging):
        os.unlink(p)
    os.replace(accepted, staging / layout.part_name(0))


def store_quarantine(session: Session, resource_id: int, version: int | None, run_id: int,
                     outcome: QuarantineOutcome) -> None:
    session.add_all(QualityQuarantineRow(
        resource_id=resource_id, version=version, run_id=run_id, row_no=r.row_no,
        data={k: jsonable(v) for k, v in r.data.items()}, rules=r.rule_keys, reasons=r.reasons,
        status=QuarantineStatus.OPEN)
        for r in outcome.rows)
    session.flush()


def screen(run: StagedRun) -> None:
    """Quarantine the staged rows that fail blocking rules (a no-op without blocking rules)."""
    rs, revision = current_rule_set(run.session, run.resource.id)
    if run.staging is None or not any(r.severity == "block" for r in rs.row_rules()):
        return
    numbered = run.staging / "quality-numbered.tmp"
    target = number_rows(parts(run.staging), first_row(run.info), numbered)
    dest = run.staging / "quality-accepted.tmp"
    try:
        outcome = split(engine_for(run.settings), target, rs, lookups=region_sources(ref_cache_dir(run.settings)),
                        dest=dest)
    finally:
        os.unlink(numbered)
    _replace_parts(run.staging, dest)
    qrun = QualityRun(resource_id=run.resource.id, version=None, kind="ingest", rule_set_revision=revision,
                      rows=outcome.input_rows, passed=outcome.quarantined_rows == 0, scores={}, columns=[],
                      created_by=run.actor.username)
    run.session.add(qrun)
    run.session.flush()
    store_quarantine(run.session, run.resource.id, None, qrun.id, outcome)
    run.quarantined_rows = outcome.quarantined_rows
    run.extra_audit.update({RUN_KEY: qrun.id, "input_rows": outcome.input_rows,
                            "accepted_rows": outcome.accepted_rows, "quarantined_by_rule": outcome.rule_counts,
                            # section rows dropped while reading shift the numbers of the rows after them
                            "row_numbers_exact": not (run.stats and run.stats.skipped_rows)})


def record(run: StagedRun) -> None:
    """After publishing: tie the quarantine to the version and store a full check of it."""
    v = run.version
    if v is None:
        return
    rs, revision = current_rule_set(run.session, run.resource.id)
    if not rs.rules:
        return
    report = run_checks(session=run.session, settings=run.settings, actor=run.actor, res=run.resource, v=v, rs=rs)
    screened = run.extra_audit.get(RUN_KEY)
    if screened is not None:
        run.session.execute(update(QualityQuarantineRow).where(QualityQuarantineRow.run_id == screened)
                            .values(version=v.version))
        run.session.execute(update(QualityRun).where(QualityRun.id == screened).values(version=v.version))
    checked = store_run(run.session, run.actor, run.resource, v.version, "ingest", revision, report)
    audit(run.session, run.actor, events.QualityCheckRun(
        resource_id=run.resource.code,
        details={"version": v.version, "run": checked.id, "quarantined_rows": run.quarantined_rows,
                 "score": report.scores.get("overall")}))

