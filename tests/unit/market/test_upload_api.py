"""``/api/v1/market/uploads`` and ``/api/v1/market/derivatives``: a seller's file through HTTP, the raw
rows for the seller only, the refusals in Chinese (unapproved, a buyer, not multipart, oversized, a
hostile file), a k-anonymised derivative with its derivation, a stale derivative refused at purchase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shudata.core.types import Role
from shudata.web.app import create_app
from support.market import enterprise
from support.market_uploads import people_csv

QIS = ["性别", "出生日期", "行政区划代码"]


def _post(client: Any, headers: dict[str, str], path: Path, **fields: Any) -> Any:
    with path.open("rb") as f:
        return client.post("/api/v1/market/uploads", headers=headers, files={"file": (path.name, f, "text/csv")},
                           data={k: str(v) for k, v in fields.items()})


def test_uploads_and_derivatives_through_the_api(rt: Any, client: Any, make_user: Any, token_for: Any,
                                                 tmp_path: Path) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    seller_id, _ = enterprise(rt, 41, "apiseller", "seller", operator=op)
    buyer_id, _ = enterprise(rt, 42, "apibuyer", "buyer", operator=op)
    pending_id, _ = enterprise(rt, 43, "apipending", "seller", grade=None)
    seller_h, buyer_h, op_h = token_for("apiseller"), token_for("apibuyer"), token_for("exchange_op")
    people = people_csv(tmp_path / "名单.csv", 200, encoding="utf-8")
    r = _post(client, seller_h, people, seller_id=seller_id, name="户籍人口名单", category="人口")
    assert r.status_code == 201, r.text
    product = r.json()
    assert product["status"] == "draft" and product["sources"][0]["resource"]
    r = client.get(f"/api/v1/market/products/{product['id']}/upload?raw=true", headers=seller_h)
    assert r.status_code == 200 and r.json()["versions"][0]["rows"] == 200 and len(r.json()["raw"]["rows"]) == 20
    assert "公民身份号码" in r.json()["versions"][0]["findings"]
    for h in (op_h, buyer_h):  # the operator reviews through the masked sample, never the raw rows
        assert client.get(f"/api/v1/market/products/{product['id']}/upload?raw=true", headers=h).status_code == 403
    r = client.get(f"/api/v1/market/products/{product['id']}/upload", headers=op_h)  # versions and findings
    assert r.status_code == 200 and "raw" not in r.json() and "公民身份号码" in r.json()["versions"][0]["findings"]
    assert client.get(f"/api/v1/market/products/{product['id']}/upload", headers=buyer_h).status_code == 403
    code = product["sources"][0]["resource"]
    for h in (seller_h, op_h):  # nor through the catalog's own rows endpoint
        assert client.get(f"/api/v1/resources/{code}/rows", headers=h).status_code == 403
    # refusals, in Chinese, nothing kept
    r = _post(client, token_for("apipending"), people, seller_id=pending_id, name="未审核")
    assert r.status_code == 403 and "未经审核通过" in r.json()["error"]["message"]
    r = _post(client, buyer_h, people, seller_id=buyer_id, name="买方上传")
    assert r.status_code == 403 and "未登记为供方" in r.json()["error"]["message"]
    r = _post(client, buyer_h, people, seller_id=seller_id, name="冒用供方")
    assert r.status_code == 403
    r = client.post("/api/v1/market/uploads", headers=seller_h, json={"seller_id": seller_id})
    assert r.status_code == 400 and "multipart" in r.json()["error"]["message"]
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01PK\x03\x04" + bytes(range(256)) * 64)
    r = _post(client, seller_h, binary, seller_id=seller_id, name="二进制")
    assert 400 <= r.status_code < 500 and r.status_code != 403, r.text
    r = _post(client, seller_h, people, name="没有供方")
    assert r.status_code == 422 and "seller_id" in r.json()["error"]["message"]
    assert [p["id"] for p in client.get(f"/api/v1/market/products?seller_id={seller_id}",
                                        headers=seller_h).json()] == [product["id"]]
    # a derivative through the API
    r = client.post("/api/v1/market/derivatives", headers=buyer_h, json={
        "source_product_id": product["id"], "name": "冒名衍生", "quasi_identifiers": QIS})
    assert r.status_code == 403
    r = client.post("/api/v1/market/derivatives", headers=seller_h, json={
        "source_product_id": product["id"], "name": "户籍人口结构（k=5）", "quasi_identifiers": QIS, "k": 5})
    assert r.status_code == 201, r.text
    d = r.json()["derivation"]
    assert d["source"]["product_id"] == product["id"] and d["risk"]["prosecutor_max"] <= 0.2
    r = client.post(f"/api/v1/market/products/{r.json()['id']}/rebuild", headers=seller_h)
    assert r.status_code == 200 and r.json()["derivation"]["source"]["version"] == 1
    # a new version of the upload (the derivative turns stale)
    with people_csv(tmp_path / "v2.csv", 210, encoding="utf-8").open("rb") as f:
        r = client.post(f"/api/v1/market/products/{product['id']}/uploads", headers=seller_h,
                        files={"file": ("v2.csv", f, "text/csv")})
    assert r.status_code == 201 and r.json()["version"] == 2
    derived = client.get(f"/api/v1/market/products?seller_id={seller_id}", headers=seller_h).json()[0]
    assert derived["derivation"]["stale"] and "v2" in derived["derivation"]["stale_reason"]


def test_an_oversized_upload_is_413_naming_the_setting(rt: Any, settings: Any, make_user: Any, token_for: Any,
                                                       tmp_path: Path) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    seller_id, _ = enterprise(rt, 44, "bigseller", "seller", operator=op)
    rt.settings = settings.model_copy(update={"max_upload_mb": 1})
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1234567890,abcdefghij\n" * 100_000, encoding="utf-8")
    with TestClient(create_app(runtime=rt, migrate=False)) as c:
        r = _post(c, token_for("bigseller"), big, seller_id=seller_id, name="过大")
    assert r.status_code == 413 and "SHUDATA_MAX_UPLOAD_MB" in r.json()["error"]["message"]
