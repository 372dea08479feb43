"""The quality steps of the ingest pipeline (``shudata.jobs.ingest.STEPS``).

``screen`` runs after the upload is staged and before it is published: rows failing the
entry's blocking rules are moved out of the staged parts into the quarantine table (with
rule and reason per row); the accepted rows are what gets published. ``record`` runs after
publishing: it ties the quarantine to the new version and stores a full check of it, so
every ingest is checked and scored. Input rows always equal accepted + quarantined.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record as audit
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.lake import layout
from shudata.lake.models import LakeVersion
from shudata.lake.parquet import parts
from shudata.quality.models import QualityQuarantineRow, QualityRun
from shudata.quality.quarantine import QuarantineOutcome, split
from shudata.quality.reference import region_sources
from shudata.quality.run import Target
from shudata.quality.service import current_rule_set, engine_for, ref_cache_dir, run_checks, store_run

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
        data={k: jsonable(v) for k, v in r.data.items()}, rules=r.rule_keys, reasons=r.reasons, status="open")
        for r in outcome.rows)
    session.flush()


def screen(run: StagedRun) -> None:
    """Quarantine the staged rows that fail blocking rules (a no-op without blocking rules)."""
    rs, revision = current_rule_set(run.session, run.resource.id)
    if run.staging is None or not any(r.severity == "block" for r in rs.row_rules()):
        return
    target = Target.from_parquet("staged", parts(run.staging))
    dest = run.staging / "quality-accepted.tmp"
    outcome = split(engine_for(run.settings), target, rs, lookups=region_sources(ref_cache_dir(run.settings)),
                    dest=dest)
    _replace_parts(run.staging, dest)
    qrun = QualityRun(resource_id=run.resource.id, version=None, kind="ingest", rule_set_revision=revision,
                      rows=outcome.input_rows, passed=outcome.quarantined_rows == 0, scores={}, columns=[],
                      created_by=run.actor.username)
    run.session.add(qrun)
    run.session.flush()
    store_quarantine(run.session, run.resource.id, None, qrun.id, outcome)
    run.quarantined_rows = outcome.quarantined_rows
    run.extra_audit.update({RUN_KEY: qrun.id, "input_rows": outcome.input_rows,
                            "accepted_rows": outcome.accepted_rows, "quarantined_by_rule": outcome.rule_counts})


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
    audit(run.session, run.actor, AuditEvent(
        "quality.check.run", resource_type="catalog.resource", resource_id=run.resource.code,
        details={"version": v.version, "run": checked.id, "quarantined_rows": run.quarantined_rows,
                 "score": report.scores.get("overall")}))

