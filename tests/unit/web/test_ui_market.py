"""Market pages: home and product page, seller centre (product from department entries, plans,
submit), operator console (reviews, escrow, trace, statistics), buyer centre (inquiry, contract,
fingerprinted file, hosted/online links), registration — refusals shown in Chinese, never a 500."""

from __future__ import annotations

import io
import re
from typing import Any

import pyarrow.csv as pacsv
import pytest
from tests.e2e.test_zh_cn_pages import leaks_of
from tests.support.market import PASSWORD, department_seller, market_world, uscc
from tests.support.market_pages import power_entry

from shudata.core.types import Role
from shudata.market.participants import get_row, list_participants

pytestmark = pytest.mark.sqlite_only


def _csrf(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert m
    return m.group(1)


def _as(client: Any, username: str) -> str:
    client.post("/logout", data={"csrf_token": _csrf(client.get("/market").text)})
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return _csrf(client.get("/tokens").text)


@pytest.fixture
def world(rt: Any, make_user: Any, make_department: Any) -> dict[str, Any]:
    mw = market_world(rt, make_user)
    ds = department_seller(rt, make_user, make_department, operator=mw.operator)
    return {"mw": mw, "ds": ds, "power": power_entry(rt, ds)}


def _act(client: Any, csrf: str, order_id: int, step: str, back: str, **extra: str) -> Any:
    r = client.post(f"/market/orders/{order_id}/act", data={"csrf_token": csrf, "step": step, "back": back, **extra},
                    follow_redirects=True)
    assert r.status_code == 200, r.text
    return r


def _list_product(client: Any, rt: Any, world: dict[str, Any]) -> int:
    """Through the pages: the steward creates a product with a fingerprint, adds a plan, submits; the
    operator lists it."""
    ds = world["ds"]
    csrf = _as(client, "dsj_steward")
    page = client.get("/market/seller/products/new")  # the steward's department seller
    assert page.status_code == 200 and "企业月度用电量" in page.text
    form = {"csrf_token": csrf, "seller_id": str(ds.participant_id), "name": "企业用电 GDP 数据产品",
            "category": "经济统计", "sources": world["power"], "content": "四川省企业月度用电量与产值",
            "scenarios": "区域经济研究", "delivery_modes": ["file", "api"], "rights": ["holding", "operating"],
            "source_evidence": "电力公司报送", "fp_keys": "企业编号,月份", "fp_columns": "用电量=0.5\n产值=0.5",
            "min_group": "2"}
    r = client.post("/market/seller/products/new", data=form, follow_redirects=True)
    assert r.status_code == 200, r.text
    pid = int(re.search(r'id="product-(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    edit = client.get(f"/market/seller/products/{pid}/edit")
    assert edit.status_code == 200 and "四川省企业月度用电量与产值" in edit.text and "用电量=0.5" in edit.text
    changed = {k: v for k, v in form.items() if k not in ("seller_id", "sources")}
    bad = client.post(f"/market/seller/products/{pid}/edit", data={**changed, "content": ""})
    assert bad.status_code == 422 and "content" in bad.text
    r = client.post(f"/market/seller/products/{pid}/edit", data={**changed, "coverage": "四川省 21 个市州"},
                    follow_redirects=True)
    assert "已保存产品说明书" in r.text
    # a plan the service refuses: a subscription without its period, shown in Chinese
    r = client.post(f"/market/seller/products/{pid}/plans", data={
        "csrf_token": csrf, "kind": "subscription", "name": "包年", "price_yuan": "100"}, follow_redirects=True)
    assert "订阅方案须给出订阅周期" in r.text
    r = client.post(f"/market/seller/products/{pid}/plans", data={
        "csrf_token": csrf, "kind": "one_off", "name": "一次性购买", "price_yuan": "10000"}, follow_redirects=True)
    assert "已添加价格方案" in r.text and "¥10,000.00" in r.text
    r = client.post(f"/market/seller/products/{pid}/submit", data={"csrf_token": csrf}, follow_redirects=True)
    assert "已提交挂牌审核" in r.text, r.text
    csrf = _as(client, "exchange_op")
    console = client.get("/market/operator")
    assert console.status_code == 200 and f'id="listing-{pid}"' in console.text
    assert client.get(console.text.split('id="ledger-link"')[0].rsplit('href="', 1)[1].split('"')[0]).status_code == 200
    r = client.post(f"/market/operator/products/{pid}/review", data={"csrf_token": csrf, "decision": "refuse"},
                    follow_redirects=True)
    assert "不予挂牌须说明理由" in r.text  # refused on the form, nothing changed
    r = client.post(f"/market/operator/products/{pid}/review", data={"csrf_token": csrf, "decision": "approve"},
                    follow_redirects=True)
    assert "挂牌审核已处理" in r.text
    return pid


def test_listing_buying_delivery_and_trace_through_the_pages(client: Any, rt: Any, world: dict[str, Any]) -> None:
    pid = _list_product(client, rt, world)
    home = client.get("/market?q=GDP")
    assert home.status_code == 200 and "企业用电 GDP 数据产品" in home.text and "¥10,000.00" in home.text
    assert "企业用电" not in client.get("/market?q=没有这个").text.split('id="product-list"')[1]
    page = client.get(f"/market/products/{pid}")
    assert "四川省 21 个市州" in page.text
    assert 'id="sample-table"' in page.text and "E000000" in page.text and 'id="chart-data"' in page.text
    assert 'id="inquire-form"' not in page.text  # the operator is no buyer

    csrf = _as(client, "buyer1")
    page = client.get(f"/market/products/{pid}")
    assert 'id="inquire-form"' in page.text
    plan = re.search(r'<option value="(\d+)"[^>]*>一次性购买', page.text).group(1)  # type: ignore[union-attr]
    buyer_id = world["mw"].buyer_id
    bad = client.post(f"/market/products/{pid}/inquire", data={
        "csrf_token": csrf, "buyer_id": buyer_id, "plan_id": plan, "delivery_mode": "file", "purpose": ""})
    assert bad.status_code == 422 and "purpose" in bad.text
    r = client.post(f"/market/products/{pid}/inquire", data={
        "csrf_token": csrf, "buyer_id": buyer_id, "plan_id": plan, "delivery_mode": "file",
        "purpose": "区域经济研究", "term_days": "365"}, follow_redirects=True)
    assert r.status_code == 200 and "已发出询价" in r.text
    oid = int(re.search(r'id="order-(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    r = _act(client, csrf, oid, "offer", "buyer", price_yuan="9000", note="请优惠")
    assert "¥9,000.00" in r.text
    r = _act(client, csrf, oid, "agree", "buyer")
    assert "不能接受本方自己的报价" in r.text  # out of turn: refused on the page

    csrf = _as(client, "dsj_steward")
    _act(client, csrf, oid, "agree", "seller")
    r = _act(client, csrf, oid, "sign", "seller")
    assert "sig-seller" in r.text
    csrf = _as(client, "buyer1")
    r = _act(client, csrf, oid, "sign", "buyer")
    assert "sig-buyer" in r.text
    contract = client.get(f"/market/orders/{oid}/contract")
    assert contract.status_code == 200 and "attachment" in contract.headers["content-disposition"]
    csrf = _as(client, "exchange_op")
    r = _act(client, csrf, oid, "fund", "operator")
    assert "尚缺交易所的签名" in r.text  # the exchange signs first
    _act(client, csrf, oid, "sign", "operator")
    _act(client, csrf, oid, "fund", "operator")
    _act(client, csrf, oid, "deliver", "operator")

    csrf = _as(client, "buyer1")
    centre = client.get("/market/buyer")
    ent = int(re.search(r'id="entitlement-(\d+)"', centre.text).group(1))  # type: ignore[union-attr]
    got = client.get(f"/market/entitlements/{ent}/file?format=csv")
    assert "x-content-sha256" in got.headers, re.findall(r'alert-danger[^>]*>([^<]*)', got.text)
    assert got.status_code == 200 and got.headers["x-content-sha256"]
    table = pacsv.read_csv(io.BytesIO(got.content))
    assert table.num_rows == 6000 and "用电量" in table.column_names
    assert client.get(f"/market/entitlements/{ent}/rows").status_code == 422  # a file entitlement has no rows API
    r = _act(client, csrf, oid, "accept", "buyer")
    assert 'data-state="accepted"' in r.text

    csrf = _as(client, "exchange_op")
    _act(client, csrf, oid, "settle", "operator")
    r = client.post(f"/market/operator/trace?csrf_token={csrf}", files={"file": ("found.csv", got.content, "text/csv")},
                    follow_redirects=True)
    assert r.status_code == 200 and "已完成溯源" in r.text
    assert "测试数据企业2有限公司" in r.text.split('id="trace-result"')[1]
    r = client.post(f"/market/operator/trace?csrf_token={csrf}",
                    files={"file": ("other.csv", "甲,乙\n1,2\n".encode(), "text/csv")}, follow_redirects=True)
    assert r.status_code == 200 and "无匹配" in r.text
    assert '"settled": 1' in r.text.split('id="market-stats"')[1].split("</script>")[0]

    assert not leaks_of(r.text), leaks_of(r.text)  # the operator console in zh-CN holds no English phrase

    _as(client, "dsj_steward")
    seller = client.get("/market/seller")
    assert f'id="statement-{oid}"' in seller.text
    csrf = _csrf(seller.text)
    bad = client.post(f"/market/seller/products/{pid}/valuation", data={
        "csrf_token": csrf, "incomes": "5000,6000", "discount_rate": "2"}, follow_redirects=True)
    assert "alert-danger" in bad.text and "discount_rate" in bad.text
    valued = {"csrf_token": csrf, "cost_direct": "8000", "cost_indirect": "2000", "market": "1"}
    r = client.post(f"/market/seller/products/{pid}/valuation", data=valued, follow_redirects=True)
    # the department's steward values its own product, but only once the entry has a measured quality score
    assert "尚无质量评分" in r.text
    from shudata.catalog.access import find_resource
    from shudata.quality.models import QualityRun

    with rt.transaction() as s:  # the valuation's quality factor is the entry's measured score
        s.add(QualityRun(resource_id=find_resource(s, world["power"]).id, version=1, kind="check",
                         overall_score=88.0, created_by="t"))
    r = client.post(f"/market/seller/products/{pid}/valuation", data=valued, follow_redirects=True)
    assert r.status_code == 200 and 'id="valuation-value"' in r.text, re.findall(r"alert-danger[^>]*>([^<]*)", r.text)
    assert 'id="valuation-link"' in client.get(f"/market/products/{pid}").text
    _as(client, "dsj_steward")
    for html in (seller.text, client.get(f"/market/seller/products/{pid}/edit").text, home.text, page.text,
                 centre.text, client.get(f"/market/products/{pid}").text):
        assert not leaks_of(html), leaks_of(html)


def test_operator_reviews_participants_with_reasons(client: Any, rt: Any, world: dict[str, Any],
                                                    make_department: Any) -> None:
    buyer_id = world["mw"].buyer_id
    transport = make_department("四川省交通运输厅")
    csrf = _as(client, "exchange_op")
    dept = {"csrf_token": csrf, "department_id": str(transport), "authorisation": "川",
            "legal_representative": "张三", "contact_name": "李四", "contact_phone": "028-86000002"}
    r = client.post("/market/operator/departments", data=dept, follow_redirects=True)
    assert r.status_code == 200 and "authorisation" in r.text and "alert-danger" in r.text
    dept["authorisation"] = "川府函〔2026〕9号 交通数据授权运营"
    r = client.post("/market/operator/departments", data=dept, follow_redirects=True)
    assert "已登记授权运营部门" in r.text
    with rt.transaction() as s:
        found = [p for p in list_participants(session=s, actor=world["mw"].operator) if p.name == "四川省交通运输厅"]
    assert [(p.entity_type, p.status) for p in found] == [("department", "pending")]
    assert f'id="participant-{found[0].id}"' in r.text
    r = client.post(f"/market/operator/participants/{buyer_id}/review",
                    data={"csrf_token": csrf, "decision": "suspend"}, follow_redirects=True)
    assert r.status_code == 200 and "须说明理由" in r.text
    r = client.post(f"/market/operator/participants/{buyer_id}/review",
                    data={"csrf_token": csrf, "decision": "suspend", "reason": "资质到期"}, follow_redirects=True)
    assert "已处理" in r.text
    with rt.transaction() as s:
        assert get_row(s, buyer_id).status == "suspended"
    assert client.get("/market/buyer").status_code == 200  # an operator with no buyer sees the hint
    assert "不代表授权运营的部门供方" in client.get("/market/seller/products/new").text
    _as(client, "regulator1")  # the regulator reads the console, with no decision forms
    console = client.get("/market/operator")
    assert console.status_code == 200 and "资质到期" in console.text
    assert f'id="review-{buyer_id}"' not in console.text and 'id="trace-file"' not in console.text


def test_registration_checks_the_credit_code(client: Any, rt: Any, make_user: Any) -> None:
    page = client.get("/market/register")
    csrf = _csrf(page.text)
    form = {"csrf_token": csrf, "name": "成都测试数据科技有限公司", "uscc": "91510100MA6000000X", "kinds": ["buyer"],
            "legal_representative": "王五", "contact_name": "赵六", "contact_phone": "028-80000000",
            "username": "newco", "password": PASSWORD}
    bad = client.post("/market/register", data=form)
    assert bad.status_code == 422 and "统一社会信用代码无效" in bad.text
    assert client.post("/market/register", data={**form, "csrf_token": "x", "uscc": uscc(77)}).status_code == 403
    ok = client.post("/market/register", data={**form, "uscc": uscc(77)}, follow_redirects=False)
    assert ok.status_code == 303
    csrf = _as(client, "newco")
    me = client.get("/market/me")
    assert "成都测试数据科技有限公司" in me.text and "等待审核" in me.text
    pid = int(re.search(r'id="participant-(\d+)"', me.text).group(1))  # type: ignore[union-attr]
    r = client.post(f"/market/me/{pid}/documents?csrf_token={csrf}", data={"kind": "business_licence"},
                    files={"file": ("licence.txt", b"not a pdf", "text/plain")}, follow_redirects=True)
    assert r.status_code == 200 and "资质文件须为" in r.text
    r = client.post(f"/market/me/{pid}/documents?csrf_token={csrf}", data={"kind": "business_licence"},
                    files={"file": ("营业执照.pdf", b"%PDF-1.4\n% test licence\n", "application/pdf")},
                    follow_redirects=True)
    assert "已上传资质文件" in r.text and "营业执照：营业执照.pdf" in r.text
    make_user("exchange_op", Role.MARKET_OPERATOR)
    csrf = _as(client, "exchange_op")
    console = client.get("/market/operator")
    assert "成都测试数据科技有限公司" in console.text and "营业执照.pdf" in console.text
    client.post(f"/market/operator/participants/{pid}/review",
                data={"csrf_token": csrf, "decision": "refuse", "reason": "资质文件不全"})
    csrf = _as(client, "newco")
    me = client.get("/market/me").text
    assert "资质文件不全" in me and not leaks_of(me) and not leaks_of(page.text), leaks_of(me) + leaks_of(page.text)
    r = client.post(f"/market/me/{pid}/resubmit", data={"csrf_token": csrf}, follow_redirects=True)
    assert "已重新提交审核" in r.text and 'data-state="pending"' in r.text


def _delivering(rt: Any, world: dict[str, Any], mode: str) -> tuple[int, int]:
    """A listed product over the power entry offering ``mode`` and an order of it being delivered
    (through the services: these steps' pages are tested above): (order id, product id)."""
    from shudata.market import orders as O
    from shudata.market import products as PR
    from shudata.market.schemas import (
        ListingDecision,
        OrderCreate,
        PlanCreate,
        ProductCreate,
        ProductSheet,
        SourceRef,
    )

    ds, mw = world["ds"], world["mw"]
    with rt.transaction() as s:
        p = PR.create_product(session=s, actor=ds.steward, data=ProductCreate(
            seller_id=ds.participant_id, name=f"用电托管 {mode}", sources=[SourceRef(resource=world["power"])],
            sheet=ProductSheet(content="企业月度用电量", scenarios=["区域经济研究"],
                               release_rules={"min_group_size": 5}),
            delivery_modes=[mode], rights=["holding", "operating"], source_evidence="电力公司报送"))
        plan = PR.create_plan(session=s, actor=ds.steward, product_id=p.id,
                              data=PlanCreate(kind="one_off", name="一次性", price_fen=100_000))
    with rt.transaction() as s:
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
        PR.review_product(session=s, actor=mw.operator, product_id=p.id, data=ListingDecision(decision="approve"))
    with rt.transaction() as s:
        o = O.create_order(session=s, actor=mw.buyer, data=OrderCreate(
            buyer_id=mw.buyer_id, product_id=p.id, plan_id=plan.id, purpose="区域经济研究", delivery_mode=mode))
        O.agree(session=s, actor=ds.steward, settings=rt.settings, order_id=o.id)
        for who in (mw.buyer, ds.steward, mw.operator):
            O.sign(session=s, actor=who, settings=rt.settings, order_id=o.id)
        O.fund(session=s, actor=mw.operator, order_id=o.id)
        O.start_delivery(session=s, actor=ds.steward, settings=rt.settings, order_id=o.id)
    return o.id, p.id


def test_hosted_jobs_release_aggregates_and_refuse_rows_in_chinese(client: Any, rt: Any,
                                                                   world: dict[str, Any]) -> None:
    oid, _ = _delivering(rt, world, "hosted")
    csrf = _as(client, "buyer1")
    centre = client.get("/market/buyer")
    ent = int(re.search(r'id="jobs-(\d+)"', centre.text).group(1))  # type: ignore[union-attr]
    page = client.get(f"/market/entitlements/{ent}/jobs")
    assert page.status_code == 200 and "<b>5</b>" in page.text and not leaks_of(page.text)
    ok = client.post(f"/market/entitlements/{ent}/jobs", data={
        "csrf_token": csrf, "sql": "SELECT 城市, SUM(用电量) AS 总用电量 FROM product GROUP BY 城市"})
    assert ok.status_code == 200 and 'id="hosted-result"' in ok.text and "成都市" in ok.text
    refused = client.post(f"/market/entitlements/{ent}/jobs", data={
        "csrf_token": csrf, "sql": "SELECT 企业编号, 用电量 FROM product"})
    assert refused.status_code == 422 and 'id="hosted-refused"' in refused.text
    assert re.search(r"[\u4e00-\u9fff]", refused.text.split('id="hosted-refused"')[1].split("</div>")[0])
    log = client.get(f"/market/entitlements/{ent}/jobs").text.split('id="job-log"')[1]
    assert "已释放" in log and "已拒绝" in log  # the refused job is kept in the log
    # a hosted entitlement gives no file
    r = client.get(f"/market/entitlements/{ent}/file?format=csv", follow_redirects=True)
    assert "不是离线文件交付" in r.text
    # dispute, then the operator refunds
    _act(client, csrf, oid, "dispute", "buyer", reason="结果不符合说明书")
    csrf = _as(client, "exchange_op")
    r = _act(client, csrf, oid, "resolve_refund", "operator", reason="经核实退款")
    assert "争议处理：退款完成" in r.text


def test_online_rows_page_is_metered(client: Any, rt: Any, world: dict[str, Any]) -> None:
    _delivering(rt, world, "api")
    _as(client, "buyer1")
    centre = client.get("/market/buyer")
    ent = int(re.search(r'id="rows-(\d+)"', centre.text).group(1))  # type: ignore[union-attr]
    page = client.get(f"/market/entitlements/{ent}/rows?offset=100")
    assert page.status_code == 200 and page.text.count("<tr>") == 101 and "E000008" in page.text
    assert not leaks_of(page.text), leaks_of(page.text)
    assert re.search(r"已用 1 次 / 100 行", client.get("/market/buyer").text)  # one call, its rows counted


def test_a_grade_b_buyer_is_refused_personal_data_on_the_product_page(client: Any, rt: Any, make_user: Any,
                                                                       make_department: Any) -> None:
    from tests.support.market import listed_product

    mw = market_world(rt, make_user, buyer_grade="B")
    ds = department_seller(rt, make_user, make_department, operator=mw.operator)
    pid, plan = listed_product(rt, ds, mw.operator, ds.people, authorisation="消费者书面同意")
    csrf = _as(client, "buyer1")
    page = client.get(f"/market/products/{pid}")
    assert "仅 A 级买方可购买" in page.text
    assert "139****0000" in page.text and "13900000000" not in page.text  # the sample's mobiles are masked
    r = client.post(f"/market/products/{pid}/inquire", data={
        "csrf_token": csrf, "buyer_id": mw.buyer_id, "plan_id": plan, "delivery_mode": "file",
        "purpose": "消费分析"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    message = r.text.split('role="alert">')[1].split("</div>")[0]
    assert "A" in message and re.search(r"[\u4e00-\u9fff]{4}", message)


def test_pages_in_english(client: Any, world: dict[str, Any]) -> None:
    client.get("/lang/en")
    home = client.get("/market")
    assert home.status_code == 200 and "Data market" in home.text and "Register an enterprise" in home.text
    assert client.get("/market/register").status_code == 200
    assert client.get("/market/buyer", follow_redirects=False).status_code in (303, 401)  # login first
