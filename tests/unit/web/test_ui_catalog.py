"""Pages: catalog search (facets, htmx partial), entry page (metadata, history), register and edit forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shudata.catalog import service
from shudata.catalog.schemas import ResourceCreate, ResourceRead, ResourceUpdate
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

pytestmark = pytest.mark.sqlite_only


def _entry(name: str, **kw: Any) -> ResourceCreate:
    data: dict[str, Any] = {
        "name": name, "abstract": f"{name}，包括企业登记、许可和处罚信息。", "category_code": "302001",
        "information_items": [{"name": "统一社会信用代码", "data_type": "C", "length": 18},
                              {"name": "企业名称", "data_type": "C", "length": 200},
                              {"name": "注册资本", "data_type": "N"}],
        "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每月",
    }
    data.update(kw)
    return ResourceCreate.model_validate(data)


@pytest.fixture
def steward(make_department: Callable[..., int], make_user: Callable[..., Actor]) -> Actor:
    dept = make_department("四川省市场监督管理局")
    return make_user("sc_steward", Role.DATA_STEWARD, department_id=dept)


@pytest.fixture
def add(rt: Runtime) -> Callable[..., ResourceRead]:
    def do(actor: Actor, name: str, **kw: Any) -> ResourceRead:
        with rt.transaction() as s:
            return service.register_resource(session=s, actor=actor, data=_entry(name, **kw))

    return do


def test_search_finds_chinese_query_and_facets_filter(client, login, steward, add):
    add(steward, "四川省企业信用信息")
    add(steward, "四川省统计年鉴数据", sharing={"type": 2, "condition": "仅用于统计分析", "method": "文件"},
        abstract="全省国民经济统计年鉴。", information_items=[{"name": "地区", "data_type": "C"}])
    login("sc_steward")
    page = client.get("/catalog", params={"q": "企业信用"})
    assert page.status_code == 200 and "四川省<mark>企业信用</mark>信息" in page.text and "统计年鉴" not in page.text
    all_page = client.get("/catalog")
    assert "四川省企业信用信息" in all_page.text and "四川省统计年鉴数据" in all_page.text
    assert 'data-facet="sharing_type"' in all_page.text
    filtered = client.get("/catalog", params={"sharing_type": "2"})
    assert "四川省统计年鉴数据" in filtered.text and "四川省企业信用信息" not in filtered.text
    bad = client.get("/catalog", params={"sharing_type": "9", "format": "nonsense"})
    assert bad.status_code == 200 and "四川省企业信用信息" in bad.text


def test_live_search_answers_a_partial(client, login, steward, add):
    add(steward, "四川省企业信用信息")
    login("sc_steward")
    part = client.get("/catalog", params={"q": "信用"}, headers={"HX-Request": "true", "HX-Target": "search-area"})
    assert part.status_code == 200 and "<html" not in part.text
    assert "四川省企业<mark>信用</mark>信息" in part.text


def test_search_by_code_in_english(client, login, steward, add):
    e = add(steward, "四川省企业信用信息")
    login("sc_steward")
    r = client.get("/catalog", params={"q": e.code, "lang": "en"})
    assert "四川省企业信用信息" in r.text and f"<mark>{e.code}</mark>" in r.text
    assert "Government information resource catalog" in r.text


def test_entry_page_shows_metadata_items_and_history_with_slash_code(client, login, steward, add, rt):
    e = add(steward, "四川省企业信用信息")
    assert "/" in e.code
    with rt.transaction() as s:
        service.update_resource(session=s, actor=steward, code=e.code,
                                data=ResourceUpdate(name="四川省企业信用公示信息", comment="更名"))
    login("sc_steward")
    page = client.get(f"/catalog/{e.code}")
    assert page.status_code == 200
    for text in ("四川省企业信用公示信息", "统一社会信用代码", "无条件共享", "变更历史", "更名", "sc_steward",
                 "四川省企业信用信息", "尚无数据"):
        assert text in page.text, text
    assert client.get(f"/catalog/{e.code.replace('/', '%2F')}").status_code == 200


def test_unknown_entry_is_a_404_page_in_chinese(client, login, steward):
    login("sc_steward")
    r = client.get("/catalog/999999/000001")
    assert r.status_code == 404 and "目录中没有资源" in r.text and "<html" in r.text


def test_steward_registers_entry_through_form_and_errors_keep_input(client, login, steward):
    csrf = login("sc_steward")
    form = client.get("/catalog/new")
    assert form.status_code == 200 and "entry-form" in form.text
    data = {"csrf_token": csrf, "name": "四川省旅游景区名录", "abstract": "", "classification": "部门",
            "format_category": "电子表格", "format_type": "xlsx", "update_cycle": "每年", "sharing_type": "3",
            "sharing_condition": "", "sharing_method": "文件", "open_type": "不予开放",
            "item_name": ["景区名称", "等级", ""], "item_type": ["C", "C", "C"], "item_length": ["100", "", ""],
            "item_description": ["", "A 级", ""]}
    bad = client.post("/catalog/new", data=data)
    assert bad.status_code == 422 and "不予共享须填写" in bad.text and 'value="四川省旅游景区名录"' in bad.text
    assert 'value="景区名称"' in bad.text
    data.update(abstract="全省 A 级旅游景区名录。", sharing_condition="《旅游法》相关规定")
    ok = client.post("/catalog/new", data=data, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/catalog/")
    page = client.get(ok.headers["location"])
    assert "四川省旅游景区名录" in page.text and "景区名称" in page.text and "不予共享" in page.text


def test_steward_edits_entry_and_history_shows_what_changed(client, login, steward, add):
    e = add(steward, "四川省企业信用信息")
    csrf = login("sc_steward")
    form = client.get(f"/catalog/{e.code}/edit")
    assert form.status_code == 200 and 'value="四川省企业信用信息"' in form.text
    data = {"csrf_token": csrf, "name": "四川省企业信用信息", "abstract": e.abstract, "classification": "部门",
            "format_category": "数据库", "format_type": "csv", "update_cycle": "每日", "sharing_type": "1",
            "sharing_method": "接口", "open_type": "不予开放", "comment": "改为每日更新",
            "item_name": ["统一社会信用代码", "企业名称", "注册资本"], "item_type": ["C", "C", "N"],
            "item_length": ["18", "200", ""], "item_description": ["", "", ""]}
    r = client.post(f"/catalog/{e.code}/edit", data=data)
    assert r.status_code == 200 and "目录版本 2" in r.text
    assert "更新周期" in r.text and "每月" in r.text and "每日" in r.text and "改为每日更新" in r.text


def test_other_department_cannot_edit_and_sees_no_edit_button(client, login, steward, add, make_department,
                                                                make_user):
    e = add(steward, "四川省企业信用信息")
    other = make_department("四川省公安厅")
    make_user("ga_steward", Role.DATA_STEWARD, department_id=other)
    login("ga_steward")
    page = client.get(f"/catalog/{e.code}")
    assert page.status_code == 200 and 'id="edit-link"' not in page.text and 'id="upload-link"' not in page.text
    assert client.get(f"/catalog/{e.code}/edit").status_code == 403


def test_department_user_cannot_open_register_form(client, login, make_department, make_user):
    dept = make_department()
    make_user("plain", Role.DEPT_USER, department_id=dept)
    login("plain")
    assert client.get("/catalog/new").status_code == 403


def test_search_results_are_paged(client, login, steward, add):
    add(steward, "四川省企业信用信息")
    add(steward, "四川省企业年报信息")
    login("sc_steward")
    first = client.get("/catalog", params={"limit": 1})
    assert 'rel="next"' in first.text and "offset=1" in first.text
    names = {"四川省企业信用信息", "四川省企业年报信息"}
    shown_first = {n for n in names if n in first.text}
    second = client.get("/catalog", params={"limit": 1, "offset": 1})
    shown_second = {n for n in names if n in second.text}
    assert len(shown_first) == 1 and len(shown_second) == 1 and shown_first != shown_second


def test_entry_page_by_chinese_name_or_alias_in_the_url(client, login, steward, add):
    e = add(steward, "四川省企业信用信息", alias="企业信用")
    login("sc_steward")
    for key in ("四川省企业信用信息", "企业信用"):
        r = client.get(f"/catalog/{key}")
        assert r.status_code == 200 and e.code in r.text, key
