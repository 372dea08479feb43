"""0006 → 0007 (ledger, rights, valuation) on a store holding a market: participants, a product and
an order stay; ledger entries, checkpoints, registrations, objections, licences and valuations can be
written and read; the downgrade removes only these tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, create_engine, inspect, select
from sqlalchemy.orm import Session

from shudata.db.migrate import downgrade, upgrade
from support.migrations import NOW, old_row

TABLES = {"market_ledger_entry", "market_ledger_checkpoint", "market_ledger_head", "market_rights_registration",
          "market_rights_objection", "market_licence", "market_valuation"}


def _seed_0006(engine: object) -> None:
    meta = MetaData()
    meta.reflect(engine)  # type: ignore[arg-type]
    assert "market_entitlement" in meta.tables and "market_ledger_entry" not in meta.tables  # really 0006
    t = meta.tables
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for pid, name in ((1, "卖方"), (2, "买方")):
            conn.execute(t["market_participant"].insert().values(old_row(
                t["market_participant"], id=pid, name=name, uscc=f"9151010000000000{pid}X", status="approved",
                created_at=NOW, updated_at=NOW)))
        conn.execute(t["market_product"].insert().values(old_row(
            t["market_product"], id=1, code="P-1", name="企业经营信息", seller_id=1, status="listed",
            created_at=NOW, updated_at=NOW)))
        conn.execute(t["market_price_plan"].insert().values(old_row(
            t["market_price_plan"], id=1, product_id=1, price_fen=100, created_at=NOW)))
        conn.execute(t["market_order"].insert().values(old_row(
            t["market_order"], id=1, code="O-1", product_id=1, plan_id=1, buyer_id=2, seller_id=1,
            status="settled", price_fen=100, delivery_mode="online", created_at=NOW, updated_at=NOW)))


def test_upgrade_from_0006_keeps_the_market_and_the_new_tables_work(db_url: str) -> None:
    from shudata.market.ledger.models import MarketLedgerCheckpoint, MarketLedgerEntry, MarketLedgerHead
    from shudata.market.models import MarketOrder
    from shudata.market.rights.models import MarketLicence, MarketRightsObjection, MarketRightsRegistration
    from shudata.market.valuation.models import MarketValuation

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0006_market_delivery")
    _seed_0006(engine)
    upgrade(engine, "0007_market_rights")
    assert set(inspect(engine).get_table_names()) >= TABLES
    with Session(engine) as s, s.begin():
        s.add_all([MarketLedgerEntry(seq=1, ts=NOW, kind="market.order.settle", actor="op", subject_type="order",
                                     subject_id="O-1", payload="{}", prev_hash="0" * 64, hash="a" * 64),
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
                   MarketLicence(number="LIC1", product_id=1, order_id=1, licensor_id=1, licensee_id=2, scope="建模",
                                 valid_from=dt.date(2026, 12, 7), created_by="system"),
                   MarketValuation(product_id=1, value_fen=100, method="cost", report={"methods": []},
                                   created_by="seller")])
    with Session(engine) as s:
        assert s.scalar(select(MarketOrder.code)) == "O-1"
        assert s.scalar(select(MarketRightsRegistration.evidence))[0]["name"] == "授权书"
        assert s.scalar(select(MarketLicence.order_id)) == 1
        assert s.scalar(select(MarketLedgerEntry.hash)) == "a" * 64
    downgrade(engine, "0006_market_delivery")
    names = set(inspect(engine).get_table_names())
    assert not TABLES & names and {"market_order", "market_entitlement"} <= names
    upgrade(engine)
    engine.dispose()
