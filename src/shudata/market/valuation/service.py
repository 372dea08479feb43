"""Value a product (数据资产评估) from the platform's own facts: its measured quality score (the
quality subsystem's latest score of each catalog entry it wraps, averaged) and, for the market
approach, the settled trades of products of the same category as comparable cases. Reports are
kept (``market_valuation``) and shown beside the price; they are advisory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events as ev
from shudata.audit.ledger import record
from shudata.core.clock import local_date, utcnow
from shudata.core.config import Settings
from shudata.core.errors import NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.market.ledger.service import LedgerEvent, append
from shudata.market.models import MarketOrder, MarketProduct, MarketProductSource
from shudata.market.participants import memberships
from shudata.market.valuation import actions
from shudata.market.valuation.methods import Comparable, CostInputs, IncomeInputs, MarketInputs, quality_factor
from shudata.market.valuation.models import MarketValuation
from shudata.market.valuation.report import DEFAULT_ASSUMPTIONS, ValuationRequest, evaluate
from shudata.quality.service import latest_scores
from shudata.security.authz import allowed, require

TRADED = ("settled", "closed")
MAX_COMPARABLES = 20


class CostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preliminary: Decimal = Field(Decimal(0), ge=0, description="前期费用（元）")
    direct: Decimal = Field(Decimal(0), ge=0, description="直接成本（元）")
    indirect: Decimal = Field(Decimal(0), ge=0, description="间接成本（元）")
    opportunity: Decimal = Field(Decimal(0), ge=0, description="机会成本（元）")
    taxes: Decimal = Field(Decimal(0), ge=0, description="相关税费（元）")
    factors: dict[str, Decimal] = Field(default_factory=dict, max_length=10,
                                        description="质量系数以外的调整系数（名称 → 系数），如 应用系数、流通系数")


class IncomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incomes: list[Decimal] = Field(min_length=1, max_length=50, description="逐年预测收益（元）")
    discount_rate: Decimal = Field(gt=0, lt=1, description="折现率，如 0.12")
    share: Decimal = Field(Decimal(1), gt=0, le=1, description="收益分成率")
    mid_year: bool = False


class ComparableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=1, max_length=100)
    price: Decimal = Field(gt=0)
    quality_score: float = Field(ge=0, le=100)
    rows: int | None = Field(None, ge=1)
    supply_demand: Decimal = Field(Decimal(1), gt=0)
    date_factor: Decimal = Field(Decimal(1), gt=0)
    other: Decimal = Field(Decimal(1), gt=0)


class MarketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform_trades: bool = Field(True, description="以本平台同类数据产品的已结算交易为可比案例")
    comparables: list[ComparableIn] = Field(default_factory=list, max_length=50, description="评估人补充的可比案例")
    rows: int | None = Field(None, ge=1, description="评估对象数据量（行），按数据量修正时需要")
    volume_adjust: bool = False


class ValuationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str = Field("挂牌交易定价参考", min_length=1, max_length=200)
    basis_date: dt.date | None = None
    cost: CostIn | None = None
    income: IncomeIn | None = None
    market: MarketIn | None = None
    conclusion: Literal["cost", "income", "market"] | None = None
    assumptions: list[str] | None = Field(None, max_length=20)


@dataclass(frozen=True)
class Trade:
    """A settled trade usable as a comparable case."""

    code: str
    price_fen: int
    quality_score: float | None
    traded_on: dt.date


def product_quality(session: Session, product: MarketProduct) -> float | None:
    """The product's measured quality: the mean of its catalog entries' latest scores (None: unscored)."""
    ids = list(session.scalars(select(MarketProductSource.resource_id).where(
        MarketProductSource.product_id == product.id)))
    scores = latest_scores(session, ids)
    return round(sum(scores.values()) / len(scores), 2) if scores else None


def platform_trades(session: Session, product: MarketProduct) -> list[Trade]:
    """Settled trades of products of the same category (the product's own included), newest first."""
    stmt = (select(MarketOrder, MarketProduct).join(MarketProduct, MarketProduct.id == MarketOrder.product_id)
            .where(MarketOrder.status.in_(TRADED), MarketProduct.category == product.category)
            .order_by(MarketOrder.updated_at.desc()).limit(MAX_COMPARABLES))
    out: list[Trade] = []
    cache: dict[int, float | None] = {}
    for order, prod in session.execute(stmt):
        if prod.id not in cache:
            cache[prod.id] = product_quality(session, prod)
        out.append(Trade(order.code, order.price_fen, cache[prod.id], local_date(order.updated_at)))
    return out


def comparables(trades: Sequence[Trade]) -> list[Comparable]:
    """Trades with a quality score, as comparable cases (price in yuan)."""
    return [Comparable(ref=t.code, price=Decimal(t.price_fen) / 100, quality_score=t.quality_score,
                       traded_on=t.traded_on) for t in trades if t.quality_score]


def request_for(product: MarketProduct, quality: float | None, data: ValuationCreate, trades: Sequence[Trade],
                *, basis_date: dt.date, valuer: str) -> ValuationRequest:
    """The pure request: the measured quality becomes the cost approach's 质量系数 and the market
    approach's subject score; platform trades join the valuer's own comparables."""
    cost = income = market = None
    if data.cost is not None:
        factors = {"质量系数": quality_factor(quality), **data.cost.factors}
        cost = CostInputs(data.cost.preliminary, data.cost.direct, data.cost.indirect, data.cost.opportunity,
                          data.cost.taxes, factors)
    if data.income is not None:
        income = IncomeInputs(data.income.incomes, data.income.discount_rate, data.income.share, data.income.mid_year)
    if data.market is not None:
        comps = comparables(trades) if data.market.platform_trades else []
        comps += [Comparable(c.ref, c.price, c.quality_score, c.rows, None, c.supply_demand, c.date_factor, c.other)
                  for c in data.market.comparables]
        market = MarketInputs(quality, comps, rows=data.market.rows, volume_adjust=data.market.volume_adjust)
    return ValuationRequest(product=f"{product.name}（{product.code}）", purpose=data.purpose, basis_date=basis_date,
                            quality_score=quality, cost=cost, income=income, market=market,
                            conclusion=data.conclusion, assumptions=tuple(data.assumptions or DEFAULT_ASSUMPTIONS),
                            valuer=valuer)


def _product(session: Session, product_id: int) -> MarketProduct:
    product = session.get(MarketProduct, product_id)
    if product is None:
        raise NotFound(f"数据产品 {product_id} 不存在", "Product not found", code="product_not_found")
    return product


def _may_value(session: Session, actor: Actor, product: MarketProduct) -> bool:
    if allowed(actor, actions.VALUATION_ANY):
        return True
    # the seller (a department under 授权运营 through its stewards) or a 数据评估服务商
    return any(p.status == "approved" and (p.id == product.seller_id or "valuation_service" in (p.kinds or []))
               for p in memberships(session, actor))


def value_product(*, session: Session, settings: Settings, actor: Actor, product_id: int,
                  data: ValuationCreate) -> MarketValuation:
    """Value ``product_id`` (its seller, a 数据评估服务商, or the exchange) and keep the report."""
    require(actor, actions.VALUATION_CREATE)
    product = _product(session, product_id)
    if not _may_value(session, actor, product):
        raise PermissionDenied("只有该产品的卖方、数据评估服务商或交易所可以评估其价值",
                               "Only the seller, a valuation service or the exchange may value it",
                               code="permission_denied", details={"action": actions.VALUATION_CREATE.name})
    quality = product_quality(session, product)
    trades = platform_trades(session, product) if data.market and data.market.platform_trades else []
    basis = data.basis_date or local_date(utcnow(), settings.timezone)
    req = request_for(product, quality, data, trades, basis_date=basis, valuer=actor.username)
    report = evaluate(req, now=utcnow())
    row = MarketValuation(product_id=product.id, value_fen=int(report.value * 100), method=report.conclusion.method,
                          quality_score=quality, report=report.as_dict(), created_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor, ev.MarketValuationCreate(resource_id=str(row.id), details={
        "product_id": product.id, "value_fen": row.value_fen, "method": row.method}))
    append(session, LedgerEvent(kind="market.valuation.create", subject_type="product", subject_id=product.code,
                                actor=actor.username, payload={"valuation": row.id, "value_fen": row.value_fen,
                                                               "method": row.method, "quality": quality}),
           settings=settings)
    return row


def no_valuation(product_id: int) -> NotFound:
    return NotFound(f"数据产品 {product_id} 尚无评估报告", "The product has not been valued yet",
                    code="valuation_not_found")


def latest(*, session: Session, actor: Actor, product_id: int) -> MarketValuation | None:
    """The newest valuation of a product (public for a listed product; its seller and the exchange
    otherwise)."""
    require(actor, actions.VALUATION_VIEW)
    product = _product(session, product_id)
    if product.status != "listed" and not _may_value(session, actor, product):
        raise NotFound(f"数据产品 {product_id} 不存在", "Product not found", code="product_not_found")
    return session.scalar(select(MarketValuation).where(MarketValuation.product_id == product_id)
                          .order_by(MarketValuation.id.desc()).limit(1))
