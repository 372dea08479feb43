"""Pages: department dashboard, platform overview, demand list (create, suggest, link), sharing list (XLSX)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook

from shudata.catalog import service
from shudata.catalog.schemas import ResourceCreate, ResourceRead
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def world(make_department: Callable[..., int], make_user: Callable[..., Actor], rt: Runtime) -> dict[str, Any]:
    market = make_department("四川省市场监督管理局")
    police = make_department("四川省公安厅")
    steward = make_user("sc_steward", Role.DATA_STEWARD, department_id=market)
    make_user("ga_user", Role.DEPT_USER, department_id=police)
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    with rt.transaction() as s:
        entry = service.register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "name": "四川省企业信用信息", "abstract": "全省企业登记、许可、处罚信用信息。", "category_code": "302001",
            "information_items": [{"name": "统一社会信用代码", "data_type": "C", "length": 18},
                                  {"name": "企业名称", "data_type": "C"}],
            "sharing": {"type": 2, "condition": "用于监管执法", "method": "接口"}, "update_cycle": "每月"}))
    return {"market": market, "police": police, "entry": entry}


def test_home_is_the_department_dashboard_with_entries_without_data(client, login, world):
    login("sc_steward")
    page = client.get("/")
    assert page.status_code == 200
    assert "四川省市场监督管理局" in page.text and 'id="kpi-entries"' in page.text
    assert "四川省企业信用信息" in page.text.split('id="nodata-list"')[1]
    assert "/static/vendor/echarts/echarts.min.js" in page.text


def test_admin_home_is_the_platform_overview(client, login, world):
    login("opsadmin")
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/overview"
    page = client.get("/admin/overview")
    assert page.status_code == 200 and "四川省公安厅" in page.text and "四川省市场监督管理局" in page.text


def test_department_user_cannot_see_platform_overview(client, login, world):
    login("ga_user")
    assert client.get("/admin/overview").status_code == 403


def test_demand_is_recorded_matched_and_linked(client, login, world, rt):
    entry: ResourceRead = world["entry"]
    csrf = login("ga_user")
    bad = client.post("/demands", data={"csrf_token": csrf, "title": "x"})
    assert bad.status_code == 422 and 'id="form-errors"' in bad.text
    r = client.post("/demands", data={"csrf_token": csrf, "title": "企业信用信息", "description": "核查企业信用",
                                      "wanted_fields": "统一社会信用代码，企业名称", "purpose": "监管"})
    assert r.status_code == 200 and "企业信用信息" in r.text and "统一社会信用代码、企业名称" in r.text
    demand_id = int(re.findall(r'id="demand-(\d+)"', r.text)[0])
    sugg = client.get(f"/demands/{demand_id}/suggestions")
    assert sugg.status_code == 200 and "四川省企业信用信息" in sugg.text
    assert "关联此资源" not in sugg.text  # a department user cannot link
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login("sc_steward")
    assert "关联此资源" in client.get(f"/demands/{demand_id}/suggestions").text
    done = client.post(f"/demands/{demand_id}/link",
                       data={"csrf_token": csrf, "resource_code": entry.code, "action": "link"})
    assert done.status_code == 200 and "已关联资源" in done.text
    listing = client.get("/demands?scope=all&status=matched").text
    assert entry.code in listing and "sc_steward" in listing


def test_demand_list_exports_xlsx_with_chinese_headers(client, login, world):
    csrf = login("ga_user")
    client.post("/demands", data={"csrf_token": csrf, "title": "=HYPERLINK(\"x\")", "purpose": "测试"})
    r = client.get("/demands/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    header = [c.value for c in ws[1]]
    assert "需求名称" in header
    assert not str(ws.cell(row=2, column=header.index("需求名称") + 1).value).startswith("=")


def test_sharing_list_shows_condition_and_exports(client, login, world):
    login("ga_user")
    page = client.get("/sharing")
    assert page.status_code == 200 and "四川省企业信用信息" in page.text and "用于监管执法" in page.text
    mine = client.get("/sharing?scope=mine")
    assert "四川省企业信用信息" not in mine.text
    r = client.get("/sharing/export.xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    assert any(c.value == "四川省企业信用信息" for c in ws[2])


def test_register_form_offers_base_registry_templates(client, login, world):
    login("sc_steward")
    page = client.get("/catalog/new")
    assert 'id="templates-json"' in page.text and "人口基础信息" in page.text and "法人单位基础信息" in page.text


def test_department_dashboard_of_another_department_is_refused(client, login, world):
    login("ga_user")
    assert client.get(f"/departments/{world['police']}/dashboard").status_code == 200
    r = client.get(f"/departments/{world['market']}/dashboard")
    assert r.status_code == 403 and "无权" in r.text


def test_dashboard_in_english(client, login, world):
    login("sc_steward")
    page = client.get("/?lang=en")
    assert "Catalog entries" in page.text and "Entries without data" in page.text and 'lang="en"' in page.text
