"""A whole trade through the market's own services (inquiry → contract → three SM2 signatures →
escrow → delivery → acceptance → settlement): the buyer of a product offering 数据加工使用权 gets a
licence when delivery starts, every step is on the ledger in order, and the ledger verifies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.market import orders as O
from shudata.market import products as PR
from shudata.market.ledger import service as L
from shudata.market.ledger.models import MarketLedgerEntry
from shudata.market.models import MarketOrder
from shudata.market.rights import service as R
from shudata.market.schemas import ListingDecision, OrderCreate, PlanCreate, ProductCreate, ProductSheet, SourceRef
from support.market import FINGERPRINTS, department_seller, enterprise


def test_a_purchase_licences_the_buyer_and_the_ledger_holds_the_trade(rt: Runtime, make_user: Any,
                                                                      make_department: Any) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    ds = department_seller(rt, make_user, make_department, operator=op)
    buyer_id, buyer = enterprise(rt, 31, "buyer31", "buyer", grade="A", operator=op)
    with rt.transaction() as s:
        p = PR.create_product(session=s, actor=ds.steward, data=ProductCreate(
            seller_id=ds.participant_id, name="市州地区生产总值", sources=[SourceRef(resource=ds.gdp)],
            sheet=ProductSheet(content="各市州 GDP", scenarios=["区域经济研究"], fingerprint=FINGERPRINTS["gdp"]),
            delivery_modes=["api", "file"],
            rights=["holding", "processing", "operating"], source_evidence="统计公报"))
        plan = PR.create_plan(session=s, actor=ds.steward, product_id=p.id, data=PlanCreate(
            kind="one_off", name="一次性购买", price_fen=500_000))
    with rt.transaction() as s:
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
        PR.review_product(session=s, actor=op, product_id=p.id, data=ListingDecision(decision="approve"))
    with rt.transaction() as s:
        order_id = O.create_order(session=s, actor=buyer, data=OrderCreate(
            buyer_id=buyer_id, product_id=p.id, plan_id=plan.id, purpose="区域经济研究报告",
            delivery_mode="file")).id
    with rt.transaction() as s:
        O.agree(session=s, actor=ds.steward, settings=rt.settings, order_id=order_id)
    for who in (buyer, ds.steward, op):
        with rt.transaction() as s:
            O.sign(session=s, actor=who, settings=rt.settings, order_id=order_id)
    with rt.transaction() as s:
        O.fund(session=s, actor=op, order_id=order_id)
        assert R.licences(session=s, actor=buyer) == []  # not before delivery
        O.start_delivery(session=s, actor=ds.steward, settings=rt.settings, order_id=order_id)
    with rt.transaction() as s:
        [lic] = R.licences(session=s, actor=buyer)
        code = s.get(MarketOrder, order_id).code  # type: ignore[union-attr]
        assert (lic.licensee_id, lic.licensor_id, lic.scope, lic.status) == (
            buyer_id, ds.participant_id, "区域经济研究报告", "active")
        O.accept(session=s, actor=buyer, order_id=order_id)
        O.settle(session=s, actor=op, settings=rt.settings, order_id=order_id)
    with rt.transaction() as s:
        trade = [e.kind for e in s.scalars(select(MarketLedgerEntry).where(MarketLedgerEntry.subject_id == code)
                                           .order_by(MarketLedgerEntry.seq))]
        report = L.verify_ledger(session=s, settings=rt.settings, actor=Actor.system())
    steps = [k for k in trade if k in {"market.order.inquire", "market.order.agree", "market.order.sign",
                                       "market.order.fund", "market.order.deliver", "market.order.accept",
                                       "market.order.settle"}]
    assert steps[0] == "market.order.inquire" and steps[-2:] == ["market.order.accept", "market.order.settle"]
    assert steps.index("market.order.fund") < steps.index("market.order.deliver")
    assert steps.count("market.order.sign") == 3
    assert report.ok, report.problems
