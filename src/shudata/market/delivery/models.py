"""Delivery tables of the market: fingerprinted files, traces, hosted jobs, entitlements.

No rows of a product are stored here: a fingerprinted file is recorded by who received it and
under which settings (the bits are recomputed from the product's secret, the buyer and the row
keys when a leak is traced).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class MarketEntitlement(Base):
    """What a purchase in ``delivering`` opens for the buyer (one per order): the fields, the row
    filter and masking profile of the delivery, its expiry and quota; metered plans count calls and
    rows against it. ``release_rules`` are the seller's rules for hosted jobs, ``fingerprint`` the
    seller's fingerprint settings for offline files."""

    __tablename__ = "market_entitlement"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id", ondelete="CASCADE"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)
    delivery_mode: Mapped[str] = mapped_column(String(20))  # online | offline | hosted
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    row_filter: Mapped[str | None] = mapped_column(Text)
    masking_profile: Mapped[str] = mapped_column(String(40), default="trade")
    expires_at: Mapped[dt.datetime]
    quota_calls: Mapped[int | None] = mapped_column(BigInteger)  # over the whole term (None: unlimited)
    quota_rows: Mapped[int | None] = mapped_column(BigInteger)
    calls_used: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_used: Mapped[int] = mapped_column(BigInteger, default=0)
    metered: Mapped[bool] = mapped_column(default=False)
    release_rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    revoked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketFileDelivery(Base):
    """A fingerprinted file delivered to a buyer: who (``buyer_label`` is the code word's name),
    which product, version and settings, how many rows, the file's SHA-256."""

    __tablename__ = "market_file_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    entitlement_id: Mapped[int | None] = mapped_column(ForeignKey("market_entitlement.id"), index=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"), index=True)
    buyer_label: Mapped[str] = mapped_column(String(120))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"))
    version: Mapped[int | None] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(64))  # the product's fingerprint secret (privacy key ring)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    format: Mapped[str] = mapped_column(String(10))
    rows: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketTrace(Base):
    """One trace of a found file: its name and SHA-256, the verdict (accused buyers with scores and
    confidence, or no match), the positions found and the threshold used."""

    __tablename__ = "market_trace"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("market_product.id"), index=True)
    matched: Mapped[bool] = mapped_column(default=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketHostedJob(Base):
    """A hosted job: the buyer's SQL, released or refused (with the rule and reason), the groups and
    ε released; every job counts against the entitlement."""

    __tablename__ = "market_hosted_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    entitlement_id: Mapped[int | None] = mapped_column(ForeignKey("market_entitlement.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"), index=True)
    sql: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # released | refused
    rule: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    epsilon: Mapped[float | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
