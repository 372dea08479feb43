"""``/api/v1/market`` and ``shudata market verify-contract``: the same services through HTTP and the
console — registration refused on a wrong check character (422, Chinese), the operator's review,
a trade through the API up to the signed contract, and its file verified (and a forgery refused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from shudata.cli.main import app as cli
from shudata.core.types import Role
from support.market import PASSWORD, department_seller, listed_product, uscc


def _register(client: Any, n: int, username: str, code: str | None = None) -> Any:
    return client.post("/api/v1/market/participants", json={
        "name": f"接口测试企业{n}有限公司", "uscc": code or uscc(n), "kinds": ["buyer"], "legal_representative": "张三",
        "contact_name": "李四", "contact_phone": "13800000000",
        "account": {"username": username, "display_name": username, "password": PASSWORD}})


def test_a_trade_through_the_api_and_its_contract_verified_from_the_console(
        rt: Any, client: Any, make_user: Any, make_department: Any, token_for: Any, tmp_path: Path,
        monkeypatch: Any) -> None:
    good = uscc(31)
    bad = _register(client, 31, "apibuyer", good[:-1] + ("1" if good[-1] != "1" else "2"))
    assert bad.status_code == 422 and "统一社会信用代码无效" in bad.text
    r = _register(client, 31, "apibuyer")
    assert r.status_code == 201, r.text
    buyer_id = r.json()["id"]
    assert r.json()["status"] == "pending"
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    buyer_h, op_h = token_for("apibuyer"), token_for("exchange_op")
    assert client.post(f"/api/v1/market/participants/{buyer_id}/review", headers=buyer_h,
                       json={"decision": "approve", "grade": "A"}).status_code == 403
    r = client.post(f"/api/v1/market/participants/{buyer_id}/review", headers=op_h, json={"decision": "refuse"})
    assert r.status_code == 422 and "理由" in r.text
    r = client.post(f"/api/v1/market/participants/{buyer_id}/review", headers=op_h,
                    json={"decision": "approve", "grade": "A"})
    assert r.status_code == 200 and r.json()["grade"] == "A"
    assert client.get(f"/api/v1/market/participants/{buyer_id}").json().get("contact_phone") is None  # public brief
    ds = department_seller(rt, make_user, make_department, operator=op)
    product_id, plan_id = listed_product(rt, ds, op, ds.gdp)
    listed = client.get("/api/v1/market/products").json()
    assert [p["id"] for p in listed] == [product_id] and listed[0]["sample"]["rows"]
    steward_h = token_for("dsj_steward")
    r = client.post("/api/v1/market/orders", headers=buyer_h, json={
        "buyer_id": buyer_id, "product_id": product_id, "plan_id": plan_id, "purpose": "研究",
        "delivery_mode": "file"})
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    assert client.post(f"/api/v1/market/orders/{order_id}/agree", headers=steward_h).status_code == 200
    for h in (buyer_h, steward_h, op_h):
        assert client.post(f"/api/v1/market/orders/{order_id}/sign", headers=h).status_code == 200
    r = client.get(f"/api/v1/market/orders/{order_id}/contract", headers=buyer_h)
    assert r.status_code == 200
    doc = r.json()
    assert client.post("/api/v1/market/contracts/verify", json=doc).json()["ok"] is True
    assert client.get(f"/api/v1/market/orders/{order_id}", headers=token_for("exchange_op")).status_code == 200
    good_file, forged_file = tmp_path / "ok.contract.json", tmp_path / "forged.contract.json"
    good_file.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    doc["terms"]["purpose"] = "转售"
    forged_file.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert client.post("/api/v1/market/contracts/verify", json=doc).json()["ok"] is False
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(rt.settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", rt.settings.database_url or "")
    runner = CliRunner()
    ok = runner.invoke(cli, ["market", "verify-contract", str(good_file)])
    assert ok.exit_code == 0 and "三方签名有效" in ok.output, ok.output
    forged = runner.invoke(cli, ["market", "verify-contract", str(forged_file), "--offline"])
    assert forged.exit_code == 1 and "验证失败" in forged.output and "摘要不符" in forged.output
    books = runner.invoke(cli, ["market", "books", "--json"])
    assert books.exit_code == 0 and '"total_fen": 0' in books.output
