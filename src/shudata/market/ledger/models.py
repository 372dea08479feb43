"""Ledger tables: the chained entries, the exchange's signed checkpoints and the single head."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shudata.db.base import Base


class MarketLedgerEntry(Base):
    """One market event (存证记录), chained: ``hash = SM3(prev_hash || canonical(entry))``."""

    __tablename__ = "market_ledger_entry"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    ts: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(80), index=True)  # e.g. market.order.settled
    actor: Mapped[str] = mapped_column(String(120))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(120), index=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class MarketLedgerCheckpoint(Base):
    """The exchange's SM2 signature over the chain head at ``seq`` (存证检查点)."""

    __tablename__ = "market_ledger_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(200))
    signature: Mapped[str] = mapped_column(String(200))
    ts: Mapped[dt.datetime]


class MarketLedgerHead(Base):
    """The single chain head (id 1), locked by every append."""

    __tablename__ = "market_ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
