"""0005 → 0006 (market delivery) on a store holding a market: participants, a product with its source,
an order stay; entitlements, file deliveries, traces and hosted jobs can be written and read; the
downgrade removes only the delivery tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, create_engine, inspect, select
from sqlalchemy.orm import Session

from shudata.db.migrate import downgrade, upgrade
from support.migrations import NOW, old_row

DELIVERY = {"market_entitlement", "market_file_delivery", "market_trace", "market_hosted_job"}


def _seed_0005(engine: object) -> None:
    meta = MetaData()
    meta.reflect(engine)  # type: ignore[arg-type]
    assert "market_order" in meta.tables and "market_entitlement" not in meta.tables  # really 0005
    t = meta.tables
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(t["security_department"].insert().values(old_row(t["security_department"], id=1,
                                                                        name="四川省统计局", created_at=NOW)))
        conn.execute(t["catalog_resource"].insert().values(old_row(
            t["catalog_resource"], id=1, code="201001/000001", name="企业经营信息", provider_department_id=1,
            information_items=[], is_deleted=False, created_at=NOW, updated_at=NOW)))
        for pid, name in ((1, "卖方"), (2, "买方")):
            conn.execute(t["market_participant"].insert().values(old_row(
                t["market_participant"], id=pid, name=name, uscc=f"9151010000000000{pid}X", status="approved",
                created_at=NOW, updated_at=NOW)))
        conn.execute(t["market_product"].insert().values(old_row(
            t["market_product"], id=1, code="P-1", name="企业经营信息", seller_id=1, status="listed",
            created_at=NOW, updated_at=NOW)))
        conn.execute(t["market_product_source"].insert().values(old_row(
            t["market_product_source"], id=1, product_id=1, resource_id=1, version=1)))
        conn.execute(t["market_price_plan"].insert().values(old_row(
            t["market_price_plan"], id=1, product_id=1, price_fen=100, created_at=NOW)))
        conn.execute(t["market_order"].insert().values(old_row(
            t["market_order"], id=1, code="O-1", product_id=1, plan_id=1, buyer_id=2, seller_id=1,
            status="delivering", price_fen=100, delivery_mode="offline", created_at=NOW, updated_at=NOW)))


def test_upgrade_from_0005_keeps_the_market_and_the_delivery_tables_work(db_url: str) -> None:
    from shudata.market.delivery.models import MarketEntitlement, MarketFileDelivery, MarketHostedJob, MarketTrace
    from shudata.market.models import MarketOrder

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0005_market")
    _seed_0005(engine)
    upgrade(engine, "0006_market_delivery")
    assert set(inspect(engine).get_table_names()) >= DELIVERY
    with Session(engine) as s, s.begin():
        ent = MarketEntitlement(order_id=1, product_id=1, buyer_id=2, delivery_mode="offline", fields=["a"],
                                expires_at=NOW + dt.timedelta(days=30), calls_used=0, rows_used=0, release_rules={},
                                fingerprint={"key_columns": ["a"], "columns": {"b": 1}})
        s.add(ent)
        s.flush()
        s.add_all([
            MarketFileDelivery(product_id=1, entitlement_id=ent.id, buyer_id=2, buyer_label=f"entitlement:{ent.id}",
                               resource_id=1, version=1, key_id="market-fp-1", spec={}, format="csv", rows=10,
                               sha256="0" * 64, created_by="buyer"),
            MarketTrace(filename="found.csv", sha256="1" * 64, product_id=1, matched=True, result={"accused": []},
                        created_by="operator"),
            MarketHostedJob(entitlement_id=ent.id, product_id=1, buyer_id=2, sql="SELECT 1", status="refused",
                            rule="aggregates_only", groups=0, epsilon=0.5, created_by="buyer"),
        ])
    with Session(engine) as s:
        assert s.scalar(select(MarketOrder.code)) == "O-1"
        assert s.scalar(select(MarketEntitlement.fingerprint))["columns"] == {"b": 1}
        assert s.scalar(select(MarketHostedJob.epsilon)) == 0.5
        assert s.scalar(select(MarketFileDelivery.buyer_label)).startswith("entitlement:")
    downgrade(engine, "0005_market")
    names = set(inspect(engine).get_table_names())
    assert not DELIVERY & names and {"market_order", "market_product"} <= names
    with Session(engine) as s:
        assert s.scalar(select(MarketOrder.status)) == "delivering"
    upgrade(engine)
    engine.dispose()
