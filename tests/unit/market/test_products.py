"""数据产品: creation over a department's entries, the listing review (不合规不挂牌、无场景不交易, the
privacy gate on the masked deliverable, quality), de-listing and re-listing, price plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shudata.audit.models import AuditEntry
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.market import products as PR
from shudata.market.schemas import ListingDecision, PlanCreate, ProductCreate, ProductSheet, ProductUpdate, SourceRef
from support.market import FINGERPRINTS, department_seller, enterprise


def _create(seller_id: int, code: str, **over: Any) -> ProductCreate:
    data: dict[str, Any] = dict(
        seller_id=seller_id, name="四川省市州经济指标", category="经济", sources=[SourceRef(resource=code)],
        sheet=ProductSheet(content="21 个市州逐年地区生产总值", coverage="四川省 2022—2024 年", update_cycle="每年",
                           scenarios=[]),
        delivery_modes=["api", "file", "hosted"], rights=["holding", "operating"], source_evidence="")
    data.update(over)
    return ProductCreate(**data)


@pytest.fixture
def seller(rt: Any, make_user: Any, make_department: Any) -> Any:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    return department_seller(rt, make_user, make_department, operator=op), op


def test_listing_review_from_draft_to_listed_and_delisted(rt: Any, seller: Any) -> None:
    ds, op = seller
    with rt.transaction() as s:
        p = PR.create_product(session=s, actor=ds.steward, data=_create(ds.participant_id, ds.gdp))
    assert p.status == "draft" and p.sheet["fields"] == ["地区", "年份", "地区生产总值"]
    assert p.masking_profile == "trade" and p.code.startswith("DP")
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:  # 无场景不交易, no evidence
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
    assert exc.value.code == "listing_not_compliant" and "应用场景" in exc.value.zh and "来源合法性" in exc.value.zh
    assert "离线文件指纹" in exc.value.zh  # file delivery offered without fingerprint settings
    sheet = {"content": "21 个市州逐年地区生产总值", "scenarios": ["区域经济研究", "招商选址分析"]}
    with rt.transaction() as s:  # settings that do not fit the deliverable: refused at listing, not at download
        assert PR.get_product(session=s, actor=ds.steward, product_id=p.id).status == "draft"
        PR.update_product(session=s, actor=ds.steward, product_id=p.id, data=ProductUpdate(
            sheet=ProductSheet(**sheet, fingerprint={"key_columns": ["地区"], "columns": {"GDP": 0.5}}),
            source_evidence="四川省统计局年度统计公报，依《统计法》公开"))
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
    (item,) = [i for i in exc.value.details["assessment"]["compliance"] if not i["passed"]]
    assert item["item"] == "fingerprint" and "GDP" in item["reason"], item
    with rt.transaction() as s:
        PR.update_product(session=s, actor=ds.steward, product_id=p.id, data=ProductUpdate(
            sheet=ProductSheet(**sheet, fingerprint=FINGERPRINTS["gdp"])))
    with rt.transaction() as s:
        p = PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
    assert p.status == "reviewing" and p.assessment["passed"] and not p.contains_personal
    assert p.sample["columns"] == ["地区", "年份", "地区生产总值"] and len(p.sample["rows"]) == 10
    assert p.assessment["gates"][0]["passed"] and p.assessment["gates"][0]["deliverable"]
    assert p.assessment["quality"][0]["resource"] == ds.gdp
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # the seller does not list itself
        PR.review_product(session=s, actor=ds.steward, product_id=p.id, data=ListingDecision(decision="approve"))
    with rt.transaction() as s, pytest.raises(InvalidInput):
        PR.review_product(session=s, actor=op, product_id=p.id, data=ListingDecision(decision="refuse"))
    with rt.transaction() as s:
        assert PR.review_product(session=s, actor=op, product_id=p.id, data=ListingDecision(
            decision="refuse", reason="样例不足以说明数据质量")).status == "refused"
        with pytest.raises(NotFound):  # not listed: nobody else sees it
            PR.get_product(session=s, actor=Actor.anonymous(), product_id=p.id)
    with rt.transaction() as s:
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
        listed = PR.review_product(session=s, actor=op, product_id=p.id, data=ListingDecision(decision="approve"))
    assert listed.status == "listed" and listed.listed_at is not None
    with rt.transaction() as s:
        public = PR.get_product(session=s, actor=Actor.anonymous(), product_id=p.id)
        assert public.status == "listed" and public.history == []
        assert [x.id for x in PR.list_products(session=s, actor=Actor.anonymous())] == [p.id]
        with pytest.raises(Conflict):  # a listed product is not edited in place
            PR.update_product(session=s, actor=ds.steward, product_id=p.id, data=ProductUpdate(name="新名称"))
    with rt.transaction() as s:
        PR.delist_product(session=s, actor=ds.steward, product_id=p.id, reason="数据口径调整")
        assert PR.list_products(session=s, actor=Actor.anonymous()) == []
        mine = PR.get_product(session=s, actor=ds.steward, product_id=p.id)
    assert [(h.event, h.to_status) for h in mine.history] == [
        ("submit", "reviewing"), ("refuse", "refused"), ("submit", "reviewing"), ("approve", "listed"),
        ("delist", "delisted")]
    with rt.transaction() as s:
        actions = {e.action for e in s.query(AuditEntry)}
    assert {"market.product.create", "market.product.update", "market.product.submit", "market.product.review",
            "market.product.delist"} <= actions


def test_personal_data_needs_its_authorisation_and_the_sample_is_masked(rt: Any, seller: Any) -> None:
    ds, _ = seller
    with rt.transaction() as s:
        p = PR.create_product(session=s, actor=ds.steward, data=_create(
            ds.participant_id, ds.people, name="消费者画像",
            sheet=ProductSheet(content="消费者名单", scenarios=["精准营销"], fingerprint=FINGERPRINTS["people"]),
            source_evidence="会员注册协议"))
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
    assert "个人信息" in exc.value.zh
    with rt.transaction() as s:
        PR.update_product(session=s, actor=ds.steward, product_id=p.id,
                          data=ProductUpdate(personal_authorisation="用户单独同意（会员协议第 5 条）"))
        p = PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
    assert p.contains_personal and p.status == "reviewing"
    cols = p.sample["columns"]
    phones = [row[cols.index("手机号码")] for row in p.sample["rows"]] if "手机号码" in cols else []
    assert all(v is None or "*" in str(v) or not str(v).startswith("139") for v in phones)
    assert not any(str(v).isdigit() and len(str(v)) == 11 for row in p.sample["rows"] for v in row)


def test_a_department_sells_its_own_entries_only(rt: Any, seller: Any, make_department: Any) -> None:
    ds, _ = seller
    with rt.transaction() as s:
        from shudata.catalog.models import CatalogResource
        other = make_department("省交通运输厅")
        s.add(CatalogResource(code="401001/000001", name="路网", classification="主题", abstract="路网",
                              provider_department_id=other, format_category="数据库", format_type="csv",
                              information_items=[], sharing_type=1, sharing_method="接口", open_type="不予开放",
                              update_cycle="每年"))
    with rt.transaction() as s, pytest.raises(PermissionDenied) as exc:
        PR.create_product(session=s, actor=ds.steward, data=_create(ds.participant_id, "401001/000001"))
    assert exc.value.code == "product_source_not_own"


def test_price_plans_and_private_offers(rt: Any, seller: Any) -> None:
    ds, op = seller
    buyer_id, buyer = enterprise(rt, 11, "buyer11", "buyer", operator=op)
    _, other = enterprise(rt, 12, "buyer12", "buyer", operator=op)
    with rt.transaction() as s:
        p = PR.create_product(session=s, actor=ds.steward, data=_create(ds.participant_id, ds.gdp))
    bad = [dict(kind="subscription", name="月订", price_fen=100),
           dict(kind="metered", name="按次", price_fen=5),
           dict(kind="metered", name="按次", price_fen=500, unit="call", monthly_cap_fen=100),
           dict(kind="one_off", name="一次", price_fen=100, free_units=10),
           dict(kind="private", name="定向", price_fen=100),
           dict(kind="one_off", name="一次", price_fen=100, buyer_id=buyer_id),
           dict(kind="one_off", name="过期", price_fen=100, valid_until=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))]
    for body in bad:
        with rt.transaction() as s, pytest.raises(InvalidInput):
            PR.create_plan(session=s, actor=ds.steward, product_id=p.id, data=PlanCreate(**body))
    with rt.transaction() as s:
        for body in (dict(kind="one_off", name="一次性购买", price_fen=2_000_000),
                     dict(kind="subscription", name="年度订阅", price_fen=1_200_000, period_days=365, auto_renew=True),
                     dict(kind="metered", name="按次调用", price_fen=20, unit="call", free_units=1000,
                          monthly_cap_fen=500_000),
                     dict(kind="private", name="定向报价", price_fen=1_500_000, buyer_id=buyer_id)):
            PR.create_plan(session=s, actor=ds.steward, product_id=p.id, data=PlanCreate(**body))
        with pytest.raises(PermissionDenied):
            PR.create_plan(session=s, actor=buyer, product_id=p.id, data=PlanCreate(kind="one_off", name="x",
                                                                                   price_fen=1))
        row = PR.get_product_row(s, p.id)
        assert [x.kind for x in PR.visible_plans(s, buyer, row, all_plans=False)] == [
            "one_off", "subscription", "metered", "private"]
        assert [x.kind for x in PR.visible_plans(s, other, row, all_plans=False)] == [
            "one_off", "subscription", "metered"]
        assert len(PR.get_product(session=s, actor=ds.steward, product_id=p.id).plans) == 4
