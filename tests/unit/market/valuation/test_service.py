"""Valuing a product in the store: the quality factor comes from the quality subsystem's latest
scores of the product's catalog entries, comparables from the platform's settled trades of the
same category; the report is kept, shown beside the price (page, JSON, PDF), and refused to others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest

from shudata.catalog.models import CatalogResource
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.market.models import MarketOrder, MarketPricePlan, MarketProduct, MarketProductSource
from shudata.market.valuation import service as V
from shudata.quality.models import QualityRun
from support.market import MarketWorld, market_world
from support.pdftext import pdf_text


@pytest.fixture
def world(rt: Runtime, make_user: Callable[..., Actor], make_department: Callable[..., int]) -> MarketWorld:
    w = market_world(rt, make_user)
    dept = make_department("省市场监管局")
    with rt.transaction() as s:
        for i, score in ((1, 90.0), (2, 80.0), (3, 70.0)):  # two entries for P-1 (mean 85), one for P-2 (70)
            s.add(CatalogResource(code=f"201001/00000{i}", name=f"企业数据{i}", classification="基础", abstract="企业",
                                  provider_department_id=dept, format_category="数据库", format_type="csv",
                                  information_items=[], sharing_type=1, sharing_method="接口", open_type="不予开放",
                                  update_cycle="每月"))
            s.flush()
            rid = s.query(CatalogResource).filter_by(code=f"201001/00000{i}").one().id
            s.add(QualityRun(resource_id=rid, version=1, kind="check", overall_score=score - 10, created_by="t"))
            s.add(QualityRun(resource_id=rid, version=2, kind="check", overall_score=score, created_by="t"))
        for code, status, sources in (("P-1", "listed", (1, 2)), ("P-2", "listed", (3,))):
            p = MarketProduct(code=code, name=f"企业经营数据{code}", seller_id=w.seller_id, category="企业信用",
                              status=status, created_by="seller1")
            s.add(p)
            s.flush()
            for i in sources:
                rid = s.query(CatalogResource).filter_by(code=f"201001/00000{i}").one().id
                s.add(MarketProductSource(product_id=p.id, resource_id=rid))
        p2 = s.query(MarketProduct).filter_by(code="P-2").one()
        plan = MarketPricePlan(product_id=p2.id, kind="one_off", name="一次性", price_fen=5_000_000, created_by="s")
        s.add(plan)
        s.flush()
        s.add(MarketOrder(code="MO-9", product_id=p2.id, plan_id=plan.id, buyer_id=w.buyer_id, seller_id=w.seller_id,
                          status="settled", price_fen=5_000_000, purpose="风控", delivery_mode="online",
                          created_by="buyer1"))
    return w


def pid(rt: Runtime, code: str) -> int:
    with rt.transaction() as s:
        return int(s.query(MarketProduct).filter_by(code=code).one().id)


DATA = V.ValuationCreate(cost=V.CostIn(direct=D(200_000), indirect=D(50_000), factors={"应用系数": D("0.9")}),
                         market=V.MarketIn(), basis_date=dt.date(2026, 12, 7))


def test_values_from_measured_quality_and_platform_trades(rt: Runtime, world: MarketWorld, client: Any) -> None:
    product_id = pid(rt, "P-1")
    with rt.transaction() as s:
        v = V.value_product(session=s, settings=rt.settings, actor=world.seller, product_id=product_id, data=DATA)
        # quality = mean(90, 80) = 85 (the newest scored runs); cost: 250,000 × 0.85 × 0.9 = 191,250
        # market: MO-9 at 50,000 yuan for a product scored 70 → 50,000 × (85/70 = 1.2143) = 60,715 (concluded)
        assert v.quality_score == 85.0
        methods = {m["method"]: m["value"] for m in v.report["methods"]}
        assert methods == {"cost": "191250.00", "market": "60715.00"}
        assert (v.method, v.value_fen) == ("market", 6_071_500)
        assert any("MO-9" in st["label"] for st in v.report["methods"][1]["steps"])
        assert v.report["notes"]  # the two approaches differ by more than 2×: the report says so
    r = client.get(f"/api/v1/market/products/{product_id}/valuation")  # public: the product is listed
    assert r.status_code == 200 and r.json()["value_fen"] == 6_071_500
    page = client.get(f"/market/products/{product_id}/valuation")
    assert page.status_code == 200 and "市场法：60715.00 元" in page.text and "仅供交易双方参考" in page.text
    pdf = client.get(f"/api/v1/market/products/{product_id}/valuation/pdf")
    assert pdf.status_code == 200 and "市场法：60715.00 元" in pdf_text(pdf.content)


def test_refusals(rt: Runtime, world: MarketWorld, client: Any) -> None:
    product_id = pid(rt, "P-1")
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # a buyer is not the seller nor a 评估服务商
        V.value_product(session=s, settings=rt.settings, actor=world.buyer, product_id=product_id, data=DATA)
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        V.value_product(session=s, settings=rt.settings, actor=world.regulator, product_id=product_id, data=DATA)
    with rt.transaction() as s, pytest.raises(NotFound):
        V.value_product(session=s, settings=rt.settings, actor=world.operator, product_id=9999, data=DATA)
    with rt.transaction() as s, pytest.raises(InvalidInput):  # no approach given
        V.value_product(session=s, settings=rt.settings, actor=world.operator, product_id=product_id,
                        data=V.ValuationCreate())
    assert client.get(f"/api/v1/market/products/{product_id}/valuation/pdf").status_code == 404
    with rt.transaction() as s:  # the operator may value any product; unscored products are refused
        s.query(QualityRun).delete()
    with rt.transaction() as s, pytest.raises(InvalidInput) as err:
        V.value_product(session=s, settings=rt.settings, actor=world.operator, product_id=product_id, data=DATA)
    assert err.value.details["field"] == "quality_score"
    bad = client.post(f"/api/v1/market/products/{product_id}/valuations", json={"income": {"incomes": [1],
                                                                                            "discount_rate": 2}})
    assert bad.status_code in (401, 422)


def test_the_api_values_with_the_income_approach(rt: Runtime, world: MarketWorld, client: Any,
                                                 token_for: Any) -> None:
    product_id = pid(rt, "P-1")
    body = {"purpose": "融资质押参考", "income": {"incomes": ["40000", "50000", "60000"], "discount_rate": "0.10",
                                                 "share": "0.25"}, "conclusion": "income"}
    r = client.post(f"/api/v1/market/products/{product_id}/valuations", json=body, headers=token_for("seller1"))
    assert r.status_code == 201, r.text
    # 0.25 × (40,000/1.1 + 50,000/1.21 + 60,000/1.331) = 30,691.21 (tests/unit/market/valuation/test_methods.py)
    assert r.json()["value_fen"] == 3_069_121 and r.json()["report"]["purpose"] == "融资质押参考"
    bad = client.post(f"/api/v1/market/products/{product_id}/valuations", headers=token_for("seller1"),
                      json={"income": {"incomes": ["1"], "discount_rate": "1.5"}})
    assert bad.status_code == 422
    denied = client.post(f"/api/v1/market/products/{product_id}/valuations", json=body, headers=token_for("buyer1"))
    assert denied.status_code == 403
