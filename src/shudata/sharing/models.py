"""Sharing tables: requests, grants, disputes, deliveries and calendar overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class SharingRequest(Base):
    """A department's request for a catalog entry (共享申请)."""

    __tablename__ = "sharing_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    requester_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    requester: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(20))
    purpose_text: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    use_from: Mapped[dt.date]
    use_until: Mapped[dt.date]
    delivery_method: Mapped[str] = mapped_column(String(10))
    sharing_type: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), index=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_date: Mapped[dt.date | None]
    escalated_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    origin_node: Mapped[str | None] = mapped_column(String(12))  # set when filed by a peer node
    origin_request_id: Mapped[str | None] = mapped_column(String(64))


class SharingGrant(Base):
    """What a consumer department may receive (授权): fields, row filter, masking, period, quota."""

    __tablename__ = "sharing_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("sharing_request.id"), unique=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    row_filter: Mapped[str | None] = mapped_column(Text)
    masking_profile: Mapped[str] = mapped_column(String(40), default="share-conditional")
    purpose: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[dt.datetime]
    quota_rows_per_day: Mapped[int | None]
    quota_calls_per_day: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class SharingDispute(Base):
    """A dispute raised by the requester, resolved by the platform admin (协调)."""

    __tablename__ = "sharing_dispute"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("sharing_request.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]


class SharingDelivery(Base):
    """Who received which version under which grant (no passing data on unrecorded)."""

    __tablename__ = "sharing_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("sharing_grant.id"), index=True)
    version: Mapped[int]
    rows: Mapped[int]
    format: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))  # rest | delta-sharing | push | federation
    recipient: Mapped[str] = mapped_column(String(64))
    delivered_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class CalendarOverride(Base):
    """A province's correction to the national working-day calendar."""

    __tablename__ = "sharing_calendar_override"
    __table_args__ = (UniqueConstraint("day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date]
    is_workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(200))


class SharingNotification(Base):
    """An in-app notification for a department's stewards or one user (and an optional webhook)."""

    __tablename__ = "sharing_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_request.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    webhook_sent_at: Mapped[dt.datetime | None]
    webhook_attempts: Mapped[int] = mapped_column(default=0)
    webhook_next_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SharingSubscription(Base):
    """A consumer's webhook, called on each new version of a granted entry."""

    __tablename__ = "sharing_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("sharing_grant.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    last_version: Mapped[int] = mapped_column(default=0)


class PushDelivery(Base):
    """One signed push of one version to one webhook, retried with back-off and logged."""

    __tablename__ = "sharing_push"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("sharing_subscription.id"), index=True)
    version: Mapped[int]
    payload: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class RemoteRequest(Base):
    """A request this node's department filed for an entry held on another node."""

    __tablename__ = "sharing_remote_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_code: Mapped[str] = mapped_column(String(12), index=True)
    resource_code: Mapped[str] = mapped_column(String(32))
    resource_name: Mapped[str] = mapped_column(String(200))
    requester_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    requester: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="sent")
    remote_request_id: Mapped[int | None]
    grant_id: Mapped[int | None]  # the grant on the holding node
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
