"""/api/v1 catalog routes: entries addressed by codes with a slash, permissions, search, lists,
downloads with Chinese file names, import/export and dashboards."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Role

ENTRY = {
    "name": "四川省企业信用信息", "abstract": "企业登记、许可和处罚信息。", "category_code": "302001",
    "information_items": [{"name": "统一社会信用代码", "data_type": "C", "length": 18}],
    "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每月",
}


@pytest.fixture
def api(client, make_department, make_user, token_for):
    market = make_department("四川省市场监督管理局")
    police = make_department("四川省公安厅")
    make_user("steward", Role.DATA_STEWARD, department_id=market)
    make_user("other", Role.DATA_STEWARD, department_id=police)
    make_user("clerk", Role.DEPT_USER, department_id=market)
    return {"market": market, "police": police, "steward": token_for("steward"), "other": token_for("other"),
            "clerk": token_for("clerk")}


def test_entry_lifecycle_over_http(client, api, rt):
    r = client.post("/api/v1/resources", json=ENTRY, headers=api["steward"])
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert code == "302001/000001"
    assert client.get(f"/api/v1/resources/{code}", headers=api["clerk"]).json()["name"] == ENTRY["name"]
    assert client.get(f"/api/v1/resources/{quote(code, safe='')}", headers=api["clerk"]).status_code == 200
    p = client.patch(f"/api/v1/resources/{code}", json={"abstract": "新摘要", "comment": "修订"},
                     headers=api["steward"])
    assert p.status_code == 200 and p.json()["revision"] == 2
    hist = client.get(f"/api/v1/resources/{code}/history", headers=api["clerk"]).json()
    assert [h["revision"] for h in hist] == [2, 1] and hist[0]["changed_fields"] == ["abstract"]
    denied = client.patch(f"/api/v1/resources/{code}", json={"abstract": "x"}, headers=api["other"])
    assert denied.status_code == 403 and "无权" in denied.json()["error"]["message"]
    with rt.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied",
                                                   AuditEntry.action == "catalog.resource.edit")).one()
    assert entry.actor == "other"
    # the lake's routes below an entry are not swallowed by the entry route
    assert client.get(f"/api/v1/resources/{code}/versions", headers=api["clerk"]).status_code == 200
    assert client.delete(f"/api/v1/resources/{code}", headers=api["steward"]).status_code == 200
    assert client.get(f"/api/v1/resources/{code}", headers=api["clerk"]).status_code == 404


@pytest.mark.parametrize(("who", "body", "status"), [
    ("clerk", ENTRY, 403),  # a department user cannot register
    ("steward", {**ENTRY, "sharing": {"type": 3, "method": "接口"}}, 422),  # 不予共享 without a legal basis
    ("steward", {**ENTRY, "code": "12/3"}, 422),  # malformed code
    (None, ENTRY, 401),  # anonymous
])
def test_registration_refusals(client, api, who, body, status):
    r = client.post("/api/v1/resources", json=body, headers=api[who] if who else {})
    assert r.status_code == status and r.json()["error"]["message"]


def test_search_templates_demands_and_lists(client, api):
    client.post("/api/v1/resources", json=ENTRY, headers=api["steward"])
    client.post("/api/v1/templates/法人/resources", json={"name": "四川省法人单位基础信息"}, headers=api["steward"])
    s = client.get("/api/v1/search", params={"q": "企业信用"}, headers=api["clerk"]).json()
    assert s["hits"][0]["resource"]["name"] == "四川省企业信用信息" and "overdue" in s["hits"][0]["resource"]
    assert {f["label"] for f in s["facets"]["provider"]} == {"四川省市场监督管理局"}
    base = client.get("/api/v1/search", params={"q": "", "classification": "基础"}, headers=api["clerk"]).json()
    assert [h["resource"]["name"] for h in base["hits"]] == ["四川省法人单位基础信息"]
    assert len(client.get("/api/v1/templates", headers=api["clerk"]).json()) == 4
    d = client.post("/api/v1/demands", json={"title": "企业信用数据", "wanted_fields": ["统一社会信用代码"]},
                    headers=api["other"]).json()
    sug = client.get(f"/api/v1/demands/{d['id']}/suggestions", headers=api["other"]).json()
    assert sug[0]["resource"]["code"] == "302001/000001"
    linked = client.post(f"/api/v1/demands/{d['id']}/link", json={"resource_code": "302001/000001"},
                         headers=api["other"]).json()
    assert linked["status"] == "matched"
    x = client.get("/api/v1/demands.xlsx", headers=api["clerk"])
    assert x.status_code == 200 and "filename*=UTF-8''" + quote("需求清单.xlsx") in x.headers["content-disposition"]
    assert load_workbook(io.BytesIO(x.content)).active.cell(2, 3).value == "企业信用数据"
    rows = client.get("/api/v1/sharing-list", params={"department": api["market"]}, headers=api["clerk"]).json()
    assert {r["name"] for r in rows} == {"四川省企业信用信息", "四川省法人单位基础信息"}
    assert client.get("/api/v1/sharing-list.xlsx", headers=api["clerk"]).status_code == 200
    board = client.get(f"/api/v1/dashboard/department/{api['market']}", headers=api["clerk"]).json()
    assert board["entries"] == 2 and board["no_data"] == 2
    assert client.get("/api/v1/dashboard/platform", headers=api["clerk"]).status_code == 403


def test_export_then_import_over_http(client, api):
    client.post("/api/v1/resources", json=ENTRY, headers=api["steward"])
    exp = client.get("/api/v1/catalog/export", params={"format": "csv"}, headers=api["clerk"])
    assert exp.status_code == 200 and exp.content.startswith(b"\xef\xbb\xbf")
    assert quote("政务信息资源目录.csv") in exp.headers["content-disposition"]
    edited = exp.content.decode("utf-8-sig").replace("企业登记、许可和处罚信息。", "修订后的摘要")
    ok = client.post("/api/v1/catalog/import", files={"file": ("目录.csv", edited.encode("gbk"), "text/csv")},
                     headers=api["steward"])
    assert ok.status_code == 200 and ok.json()["updated"] == ["302001/000001"]
    bad = edited.replace(",1 无条件共享,", ",3 不予共享,")
    r = client.post("/api/v1/catalog/import", files={"file": ("目录.csv", bad.encode(), "text/csv")},
                    headers=api["steward"])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["column"] == "共享条件"
    skipped = client.post("/api/v1/catalog/import", data={"skip_invalid": "true"},
                          files={"file": ("目录.csv", bad.encode(), "text/csv")}, headers=api["steward"])
    assert skipped.status_code == 200 and skipped.json()["skipped_rows"] == 1
    hist = client.get("/api/v1/resources/302001/000001/history", headers=api["clerk"]).json()
    assert len(hist) == 2 and hist[0]["snapshot"]["abstract"] == "修订后的摘要"
