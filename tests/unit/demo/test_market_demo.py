"""The market part of the demo: approved enterprises, 省统计局 under 授权运营 with a listed product, a
settled, closed order whose books reconcile, a settled order delivered as a fingerprinted file that traces
back to its buyer, a hosted order with a released job, and a registration in its notice period — loaded
through the services, once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shudata.demo.accounts import demo_users
from shudata.demo.entries import ENTRIES
from shudata.demo.loader import load_demo
from shudata.demo.market import DERIVED_NAME, GDP, PASSWORD, UPLOAD_NAME, UPLOAD_ROWS
from shudata.market import settlement
from shudata.market.delivery import service as delivery
from shudata.market.delivery.models import MarketEntitlement, MarketFileDelivery, MarketHostedJob
from shudata.market.models import MarketOrder, MarketParticipant, MarketProduct
from shudata.market.rights.models import MarketRightsRegistration
from shudata.market.valuation.models import MarketValuation
from shudata.security.models import User
from shudata.security.service import actor_for, authenticate


def test_the_demo_market_has_a_settled_order(rt: Any) -> None:
    entries = [e for e in ENTRIES if e.code == GDP]
    report = load_demo(rt, users=demo_users(), entries=entries)
    assert not report.failed, report.failed
    with rt.transaction() as s:
        parts = {p.name: p for p in s.scalars(select(MarketParticipant))}
        assert {p.status for p in parts.values()} == {"approved"} and len(parts) == 3
        assert parts["省统计局"].entity_type == "department"
        products = {p.name: p for p in s.scalars(select(MarketProduct))}
        product = products["四川省分省地区生产总值（授权运营）"]
        assert product.status == "listed" and product.sample["rows"]
        # 天府数据's own upload (draft) and its k-anonymised derivative (listed, grade A buyers only)
        upload, derived = products[UPLOAD_NAME], products[DERIVED_NAME]
        assert upload.status == "draft" and upload.seller_id == parts["四川天府数据科技有限公司"].id
        assert derived.status == "listed" and derived.contains_personal and derived.derivation is not None
        assert derived.derivation["source"]["product_id"] == upload.id and derived.derivation["parameters"]["k"] == 5
        assert derived.derivation["risk"]["prosecutor_max"] <= rt.settings.market_derivative_max_risk
        assert derived.derivation["risk_before"]["rows"] == UPLOAD_ROWS
        orders = {o.delivery_mode: o for o in s.scalars(select(MarketOrder))}
        assert orders["api"].status == "closed" and orders["api"].price_fen == 4_500_000
        assert orders["file"].status == "settled" and orders["hosted"].status == "delivering"
        assert settlement.reconcile(s) == {"unbalanced_journals": 0, "total_fen": 0}
        (job,) = s.scalars(select(MarketHostedJob))
        assert job.status == "released"
        regs = {r.right: r for r in s.scalars(select(MarketRightsRegistration))}
        assert regs["operating"].status == "notice" and regs["operating"].notice_end is not None
        assert regs["holding"].status == "registered" and regs["holding"].certificate_number
        assert s.scalars(select(MarketValuation)).one().method == "cost"
        ent = s.scalar(select(MarketEntitlement).where(MarketEntitlement.order_id == orders["file"].id))
        assert ent is not None and s.scalars(select(MarketFileDelivery)).one().entitlement_id == ent.id
        buyer = s.scalar(select(User).where(User.username == "shuxin_credit"))
        assert buyer is not None
        got = delivery.deliver_file(session=s, settings=rt.settings, actor=actor_for(buyer), entitlement_id=ent.id)
        exchange = s.scalar(select(User).where(User.username == "exchange"))
        assert exchange is not None
        verdict = delivery.trace_file(session=s, settings=rt.settings, actor=actor_for(exchange),
                                      content=got.file.read(), filename="found.csv")
        assert verdict["matched"], verdict
        assert [a["buyer_id"] for a in verdict["accused"]] == [parts["四川蜀信征信服务有限公司"].id], verdict
        for username in ("exchange", "regulator", "tianfu_data", "shuxin_credit"):
            assert authenticate(session=s, username=username, password=PASSWORD).username == username
    again = load_demo(rt, users=demo_users(), entries=entries)
    assert not again.failed and again.created == []
