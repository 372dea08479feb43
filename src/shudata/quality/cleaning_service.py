"""Cleaning use cases: save pipelines (refused when broken or cyclic), preview, run → new
version with lineage, fuzzy-cluster preview. The original version always stays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound
from shudata.core.types import Actor
from shudata.lake.service import get_version
from shudata.quality import actions as A
from shudata.quality.cleaning import Pipeline, check_columns, expand, parse_pipeline
from shudata.quality.cleaning_run import CleanOutcome, cleaned_batches, clusters, plan, quarantined_rows
from shudata.quality.cleaning_steps import FUZZY_METHODS
from shudata.quality.ingest_step import jsonable
from shudata.quality.models import QualityLineage, QualityPipeline, QualityQuarantineRow
from shudata.quality.reference import region_name_sources
from shudata.quality.schemas import LineageRead
from shudata.quality.service import (
    current_rule_set,
    engine_for,
    known_columns,
    ref_cache_dir,
    require_raw_reader,
    run_checks,
    store_run,
    target_of,
)
from shudata.quality.states import QuarantineStatus
from shudata.query.engines.base import Engine


def _latest_pipeline(session: Session, resource_id: int, name: str) -> QualityPipeline | None:
    stmt = (select(QualityPipeline).where(QualityPipeline.resource_id == resource_id, QualityPipeline.name == name)
            .order_by(QualityPipeline.revision.desc()).limit(1))
    return session.scalars(stmt).first()


def _resolver(session: Session, resource_id: int, pending: Pipeline | None = None) -> Any:
    def resolve(name: str) -> Pipeline | None:
        if pending is not None and name == pending.name:
            return pending
        row = _latest_pipeline(session, resource_id, name)
        return parse_pipeline(row.spec) if row else None

    return resolve


def save_pipeline(*, session: Session, actor: Actor, resource: str, spec: Any) -> dict[str, Any]:
    """Store a new revision of a named pipeline after checking columns, includes and cycles."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.RULES_EDIT)
    p = parse_pipeline(spec)
    steps = expand(p, _resolver(session, res.id, p))
    check_columns(steps, sorted(known_columns(session, res)))
    current = _latest_pipeline(session, res.id, p.name)
    row = QualityPipeline(resource_id=res.id, name=p.name, revision=(current.revision + 1) if current else 1,
                          spec=p.model_dump(mode="json", exclude_none=True), created_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor, events.QualityPipelineSave(
        resource_id=res.code,
        details={"pipeline": p.name, "revision": row.revision, "steps": len(p.steps)}))
    return {"name": p.name, "revision": row.revision, "spec": row.spec}


def list_pipelines(*, session: Session, actor: Actor, resource: str) -> list[dict[str, Any]]:
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.REPORT_VIEW)
    rows = session.scalars(select(QualityPipeline).where(QualityPipeline.resource_id == res.id)
                           .order_by(QualityPipeline.name, QualityPipeline.revision.desc()))
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(r.name, {"name": r.name, "revision": r.revision, "spec": r.spec})
    return list(seen.values())


def _pipeline(session: Session, res: CatalogResource, pipeline: Any) -> tuple[Pipeline, int | None]:
    if isinstance(pipeline, str):
        row = _latest_pipeline(session, res.id, pipeline)
        if row is None:
            raise NotFound(f"清洗流程“{pipeline}”不存在", f"Pipeline {pipeline!r} not found", code="pipeline_not_found")
        return parse_pipeline(row.spec), row.revision
    return parse_pipeline(pipeline), None


def _plan(session: Session, settings: Settings, res: CatalogResource, p: Pipeline, version: int | None,
          engine: Engine) -> tuple[CleanOutcome, Any, int, list[Any]]:
    v = get_version(session, res.id, version)
    target = target_of(settings, v)
    steps = expand(p, _resolver(session, res.id, p))
    check_columns(steps, list(target.columns))
    outcome, tables = plan(engine, target, steps, region_name_sources(ref_cache_dir(settings)))
    return outcome, tables, v.version, steps


def _steps_json(outcome: CleanOutcome) -> list[dict[str, Any]]:
    return [{"index": s.index, "step": s.step, "columns": s.columns, "describe": s.describe_zh,
             "describe_en": s.describe_en, "changed": s.changed, "quarantined": s.quarantined}
            for s in outcome.steps]


def preview_clean(*, session: Session, settings: Settings, actor: Actor, resource: str, pipeline: Any,
                  version: int | None = None, engine: Engine | None = None) -> dict[str, Any]:
    """What a pipeline would change (per-step counts), without writing anything."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.CLEAN_RUN)
    p, _rev = _pipeline(session, res, pipeline)
    eng = engine or engine_for(settings)
    outcome, tables, number, steps = _plan(session, settings, res, p, version, eng)
    held = quarantined_rows(eng, outcome, steps, tables)[:20]
    return {"source_version": number, "rows_in": outcome.rows_in, "rows_out": outcome.rows_out,
            "quarantined": outcome.quarantined, "steps": _steps_json(outcome), "sql": outcome.compiled.data_sql(),
            "quarantine_sample": [{"data": {k: jsonable(x) for k, x in d.items()}, "rules": r, "reasons": why}
                                  for d, r, why in held]}


def clean(*, session: Session, settings: Settings, actor: Actor, resource: str, pipeline: Any,
          version: int | None = None, engine: Engine | None = None) -> LineageRead:
    """Run a pipeline (saved name or spec) on a version; the result is the next version."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.CLEAN_RUN)
    p, revision = _pipeline(session, res, pipeline)
    eng = engine or engine_for(settings)
    outcome, tables, source, steps = _plan(session, settings, res, p, version, eng)
    new = write_version(session=session, settings=settings, actor=actor, resource=res,
                        batches_or_table=cleaned_batches(eng, outcome, tables),
                        source_name=f"清洗：{p.name}（来自版本 {source}）", source_format="parquet",
                        comment=f"cleaning pipeline {p.name} on version {source}",
                        audit_details={"cleaned_from": source, "pipeline": p.name})
    lineage = QualityLineage(resource_id=res.id, source_version=source, target_version=new.version, pipeline=p.name,
                             pipeline_revision=revision, steps=_steps_json(outcome), created_by=actor.username)
    session.add(lineage)
    held = quarantined_rows(eng, outcome, steps, tables)
    session.add_all(QualityQuarantineRow(resource_id=res.id, version=new.version, run_id=None, row_no=None,
                                         data={k: jsonable(x) for k, x in d.items()}, rules=keys, reasons=why,
                                         status=QuarantineStatus.OPEN) for d, keys, why in held)
    if held:
        new.quarantined_rows = len(held)
    session.flush()
    rs, rs_rev = current_rule_set(session, res.id)
    if rs.rules:
        report = run_checks(session=session, settings=settings, actor=actor, res=res, v=new, rs=rs, engine=eng)
        store_run(session, actor, res, new.version, "clean", rs_rev, report)
    record(session, actor, events.QualityCleanRun(resource_id=res.code,
                                                  details={"pipeline": p.name, "source_version": source,
                                                           "target_version": new.version, "rows_in": outcome.rows_in,
                                                           "rows_out": outcome.rows_out, "quarantined": len(held)}))
    return LineageRead.model_validate(lineage)


def lineage(*, session: Session, actor: Actor, resource: str) -> list[LineageRead]:
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.REPORT_VIEW)
    rows = session.scalars(select(QualityLineage).where(QualityLineage.resource_id == res.id)
                           .order_by(QualityLineage.id.desc()))
    return [LineageRead.model_validate(r) for r in rows]


def cluster_preview(*, session: Session, settings: Settings, actor: Actor, resource: str, column: str,
                    version: int | None = None, engine: Engine | None = None, method: str = "fingerprint",
                    n: int = 2) -> list[dict[str, Any]]:
    """Near-identical spellings of a column's values grouped by fingerprint key, or by n-gram
    fingerprint with ``method="ngram"`` (``n`` from 1 to 6)."""
    if method not in FUZZY_METHODS or not 1 <= n <= 6:
        raise InvalidInput(f"聚类方法须为 {'、'.join(FUZZY_METHODS)}，n 须在 1–6 之间",
                           f"Clustering method must be one of {', '.join(FUZZY_METHODS)} and n within 1–6",
                           code="cluster_unknown_method")
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.CLEAN_RUN)  # the clusters are the column's raw values
    v = get_version(session, res.id, version)
    target = target_of(settings, v)
    if column not in target.columns:
        raise InvalidInput(f"列“{column}”不存在；可用列：{'、'.join(target.columns)}",
                           f"No column {column!r}", code="pipeline_missing_column")
    found = clusters(engine or engine_for(settings), target, column, method=method, n=n)
    return [{"key": c.key, "values": [{"value": val, "rows": n} for val, n in c.values], "suggested": c.suggested}
            for c in found]
