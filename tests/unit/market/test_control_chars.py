"""A product sheet and a delist reason are text a person types: no control characters (NUL, ESC, a
right-to-left override) through the API or the services under it — 422 saying what to remove, nothing
written; tabs and line breaks stay. Found by the forms sweep (tests/e2e/test_hostile_forms.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from shudata.core.errors import InvalidInput
from shudata.core.types import Role
from shudata.market import products as PR
from shudata.market.models import MarketListingEvent, MarketProduct
from shudata.market.schemas import ProductCreate, ProductSheet, ProductUpdate
from support.market import department_seller, listed_product

BAD = "\x00\u202e"


def _sheet(**changes: Any) -> dict[str, Any]:
    return {"content": "全省市州地区生产总值", "scenarios": ["区域经济研究"], "coverage": "四川省 21 个市州",
            "update_cycle": "每年", "restrictions": "不得转售", "fields": ["地区", "年份"],
            "fingerprint": {"key_columns": ["地区", "年份"], "columns": {"地区生产总值": 0.5}}, **changes}


def _product(seller_id: int, code: str, **changes: Any) -> dict[str, Any]:
    return {"seller_id": seller_id, "name": "地区生产总值", "category": "经济", "sources": [{"resource": code}],
            "sheet": _sheet(), "delivery_modes": ["api"], "source_evidence": "统计公报",
            "personal_authorisation": "不含个人信息", **changes}


# (where, the product's values with one text holding control characters)
CASES: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": "地区生产总值" + BAD}),
    ("category", {"category": "经济\x1b[2J"}),
    ("source_evidence", {"source_evidence": "统计公报" + BAD}),
    ("personal_authorisation", {"personal_authorisation": "不含个人信息\x07"}),
    ("sheet.content", {"sheet": _sheet(content="全省市州地区生产总值" + BAD)}),
    ("sheet.coverage", {"sheet": _sheet(coverage="四川省\u2066")}),
    ("sheet.update_cycle", {"sheet": _sheet(update_cycle="每年\x7f")}),
    ("sheet.restrictions", {"sheet": _sheet(restrictions="不得转售" + BAD)}),
    ("sheet.scenarios", {"sheet": _sheet(scenarios=["区域经济研究" + BAD])}),
    ("sheet.fields", {"sheet": _sheet(fields=["地区\x00"])}),
    ("sheet.fingerprint", {"sheet": _sheet(fingerprint={"key_columns": ["地区\u202e"], "columns": {}})}),
]


@pytest.mark.parametrize(("where", "changes"), CASES, ids=[c[0] for c in CASES])
def test_the_product_schemas_refuse_control_characters(where: str, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="控制字符"):
        ProductCreate.model_validate(_product(1, "301001/000001", **changes))
    with pytest.raises(ValidationError, match="控制字符"):
        ProductUpdate.model_validate(changes)
    # tabs and line breaks are text
    assert ProductSheet.model_validate(_sheet(content="第一行\n第二行\t续")).content == "第一行\n第二行\t续"


@pytest.mark.parametrize(("where", "changes"), CASES[:1] + CASES[4:5] + CASES[-1:], ids=["name", "content", "fp"])
def test_the_product_api_refuses_control_characters_and_writes_nothing(
        rt: Any, client: Any, make_user: Any, make_department: Any, token_for: Any, where: str,
        changes: dict[str, Any]) -> None:
    ds = department_seller(rt, make_user, make_department)
    h = token_for("dsj_steward")
    r = client.post("/api/v1/market/products", headers=h, json=_product(ds.participant_id, ds.gdp, **changes))
    assert r.status_code == 422, r.text
    assert "控制字符" in r.json()["error"]["message"]
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(MarketProduct)) == 0
    r = client.post("/api/v1/market/products", headers=h, json=_product(ds.participant_id, ds.gdp))
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = client.patch(f"/api/v1/market/products/{pid}", headers=h, json=changes)
    assert r.status_code == 422 and "控制字符" in r.json()["error"]["message"], r.text
    got = client.get(f"/api/v1/market/products/{pid}", headers=h).json()
    assert got["name"] == "地区生产总值" and got["sheet"]["content"] == "全省市州地区生产总值"


def test_a_delist_reason_with_control_characters_is_refused_by_the_api_and_the_service(
        rt: Any, client: Any, make_user: Any, make_department: Any, token_for: Any) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    ds = department_seller(rt, make_user, make_department, operator=op)
    product_id, _ = listed_product(rt, ds, op, ds.gdp)
    r = client.post(f"/api/v1/market/products/{product_id}/delist", headers=token_for("dsj_steward"),
                    json={"reason": "数据更新" + BAD})
    assert r.status_code == 422 and "控制字符" in r.json()["error"]["message"], r.text
    with rt.transaction() as s, pytest.raises(InvalidInput, match="控制字符") as refused:
        PR.delist_product(session=s, actor=ds.steward, product_id=product_id, reason="数据更新\x1b[2J")
    assert refused.value.code == "control_characters"
    with rt.transaction() as s:
        assert s.get(MarketProduct, product_id).status == "listed"  # type: ignore[union-attr]
        events = s.scalars(select(MarketListingEvent.event).where(MarketListingEvent.product_id == product_id))
        assert "delist" not in list(events)
    r = client.post(f"/api/v1/market/products/{product_id}/delist", headers=token_for("dsj_steward"),
                    json={"reason": "数据更新\n下月重新挂牌"})
    assert r.status_code == 200 and r.json()["status"] == "delisted", r.text


def test_a_department_sellers_authorisation_refuses_control_characters() -> None:
    """The exchange operator's department-seller form (found when the sweep counted untyped inputs)."""
    from shudata.market.schemas import DepartmentSellerCreate

    data = {"department_id": 1, "authorisation": "川府函〔2026〕8号 公共数据授权运营协议",
            "legal_representative": "张三", "contact_name": "李四", "contact_phone": "028-86000001"}
    assert DepartmentSellerCreate.model_validate(data)
    for field in ("authorisation", "legal_representative", "contact_name"):
        with pytest.raises(ValidationError, match="控制字符"):
            DepartmentSellerCreate.model_validate({**data, field: f"{data[field]}{BAD}"})


@pytest.mark.sqlite_only
def test_the_delist_form_refuses_them_says_why_and_the_refusal_is_audited(
        rt: Any, client: Any, make_user: Any, make_department: Any) -> None:
    import json
    import re

    from shudata.audit.models import AuditEntry
    from support.market import PASSWORD

    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    ds = department_seller(rt, make_user, make_department, operator=op)
    product_id, _ = listed_product(rt, ds, op, ds.gdp)
    r = client.post("/login", data={"username": "dsj_steward", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get("/market/seller").text)
    assert csrf is not None
    path = f"/market/products/{product_id}/delist"
    r = client.post(path, data={"csrf_token": csrf.group(1), "reason": "数据更新" + BAD}, follow_redirects=True)
    assert r.status_code == 200 and "alert-danger" in r.text and "控制字符" in r.text
    with rt.transaction() as s:
        assert s.get(MarketProduct, product_id).status == "listed"  # type: ignore[union-attr]
        said = [json.loads(e.details) for e in s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected"))]
    assert [d["code"] for d in said if d.get("path") == path] == ["control_characters"]
    # the product sheet's hosted group size: text is refused, not dropped
    r = client.post(f"/market/seller/products/{product_id}/edit",
                    data={"csrf_token": csrf.group(1), "name": "产品", "content": "测试数据产品",
                          "scenarios": "区域经济研究", "delivery_modes": "api", "min_group": "十"})
    assert r.status_code == 422 and "最小分组" in r.text
