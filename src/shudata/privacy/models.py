"""Privacy tables: scan reports, policies, managed keys, risk reports, DP budgets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class PrivacyScanReport(Base):
    """One detection report for a resource version or a scanned file, with the proposed
    分类分级 grade and (once the steward confirms) the confirmed one."""

    __tablename__ = "privacy_scan_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    proposed_grade: Mapped[int] = mapped_column(Integer)
    confirmed_grade: Mapped[int | None] = mapped_column(Integer)
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyPolicy(Base):
    """A named masking policy (YAML/JSON body), versioned on every save."""

    __tablename__ = "privacy_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    profile: Mapped[str] = mapped_column(String(30))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyKey(Base):
    """A managed data key, stored wrapped (SM4-GCM) under the platform master key."""

    __tablename__ = "privacy_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    purpose: Mapped[str] = mapped_column(String(200), default="")
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyRiskReport(Base):
    """Re-identification risk before and after an anonymisation, for one resource version."""

    __tablename__ = "privacy_risk_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    quasi_identifiers: Mapped[list[Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyDpBudget(Base):
    """The differential-privacy budget (ε) of one consumer, tracked and enforced."""

    __tablename__ = "privacy_dp_budget"
    __table_args__ = (UniqueConstraint("consumer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(120), index=True)
    epsilon_total: Mapped[float] = mapped_column(Float)
    epsilon_spent: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyDpSpend(Base):
    """One release charged against a budget."""

    __tablename__ = "privacy_dp_spend"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("privacy_dp_budget.id"), index=True)
    epsilon: Mapped[float] = mapped_column(Float)
    mechanism: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyColumnReview(Base):
    """A steward's decision on what a column of a resource holds, overruling detection.

    Append-only: the newest row of a (resource, column) is in force; ``entity`` None means
    "not personal information", ``withdrawn`` gives the column back to detection. ``detected``
    is what detection said when the steward decided.
    """

    __tablename__ = "privacy_column_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    column: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str | None] = mapped_column(String(40))
    detected: Mapped[str | None] = mapped_column(String(40))
    withdrawn: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text)
    reviewed_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
