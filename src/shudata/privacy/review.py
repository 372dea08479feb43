"""A steward's review of detection: overrule what a column holds, with who and why.

Detection proposes (a scan report: entity, evidence, share of matching values, masked
examples); the provider department's steward may overrule a column — "not personal
information" or another entity type — with a reason. Every decision is a new row of
:class:`~shudata.privacy.models.PrivacyColumnReview` and an audit event; the newest row of a
column is in force until withdrawn. Masking (sharing and open data) starts from the detected
entity types with the reviews applied (:func:`apply_reviews`), except that a reviewed column
whose sampled values *validate* as resident ID numbers, mobile numbers or bank cards keeps that
entity type: an overrule never lets identifiers leave unmasked (the export gate checks the
same three on reviewed columns, :mod:`shudata.privacy.gate`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.types import Actor
from shudata.lake.service import latest_version
from shudata.privacy import actions, sources
from shudata.privacy.detect.classify import about_persons, prepare, valid_count
from shudata.privacy.detect.registry import default_registry
from shudata.privacy.entities import CONTEXTUAL, ENTITIES, personal_by_header
from shudata.privacy.gate import ALWAYS
from shudata.privacy.models import PrivacyColumnReview, PrivacyScanReport
from shudata.privacy.profiles import PROFILES
from shudata.privacy.schemas import ColumnReviewRead, ColumnReviewSave

IDENTIFIER_TOLERANCE = min(p.tolerance for p in PROFILES.values())


def in_force(session: Session, resource_id: int) -> dict[str, PrivacyColumnReview]:
    """Column → the review in force (the newest one of each column, unless withdrawn)."""
    rows = session.scalars(select(PrivacyColumnReview).where(PrivacyColumnReview.resource_id == resource_id)
                           .order_by(PrivacyColumnReview.id))
    newest = {r.column: r for r in rows}
    return {c: r for c, r in newest.items() if not r.withdrawn}


def validated_identifiers(table: pa.Table, columns: Collection[str]) -> dict[str, str]:
    """Columns of ``table`` (among ``columns``) whose values validate as resident IDs, mobile
    numbers or bank cards in more than :data:`IDENTIFIER_TOLERANCE` of the sample → that entity."""
    reg = default_registry()
    out: dict[str, str] = {}
    for name in columns:
        if name not in table.column_names:
            continue
        stripped, _, n = prepare(table.column(name).combine_chunks())
        for rec in reg.all():
            if rec.name in ALWAYS and n and valid_count(rec, stripped) / n > IDENTIFIER_TOLERANCE:
                out[name] = rec.entity
                break
    return out


def apply_reviews(session: Session, resource_id: int, findings: Mapping[str, str | None],
                  sample: Callable[[], pa.Table]) -> dict[str, str | None]:
    """``findings`` in their table's context, with the reviews in force applied; ``sample`` (called
    only when a column is reviewed) gives the rows checked for identifiers no review can wave through.

    In context: a report saved before the table context was judged may still call the address of a
    scenic area personal; without a column identifying a natural person it is not
    (:func:`~shudata.privacy.detect.classify.about_persons`).
    """
    out = dict(findings)
    if not about_persons(out.values()):
        out = {c: (None if e in CONTEXTUAL and not personal_by_header(c) else e) for c, e in out.items()}
    reviews = {c: r for c, r in in_force(session, resource_id).items() if c in findings}
    if not reviews:
        return out
    strong = validated_identifiers(sample(), reviews)
    for column, row in reviews.items():
        out[column] = strong.get(column, row.entity)
    return out


def _detected(session: Session, resource_id: int, column: str) -> str | None:
    report = session.scalar(select(PrivacyScanReport).where(PrivacyScanReport.resource_id == resource_id)
                            .order_by(PrivacyScanReport.id.desc()).limit(1))
    if report is None:
        return None
    found = next((c for c in report.report["columns"] if c["column"] == column), None)
    return found.get("entity") if found else None


def review_column(*, session: Session, actor: Actor, settings: Settings, data: ColumnReviewSave
                  ) -> ColumnReviewRead:
    """Record a steward's decision on one column of a resource (or withdraw the one in force)."""
    res = find_resource(session, data.resource)
    sources.require_raw_reader(actor, res, actions.DETECTION_REVIEW)
    if data.entity is not None and data.entity not in ENTITIES:
        raise InvalidInput(f"未知的实体类型“{data.entity}”（可用：{'、'.join(ENTITIES)}，或留空表示不属个人信息）",
                           f"Unknown entity type {data.entity!r} (use one of {', '.join(ENTITIES)}, or none for "
                           "not personal)", code="unknown_entity")
    reason = data.reason.strip()
    if len(reason) < 2:
        raise InvalidInput("请写明复核理由", "Give the reason for the review", code="review_reason_missing")
    version = latest_version(session, res.id)
    schema = sources.version_schema(settings, version) if version is not None else None
    if schema is not None and data.column not in schema.names:
        raise InvalidInput(f"列“{data.column}”不存在；现有列：{'、'.join(schema.names)}",
                           f"Column {data.column!r} does not exist", code="unknown_column")
    row = PrivacyColumnReview(resource_id=res.id, column=data.column, entity=None if data.withdraw else data.entity,
                              detected=_detected(session, res.id, data.column), withdrawn=data.withdraw,
                              reason=reason, reviewed_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor, events.PrivacyDetectionReview(
        resource_id=res.code,
        details={"column": row.column, "entity": row.entity, "detected": row.detected,
                 "withdrawn": row.withdrawn, "reason": reason, "review_id": row.id}))
    return ColumnReviewRead.model_validate(row)


def list_reviews(*, session: Session, actor: Actor, resource: str) -> list[ColumnReviewRead]:
    """Every review of a resource's columns, newest first (the history, withdrawn ones included)."""
    res = find_resource(session, resource)
    sources.require_raw_reader(actor, res, actions.SCAN_VIEW)
    rows = session.scalars(select(PrivacyColumnReview).where(PrivacyColumnReview.resource_id == res.id)
                           .order_by(PrivacyColumnReview.id.desc()))
    return [ColumnReviewRead.model_validate(r) for r in rows]
