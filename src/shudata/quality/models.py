"""Quality tables: rule sets and pipelines (with history), runs, results, quarantine, lineage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class QualityRuleSet(Base):
    """One saved revision of an entry's rule set (the newest revision is in force)."""

    __tablename__ = "quality_rule_set"
    __table_args__ = (UniqueConstraint("resource_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QualityPipeline(Base):
    """One saved revision of a named cleaning pipeline of an entry."""

    __tablename__ = "quality_pipeline"
    __table_args__ = (UniqueConstraint("resource_id", "name", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    revision: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QualityRun(Base):
    """One evaluation of a rule set on a data version (on demand, on ingest, after cleaning)."""

    __tablename__ = "quality_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # check | ingest | clean
    rule_set_revision: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    passed: Mapped[bool] = mapped_column(Boolean, default=True)
    overall_score: Mapped[float | None] = mapped_column(Float, index=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QualityResult(Base):
    """One rule's outcome in a run."""

    __tablename__ = "quality_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("quality_run.id", ondelete="CASCADE"), index=True)
    rule_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the RuleResult
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    passed: Mapped[bool] = mapped_column(Boolean, default=True)


class QualityQuarantineRow(Base):
    """A row set aside on ingest, with the rules it failed and why. ``status``: open / fixed / released."""

    __tablename__ = "quality_quarantine_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer, index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("quality_run.id"), index=True)
    row_no: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reasons: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime | None]


class QualityLineage(Base):
    """A cleaning run: which version went in, which came out, which pipeline and steps."""

    __tablename__ = "quality_lineage"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    source_version: Mapped[int] = mapped_column(Integer)
    target_version: Mapped[int] = mapped_column(Integer)
    pipeline: Mapped[str] = mapped_column(String(80))
    pipeline_revision: Mapped[int | None] = mapped_column(Integer)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"step", "column", "changed"}]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
