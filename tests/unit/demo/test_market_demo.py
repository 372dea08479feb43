"""The market part of the demo: approved enterprises, 省统计局 under 授权运营 with a listed product, and a
settled, closed order whose books reconcile — loaded through the services, once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shudata.demo.accounts import demo_users
from shudata.demo.entries import ENTRIES
from shudata.demo.loader import load_demo
from shudata.demo.market import GDP, PASSWORD
from shudata.market import settlement
from shudata.market.models import MarketOrder, MarketParticipant, MarketProduct
from shudata.security.service import authenticate


def test_the_demo_market_has_a_settled_order(rt: Any) -> None:
    entries = [e for e in ENTRIES if e.code == GDP]
    report = load_demo(rt, users=demo_users(), entries=entries)
    assert not report.failed, report.failed
    with rt.transaction() as s:
        parts = {p.name: p for p in s.scalars(select(MarketParticipant))}
        assert {p.status for p in parts.values()} == {"approved"} and len(parts) == 3
        assert parts["省统计局"].entity_type == "department"
        product = s.scalars(select(MarketProduct)).one()
        assert product.status == "listed" and product.sample["rows"]
        order = s.scalars(select(MarketOrder)).one()
        assert order.status == "closed" and order.price_fen == 4_500_000
        assert settlement.reconcile(s) == {"unbalanced_journals": 0, "total_fen": 0}
        for username in ("exchange", "regulator", "tianfu_data", "shuxin_credit"):
            assert authenticate(session=s, username=username, password=PASSWORD).username == username
    again = load_demo(rt, users=demo_users(), entries=entries)
    assert not again.failed and again.created == []
