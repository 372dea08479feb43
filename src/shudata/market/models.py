"""Market tables (数据交易): participants, products, price plans, orders, contracts, settlement.

Money is stored in fen (分, ``BigInteger``), never as floats. Statuses are the string values of
the enums in :mod:`shudata.market.states`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class MarketParticipant(Base):
    """A 交易主体: an enterprise (or a government department selling public data under 授权运营).

    ``kinds`` lists what it acts as: ``seller`` (供方), ``buyer`` (需方) and the 数商 service
    types (``delivery_service``, ``valuation_service``, ``broker``, ``consulting``,
    ``other_service``). ``status``: pending → approved | refused; approved → suspended → approved;
    approved | suspended → revoked. ``grade`` (A/B/C) is set by the exchange operator.
    """

    __tablename__ = "market_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    entity_type: Mapped[str] = mapped_column(String(20), default="enterprise")  # enterprise | department
    department_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"), index=True)
    kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    legal_representative: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    authorisation: Mapped[str | None] = mapped_column(Text)  # 授权运营 basis (departments)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    grade: Mapped[str | None] = mapped_column(String(1))
    reason: Mapped[str | None] = mapped_column(Text)  # the last refusal / suspension / revocation reason
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketMember(Base):
    """A platform account acting for a participant (its enterprise users log in as accounts)."""

    __tablename__ = "market_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("security_user.id"), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # the participant's own administrator
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketDocument(Base):
    """A qualification document (营业执照, 资质证书, 授权运营协议 …), stored SM4-encrypted under a
    per-document data key wrapped with the platform master key; ``sha256`` of the plain bytes."""

    __tablename__ = "market_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketReview(Base):
    """One decision of the exchange operator on a participant (history; the audit trail has it too)."""

    __tablename__ = "market_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # approve | refuse | suspend | reinstate | revoke | grade
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(1))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketSigningKey(Base):
    """An SM2 key pair held by the exchange for a signer: ``participant_id`` NULL is the exchange's
    own key. The private key is wrapped with the platform master key (SM4-GCM)."""

    __tablename__ = "market_signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id", ondelete="CASCADE"),
                                                       unique=True)
    public_key: Mapped[str] = mapped_column(String(200))
    private_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketProduct(Base):
    """A 数据产品: catalog entries (``MarketProductSource``) with a 产品说明书 (``sheet``), a masked
    sample, delivery modes, masking profile and the rights the seller claims.

    ``status``: draft → reviewing → listed | refused; listed → delisted → reviewing (re-listing).
    """

    __tablename__ = "market_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    seller_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)
    category: Mapped[str] = mapped_column(String(100), default="")
    sheet: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    delivery_modes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    masking_profile: Mapped[str] = mapped_column(String(40), default="trade")
    rights: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_evidence: Mapped[str] = mapped_column(Text, default="")  # 数据来源合法性说明
    personal_authorisation: Mapped[str | None] = mapped_column(Text)  # 个人信息授权依据
    contains_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    sample: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"columns": [...], "rows": [...]}
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # last 合规/质量 assessment
    derivation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # desensitized derivative: lineage, risk
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    listed_at: Mapped[dt.datetime | None]


class MarketProductSource(Base):
    """A catalog entry (and optionally a pinned version; NULL = the latest) a product wraps."""

    __tablename__ = "market_product_source"
    __table_args__ = (UniqueConstraint("product_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer)


class MarketListingEvent(Base):
    """Listing history: submit, approve, refuse, delist, relist — with the assessment at the time."""

    __tablename__ = "market_listing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketPricePlan(Base):
    """A price plan: ``one_off``, ``subscription`` (``period_days``, ``auto_renew``), ``metered``
    (``unit`` call | rows_1000, ``free_units``, ``monthly_cap_fen``) or ``private`` (an offer for
    one ``buyer_id``, one-off price, valid until ``valid_until``)."""

    __tablename__ = "market_price_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    price_fen: Mapped[int] = mapped_column(BigInteger)  # one-off / per period / per unit
    period_days: Mapped[int | None] = mapped_column(Integer)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    unit: Mapped[str | None] = mapped_column(String(20))
    free_units: Mapped[int] = mapped_column(BigInteger, default=0)
    monthly_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"), index=True)
    valid_until: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketOrder(Base):
    """An order (交易订单) and where it stands in :data:`shudata.market.states.ORDER_MACHINE`."""

    __tablename__ = "market_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("market_price_plan.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("market_participant.id"), index=True)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"))  # 数商 (fee)
    status: Mapped[str] = mapped_column(String(20), default="inquiry", index=True)
    price_fen: Mapped[int] = mapped_column(BigInteger)  # the price on the table (last offer / agreed)
    purpose: Mapped[str] = mapped_column(Text)  # 用途 / scenario
    territory: Mapped[str] = mapped_column(String(100), default="中华人民共和国境内")
    term_days: Mapped[int] = mapped_column(Integer, default=365)
    delivery_mode: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(Text)  # refusal / termination / dispute reason
    accept_due_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketOffer(Base):
    """An offer or counter-offer in an order's negotiation."""

    __tablename__ = "market_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(10))  # buyer | seller
    price_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketOrderEvent(Base):
    """One transition of an order (its history)."""

    __tablename__ = "market_order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketContract(Base):
    """The contract of an order: the rendered Chinese text, its canonical terms and SM3 digest.
    Signed by buyer, seller and exchange (``MarketSignature``)."""

    __tablename__ = "market_contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))  # SM3 of the canonical document
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketSignature(Base):
    """One party's SM2 signature over a contract's digest."""

    __tablename__ = "market_signature"
    __table_args__ = (UniqueConstraint("contract_id", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("market_contract.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(10))  # buyer | seller | exchange
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"))
    public_key: Mapped[str] = mapped_column(String(200))
    signature: Mapped[str] = mapped_column(String(300))
    signed_by: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketAccount(Base):
    """A bookkeeping account: ``escrow``, ``exchange_fee`` (participant NULL) or ``buyer``,
    ``seller``, ``broker_fee`` (of a participant)."""

    __tablename__ = "market_account"
    __table_args__ = (UniqueConstraint("kind", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("market_participant.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketJournal(Base):
    """A balanced journal entry (its postings sum to zero) for one order."""

    __tablename__ = "market_journal"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("market_order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # fund | settle | refund
    memo: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarketPosting(Base):
    """One line of a journal entry: ``amount_fen`` > 0 debits, < 0 credits the account."""

    __tablename__ = "market_posting"
    __table_args__ = (Index("ix_market_posting_account_journal", "account_id", "journal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("market_journal.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("market_account.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
