"""0004 → 0005 (the market core) on a store holding data: departments, accounts, catalog entries,
versions and saved queries stay; participants, products, orders and postings can be written and
read; the downgrade removes only the market tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.migrations import Step, department, lake_version, resource, saved_query, user

STEP = Step("0004_workbench", "0005_market", has="query_saved", adds={
    "market_participant", "market_member", "market_document", "market_review", "market_signing_key",
    "market_product", "market_product_source", "market_listing_event", "market_price_plan", "market_order",
    "market_offer", "market_order_event", "market_contract", "market_signature", "market_account",
    "market_journal", "market_posting"})

# What the demo leaves: a department, a steward and a seller's account, an entry with a version, a saved query.
ROWS = [department(), user(1, "tj_steward", roles=["data_steward"]),
        user(2, "seller_admin", department_id=None, roles=[]), resource(), lake_version(), saved_query()]


def test_upgrade_from_0004_keeps_the_data_and_the_market_tables_work(db_url: str) -> None:
    from shudata.catalog.models import CatalogResource
    from shudata.market.models import (
        MarketAccount,
        MarketJournal,
        MarketMember,
        MarketOrder,
        MarketParticipant,
        MarketPosting,
        MarketPricePlan,
        MarketProduct,
        MarketProductSource,
    )
    from shudata.query.models import QuerySaved

    with STEP.upgraded(db_url, ROWS) as engine:
        with Session(engine) as s, s.begin():
            dept = MarketParticipant(name="四川省统计局", uscc="11510000008283780P", entity_type="department",
                                     department_id=1, kinds=["seller"], legal_representative="张三",
                                     contact_name="李四", contact_phone="028-86000000", status="approved", grade="A",
                                     created_by="system")
            buyer = MarketParticipant(name="成都数智科技有限公司", uscc="91510100MA61R8XX0W", kinds=["buyer"],
                                      legal_representative="王五", contact_name="赵六", contact_phone="13800000000",
                                      status="approved", grade="B", created_by="seller_admin")
            s.add_all([dept, buyer])
            s.flush()
            s.add(MarketMember(participant_id=buyer.id, user_id=2, is_admin=True))
            product = MarketProduct(code="P-0001", name="市州经济指标", seller_id=dept.id, sheet={"content": "GDP"},
                                    delivery_modes=["api"], status="listed", created_by="tj_steward")
            s.add(product)
            s.flush()
            s.add(MarketProductSource(product_id=product.id, resource_id=1, version=1))
            plan = MarketPricePlan(product_id=product.id, kind="one_off", name="一次性", price_fen=1_000_000,
                                   created_by="tj_steward")
            s.add(plan)
            s.flush()
            order = MarketOrder(code="O-0001", product_id=product.id, plan_id=plan.id, buyer_id=buyer.id,
                                seller_id=dept.id, price_fen=1_000_000, purpose="区域经济研究", delivery_mode="api",
                                created_by="seller_admin")
            escrow, bacct = MarketAccount(kind="escrow"), MarketAccount(kind="buyer", participant_id=buyer.id)
            s.add_all([order, escrow, bacct])
            s.flush()
            journal = MarketJournal(order_id=order.id, kind="fund", actor="seller_admin")
            s.add(journal)
            s.flush()
            s.add_all([MarketPosting(journal_id=journal.id, account_id=escrow.id, amount_fen=1_000_000),
                       MarketPosting(journal_id=journal.id, account_id=bacct.id, amount_fen=-1_000_000)])
        with Session(engine) as s:
            res = s.get(CatalogResource, 1)
            assert res is not None and res.information_items[1]["name"] == "地区生产总值"
            assert s.scalar(select(QuerySaved.name)) == "GDP"
            assert s.scalar(select(sa.func.sum(MarketPosting.amount_fen))) == 0
            assert s.scalar(select(MarketOrder.status)) == "inquiry"
            assert s.scalar(select(MarketProduct.masking_profile)) == "trade"
        STEP.downgrade(engine, keeps={"catalog_resource", "query_saved"})
        with Session(engine) as s:
            assert s.scalar(select(CatalogResource.code)) == "201001/000001"
