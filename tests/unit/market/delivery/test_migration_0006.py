"""0005 → 0006 (market delivery) on a store holding a market: participants, a product with its source,
an order stay; entitlements, file deliveries, traces and hosted jobs can be written and read; the
downgrade removes only the delivery tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from support.migrations import NOW, Step, department, market_order, resource

STEP = Step("0005_market", "0006_market_delivery", has="market_order",
            adds={"market_entitlement", "market_file_delivery", "market_trace", "market_hosted_job"})
ROWS = [department(), resource(), *market_order("delivering", "offline", source=True)]


def test_upgrade_from_0005_keeps_the_market_and_the_delivery_tables_work(db_url: str) -> None:
    from shudata.market.delivery.models import MarketEntitlement, MarketFileDelivery, MarketHostedJob, MarketTrace
    from shudata.market.models import MarketOrder

    with STEP.upgraded(db_url, ROWS) as engine:
        with Session(engine) as s, s.begin():
            ent = MarketEntitlement(order_id=1, product_id=1, buyer_id=2, delivery_mode="offline", fields=["a"],
                                    expires_at=NOW + dt.timedelta(days=30), calls_used=0, rows_used=0,
                                    release_rules={}, fingerprint={"key_columns": ["a"], "columns": {"b": 1}})
            s.add(ent)
            s.flush()
            s.add_all([
                MarketFileDelivery(product_id=1, entitlement_id=ent.id, buyer_id=2,
                                   buyer_label=f"entitlement:{ent.id}", resource_id=1, version=1,
                                   key_id="market-fp-1", spec={}, format="csv", rows=10, sha256="0" * 64,
                                   created_by="buyer"),
                MarketTrace(filename="found.csv", sha256="1" * 64, product_id=1, matched=True,
                            result={"accused": []}, created_by="operator"),
                MarketHostedJob(entitlement_id=ent.id, product_id=1, buyer_id=2, sql="SELECT 1", status="refused",
                                rule="aggregates_only", groups=0, epsilon=0.5, created_by="buyer"),
            ])
        with Session(engine) as s:
            assert s.scalar(select(MarketOrder.code)) == "O-1"
            assert s.scalar(select(MarketEntitlement.fingerprint))["columns"] == {"b": 1}
            assert s.scalar(select(MarketHostedJob.epsilon)) == 0.5
            assert s.scalar(select(MarketFileDelivery.buyer_label)).startswith("entitlement:")
        STEP.downgrade(engine, keeps={"market_order", "market_product"})
        with Session(engine) as s:
            assert s.scalar(select(MarketOrder.status)) == "delivering"
