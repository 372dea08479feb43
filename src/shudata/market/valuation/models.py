"""Valuations kept beside a product's price: the report as computed, with every input."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class MarketValuation(Base):
    """One valuation report (数据资产评估报告, advisory) of a product."""

    __tablename__ = "market_valuation"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("market_product.id", ondelete="CASCADE"), index=True)
    value_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))  # the concluding approach: cost | income | market
    quality_score: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)  # ValuationReport.as_dict()
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
