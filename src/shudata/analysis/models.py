"""Indicator store tables (issue 18): indicators (指标体系), their computed values, the layout a
resource declares for reshaping on ingest, recompute runs, alert rules, subscriptions, the alert log
and its deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class AnalysisIndicator(Base):
    """One indicator: a code, names, unit, frequency, region level, a place in the hierarchy and a definition.

    ``definition`` is either ``{"kind": "sql", "sql": …, "resources": [codes]}`` (an aggregation run
    through the SQL sandbox as the owner department) or ``{"kind": "formula", "op": yoy|mom|…,
    "inputs": [indicator codes], …}``; ``kind == "group"`` is a heading of the hierarchy with no values.
    """

    __tablename__ = "analysis_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))  # 中文名称
    name_en: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    frequency: Mapped[str] = mapped_column(String(4))  # 月 / 季 / 年 (日 / 时 for monitoring series)
    region_level: Mapped[str] = mapped_column(String(8))  # 省 / 市州 / 区县
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_indicator.id"), index=True)
    level: Mapped[int] = mapped_column(Integer, default=1)  # 一级 / 二级 / 三级
    kind: Mapped[str] = mapped_column(String(10))  # group | sql | formula
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text)
    owner_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    publication: Mapped[str] = mapped_column(String(20), default="internal")  # a privacy profile name
    sort: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    computed_at: Mapped[dt.datetime | None]
    compute_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnalysisValue(Base):
    """One value of an indicator: region × (site) × period, with the lake versions it came from."""

    __tablename__ = "analysis_value"
    __table_args__ = (UniqueConstraint("indicator_id", "region_code", "site", "period"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("analysis_indicator.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # GB/T 2260 (000000 全国)
    region: Mapped[str | None] = mapped_column(String(60))
    site: Mapped[str] = mapped_column(String(80), default="")
    period: Mapped[str] = mapped_column(String(20), index=True)  # 2024 / 2024Q1 / 2024-03 / 2024-03-01
    period_start: Mapped[dt.datetime]
    value: Mapped[float | None] = mapped_column(Float)
    # [{"resource_id": 1, "code": "…", "version": 3}] — the lake versions the value was computed from
    sources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_rows: Mapped[list[Any] | None] = mapped_column(JSON)  # source file rows (1-based) when known
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnalysisLayout(Base):
    """The NBS / monitoring layout a catalog resource declares: its versions are reshaped to long form."""

    __tablename__ = "analysis_layout"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), unique=True)
    layout: Mapped[dict[str, Any]] = mapped_column(JSON)  # layouts.NbsLayout | TableLayout as a dict
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnalysisRecompute(Base):
    """One recompute run: what triggered it, which indicators it computed, how long it took."""

    __tablename__ = "analysis_recompute"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(40))  # version | manual | definition
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id", ondelete="SET NULL"))
    version: Mapped[int | None] = mapped_column(Integer)
    indicators: Mapped[list[Any]] = mapped_column(JSON, default=list)  # codes, in computation order
    values: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnalysisAlertRule(Base):
    """An early-warning rule on one indicator: level, 同比/环比 change, rank move (rules.py) or anomaly."""

    __tablename__ = "analysis_alert_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("analysis_indicator.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # level | change | rank_move | anomaly
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(8), default="警告")  # 提示 / 警告 / 严重
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnalysisSubscription(Base):
    """A user's subscription to alerts (of one indicator, or all it may see): in-app or a webhook."""

    __tablename__ = "analysis_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("security_user.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_indicator.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))  # inapp | webhook
    url: Mapped[str | None] = mapped_column(String(500))
    min_severity: Mapped[str] = mapped_column(String(8), default="提示")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnalysisAlert(Base):
    """The alert log (预警记录): one warning of a rule or the anomaly detector, acknowledged once."""

    __tablename__ = "analysis_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # rule × region × site × period: raised once
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_alert_rule.id", ondelete="SET NULL"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("analysis_indicator.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(8))
    region_code: Mapped[str | None] = mapped_column(String(12))
    region: Mapped[str | None] = mapped_column(String(60))
    site: Mapped[str] = mapped_column(String(80), default="")
    period: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recompute_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_recompute.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[dt.datetime | None]
    ack_comment: Mapped[str | None] = mapped_column(String(500))


class AnalysisDelivery(Base):
    """One alert sent to one subscription: an in-app notice (read or not) or a webhook POST (attempts kept)."""

    __tablename__ = "analysis_delivery"
    __table_args__ = (UniqueConstraint("alert_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("analysis_alert.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("analysis_subscription.id", ondelete="CASCADE"),
                                                 index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("security_user.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))  # unread | read | sent | failed | refused
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    log: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"at": …, "status": 200 | null, "error": …}]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
