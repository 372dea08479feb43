"""Seller centre pages for uploads and derivatives: 上传数据 (streamed multipart, CSRF in the query),
the upload page (raw rows for the seller, findings only for the operator, nothing for a buyer), the
derivative form (refusals in Chinese on the page), the product page's lineage and risk, a stale
derivative's rebuild — never a 500, no English on the zh-CN pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.test_zh_cn_pages import leaks_of
from tests.support.market import PASSWORD, enterprise
from tests.support.market_uploads import people_csv

from shudata.core.types import Role

pytestmark = pytest.mark.sqlite_only


def _csrf(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert m
    return m.group(1)


def _as(client: Any, username: str) -> str:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return _csrf(client.get("/market/seller").text)


def _upload(client: Any, csrf: str, path: Path, **fields: str) -> Any:
    with path.open("rb") as f:
        return client.post(f"/market/seller/uploads/new?csrf_token={csrf}", files={"file": (path.name, f, "text/csv")},
                           data=fields, follow_redirects=True)


def test_upload_and_derive_through_the_seller_centre(rt: Any, client: Any, make_user: Any, tmp_path: Path) -> None:
    make_user("exchange_op", Role.MARKET_OPERATOR, password=PASSWORD)
    seller_id, _ = enterprise(rt, 51, "pageseller", "seller")
    enterprise(rt, 52, "pagebuyer", "buyer")
    csrf = _as(client, "pageseller")
    centre = client.get("/market/seller")
    assert f'id="upload-data-{seller_id}"' in centre.text and not leaks_of(centre.text)
    form = client.get(f"/market/seller/uploads/new?seller_id={seller_id}")
    assert form.status_code == 200 and 'id="upload-form"' in form.text and not leaks_of(form.text)
    r = client.post("/market/seller/uploads/new", files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")},
                    data={"seller_id": str(seller_id), "name": "无令牌"})
    assert r.status_code == 403  # the CSRF token travels in the query of a multipart form
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02PK" * 2000)
    r = _upload(client, csrf, bad, seller_id=str(seller_id), name="二进制文件")
    assert 400 <= r.status_code < 500 and 'id="upload-error"' in r.text and not leaks_of(r.text)
    r = _upload(client, csrf, people_csv(tmp_path / "people.csv", 120), seller_id=str(seller_id), name="户籍人口名单")
    assert r.status_code == 200 and 'id="raw-rows"' in r.text and "公民身份号码" in r.text, r.text[:2000]
    assert not leaks_of(r.text)
    pid = int(re.search(r"/market/seller/products/(\d+)/upload", r.text).group(1))  # type: ignore[union-attr]
    raw_id = re.search(r"<td>(\d{18})</td>", r.text)
    assert raw_id  # the seller's own raw rows
    derive = client.get(f"/market/seller/products/{pid}/derive")
    assert derive.status_code == 200 and not leaks_of(derive.text)
    r = client.post(f"/market/seller/products/{pid}/derive", data={
        "csrf_token": csrf, "name": "户籍人口结构", "method": "kanon", "k": "5", "suppression": "5"})
    assert r.status_code == 422 and 'id="derive-error"' in r.text  # no quasi-identifier chosen
    r = client.post(f"/market/seller/products/{pid}/derive", data={
        "csrf_token": csrf, "name": "户籍人口结构", "method": "kanon", "k": "5", "suppression": "5",
        "quasi_identifiers": ["性别", "出生日期", "行政区划代码"]}, follow_redirects=True)
    assert r.status_code == 200 and "最大重识别风险" in r.text, r.text[:2000]
    did = int(re.findall(r'id="derivation-(\d+)"', r.text)[0])
    page = client.get(f"/market/products/{did}")
    assert page.status_code == 200 and 'id="product-derivation"' in page.text and "户籍人口名单" in page.text
    assert not leaks_of(page.text)
    # a new version of the source: the derivative is stale, the seller rebuilds it
    with people_csv(tmp_path / "v2.csv", 130).open("rb") as f:
        r = client.post(f"/market/seller/products/{pid}/upload?csrf_token={csrf}",
                        files={"file": ("v2.csv", f, "text/csv")}, follow_redirects=True)
    assert r.status_code == 200 and "v2" in r.text
    centre = client.get("/market/seller")
    assert f'id="stale-{did}"' in centre.text
    r = client.post(f"/market/seller/products/{did}/rebuild", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and f'id="stale-{did}"' not in r.text
    # the operator sees versions and findings, not the raw rows; a buyer sees nothing
    r = client.post(f"/market/seller/products/{did}/edit", data={
        "csrf_token": csrf, "name": "户籍人口结构", "content": "户籍人口结构（k=5）", "scenarios": "人口结构研究",
        "delivery_modes": ["api", "hosted"], "rights": ["holding", "operating"], "source_evidence": "自有业务数据",
        "personal_authorisation": "个人单独同意", "min_group": "5"}, follow_redirects=True)
    assert r.status_code == 200, r.text[:1000]
    r = client.post(f"/market/seller/products/{did}/submit", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200
    _as(client, "exchange_op")
    console = client.get("/market/operator")
    assert f'id="listing-derivation-{did}"' in console.text and not leaks_of(console.text)
    op_page = client.get(f"/market/seller/products/{pid}/upload")
    assert op_page.status_code == 200 and 'id="raw-rows"' not in op_page.text and raw_id.group(1) not in op_page.text
    assert "公民身份号码" in op_page.text and not leaks_of(op_page.text)
    _as(client, "pagebuyer")
    assert client.get(f"/market/seller/products/{pid}/upload").status_code in (403, 404)
