"""The placeholders an entry's uploads read as missing (N/A, 无, - …), saved per entry.

Stored without a table of its own: it is the entry's saved cleaning pipeline named
:data:`~shudata.quality.cleaning_steps.INGEST_PIPELINE` (``入库缺失值``), one
``missing_values`` step. The pipeline table already keeps every revision with who saved it,
the audit trail records each save, and the same pipeline can be run on versions stored before
the list changed (a cleaning run turns their placeholders into NULL too). Without a saved
list the setting ``ingest_missing_values`` applies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource, resource_ref
from shudata.catalog.actions import DATA_UPLOAD, RESOURCE_VIEW
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.types import Actor
from shudata.quality.cleaning import parse_pipeline
from shudata.quality.cleaning_steps import INGEST_PIPELINE, MissingValues
from shudata.quality.models import QualityPipeline
from shudata.security.authz import require

MAX_VALUES = 200


def _latest(session: Session, resource_id: int) -> QualityPipeline | None:
    stmt = (select(QualityPipeline)
            .where(QualityPipeline.resource_id == resource_id, QualityPipeline.name == INGEST_PIPELINE)
            .order_by(QualityPipeline.revision.desc()).limit(1))
    return session.scalars(stmt).first()


def saved_step(session: Session, resource_id: int) -> MissingValues | None:
    """The entry's saved ``missing_values`` step, if any (a broken spec counts as none)."""
    row = _latest(session, resource_id)
    if row is None:
        return None
    try:
        steps = parse_pipeline(row.spec).steps
    except InvalidInput:
        return None
    return next((s for s in steps if isinstance(s, MissingValues)), None)


def resolve(session: Session, settings: Settings, resource_id: int) -> tuple[str, ...]:
    """The placeholders an upload to the entry reads as missing: its saved list, else the setting."""
    step = saved_step(session, resource_id)
    if step is None:
        return tuple(settings.ingest_missing_values)
    return tuple(step.tokens(tuple(settings.ingest_missing_values)))


def describe(*, session: Session, settings: Settings, actor: Actor, resource: str) -> dict[str, Any]:
    """What the entry uses and where it comes from (``entry`` or ``default``)."""
    require(actor, RESOURCE_VIEW)
    res = find_resource(session, resource)
    step = saved_step(session, res.id)
    row = _latest(session, res.id) if step is not None else None
    return {"resource_code": res.code, "source": "entry" if step is not None else "default",
            "values": list(step.values) if step is not None else [],
            "include_defaults": step.include_defaults if step is not None else True,
            "defaults": list(settings.ingest_missing_values),
            "effective": list(resolve(session, settings, res.id)),
            "revision": row.revision if row is not None else None,
            "saved_by": row.created_by if row is not None else None}


def save(*, session: Session, settings: Settings, actor: Actor, resource: str, values: list[str],
         include_defaults: bool = True) -> dict[str, Any]:
    """Save the entry's list as a new revision (who may upload to the entry may set it)."""
    res = find_resource(session, resource)
    require(actor, DATA_UPLOAD, resource_ref(res))
    clean: list[str] = []
    for v in values:
        t = str(v).strip()
        if len(t) > 40:
            raise InvalidInput(f"占位符“{t[:40]}…”过长（不超过 40 个字符）",
                               "A placeholder is longer than 40 characters", code="bad_missing_values")
        if t and t not in clean:
            clean.append(t)
    if len(clean) > MAX_VALUES:
        raise InvalidInput(f"占位符不能超过 {MAX_VALUES} 个", f"At most {MAX_VALUES} placeholders",
                           code="bad_missing_values")
    step = MissingValues(step="missing_values", values=clean, include_defaults=include_defaults)
    current = _latest(session, res.id)
    spec = {"name": INGEST_PIPELINE, "steps": [step.model_dump(mode="json", exclude_none=True)]}
    row = QualityPipeline(resource_id=res.id, name=INGEST_PIPELINE,
                          revision=(current.revision + 1) if current else 1, spec=spec, created_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor, events.QualityPipelineSave(
        resource_id=res.code,
        details={"pipeline": INGEST_PIPELINE, "revision": row.revision,
                 "missing_values": clean, "include_defaults": include_defaults}))
    return describe(session=session, settings=settings, actor=actor, resource=res.code)
