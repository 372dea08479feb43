"""Rights registration tables: registrations (with their certificate once registered), objections
filed during the public notice, and licences of 数据加工使用权 issued to buyers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class MarketRightsRegistration(Base):
    """One registration (确权登记申请) and, once registered, its certificate (登记证书).

    ``right`` and ``reg_type`` are the values of :mod:`shudata.market.rights.states`; ``target_id``
    is the registered certificate a 许可/转移/变更/注销/撤销/异议 registration acts on; ``counterparty``
    the licensee or transferee. ``evidence`` lists the documents shown (name, SM3 digest, note).
    ``certificate`` is the canonical JSON the exchange signed (``signature``, SM2, by ``public_key``).
    """

    __tablename__ = "market_rights_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 申请编号
    right: Mapped[str] = mapped_column(String(20), index=True)
    reg_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)
    counterparty_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)  # 证书权利人
    product_id: Mapped[int | None] = mapped_column(ForeignKey("market_product.id"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("market_rights_registration.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))  # 登记对象（数据资源 / 数据产品名称）
    description: Mapped[str] = mapped_column(Text, default="")  # 来源、范围、内容
    scope: Mapped[str | None] = mapped_column(Text)  # 许可 / 使用范围
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    notice_start: Mapped[dt.date | None] = mapped_column(Date)
    notice_end: Mapped[dt.date | None] = mapped_column(Date)  # last working day of the notice
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)  # an 异议登记 stands on it
    certificate_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    certificate: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(String(200))
    public_key: Mapped[str | None] = mapped_column(String(200))
    issued_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]  # cancelled / revoked / superseded
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("market_rights_registration.id"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketRightsObjection(Base):
    """An objection (异议) filed during a registration's public notice."""

    __tablename__ = "market_rights_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("market_rights_registration.id", ondelete="CASCADE"),
                                                 index=True)
    objector: Mapped[str] = mapped_column(String(200))  # 异议人（单位或个人名称）
    objector_participant_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | dismissed | upheld
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketLicence(Base):
    """A licence of 数据加工使用权 (许可记录): issued to a buyer by a purchase, or by a 许可登记."""

    __tablename__ = "market_licence"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    right: Mapped[str] = mapped_column(String(20), default="processing")
    product_id: Mapped[int | None] = mapped_column(ForeignKey("market_product.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("market_order.id"), unique=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("market_rights_registration.id"))
    licensor_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"))
    licensee_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)
    scope: Mapped[str] = mapped_column(Text)  # 用途 / 使用范围
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | ended
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
