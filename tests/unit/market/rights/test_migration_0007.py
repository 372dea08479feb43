"""0006 → 0007 (ledger, rights, valuation) on a store holding a market: participants, a product and
an order stay; ledger entries, checkpoints, registrations, objections, licences and valuations can be
written and read; the downgrade removes only these tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from support.migrations import NOW, Step, market_order

STEP = Step("0006_market_delivery", "0007_market_rights", has="market_entitlement", adds={
    "market_ledger_entry", "market_ledger_checkpoint", "market_ledger_head", "market_rights_registration",
    "market_rights_objection", "market_licence", "market_valuation"})


def test_upgrade_from_0006_keeps_the_market_and_the_new_tables_work(db_url: str) -> None:
    from shudata.market.ledger.models import MarketLedgerCheckpoint, MarketLedgerEntry, MarketLedgerHead
    from shudata.market.models import MarketOrder
    from shudata.market.rights.models import MarketLicence, MarketRightsObjection, MarketRightsRegistration
    from shudata.market.valuation.models import MarketValuation

    with STEP.upgraded(db_url, market_order("settled", "online")) as engine:
        with Session(engine) as s, s.begin():
            s.add_all([MarketLedgerEntry(seq=1, ts=NOW, kind="market.order.settle", actor="op",
                                         subject_type="order", subject_id="O-1", payload="{}", prev_hash="0" * 64,
                                         hash="a" * 64),
                       MarketLedgerCheckpoint(seq=1, head_hash="a" * 64, public_key="k", signature="s", ts=NOW),
                       MarketLedgerHead(id=1, seq=1, hash="a" * 64)])
            reg = MarketRightsRegistration(number="RA1", right="holding", reg_type="initial", status="notice",
                                           applicant_id=1, holder_id=1, product_id=1, subject="企业经营信息",
                                           evidence=[{"name": "授权书", "digest": "b" * 64}],
                                           notice_end=dt.date(2027, 1, 4), created_by="seller")
            s.add(reg)
            s.flush()
            s.add_all([MarketRightsObjection(registration_id=reg.id, objector="买方", reason="异议理由",
                                             created_by="buyer"),
                       MarketLicence(number="LIC1", product_id=1, order_id=1, licensor_id=1, licensee_id=2,
                                     scope="建模", valid_from=dt.date(2026, 12, 7), created_by="system"),
                       MarketValuation(product_id=1, value_fen=100, method="cost", report={"methods": []},
                                       created_by="seller")])
        with Session(engine) as s:
            assert s.scalar(select(MarketOrder.code)) == "O-1"
            assert s.scalar(select(MarketRightsRegistration.evidence))[0]["name"] == "授权书"
            assert s.scalar(select(MarketLicence.order_id)) == 1
            assert s.scalar(select(MarketLedgerEntry.hash)) == "a" * 64
        STEP.downgrade(engine, keeps={"market_order", "market_entitlement"})
