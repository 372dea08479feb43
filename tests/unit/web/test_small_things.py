"""The small things of issue #12 a user notices: the exchange page opens on a tab with items in
it, a quality check without rules says what to do, the favicon, no one-character-per-line labels."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from shudata.catalog import service as catalog
from shudata.catalog.schemas import ResourceCreate
from shudata.core.types import Role
from shudata.web.routes import static_path
from support.sharing import World, world

__all__ = ["World", "world"]
pytestmark = pytest.mark.sqlite_only
GBK_CSV = Path(__file__).resolve().parents[2] / "data" / "sichuan_gdp_2023_gbk.csv"


def _active_tabs(html: str) -> list[str]:
    """(box, status) of the highlighted direction and status tabs."""
    return re.findall(r'class="btn btn-outline-secondary active" href="/exchange\?box=(\w+)&(?:amp;)?status=(\w*)"',
                      html)


def test_exchange_opens_on_the_tab_with_items(client, login, world):
    csrf = login("c_user")
    today = dt.date.today()
    r = client.post("/exchange/new", data={
        "csrf_token": csrf, "resource": "201001/000002", "fields": ["机构名称"], "purpose": "数据校核",
        "basis": "核对登记信息", "use_from": str(today), "use_until": str(today + dt.timedelta(days=30)),
        "delivery_method": "接口"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/exchange").text  # the user's department has nothing to decide: its own requests
    assert set(_active_tabs(page)) == {("outgoing", "pending")} and 'id="request-' in page
    assert set(_active_tabs(client.get("/exchange?box=incoming&status=").text)) == {("incoming", "")}  # kept
    client.cookies.clear()
    login("p_steward")
    page = client.get("/exchange").text  # the provider's steward: the request waiting for a decision
    assert set(_active_tabs(page)) == {("incoming", "pending")}
    assert 'id="request-' in page


def test_a_check_without_rules_says_what_to_do(client, login, rt, make_department, make_user):
    dept = make_department("四川省统计局")
    steward = make_user("q_steward", Role.DATA_STEWARD, department_id=dept)
    with rt.transaction() as s:
        code = catalog.register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "name": "四川省各市州主要经济指标", "abstract": "各市州地区生产总值与常住人口。", "category_code": "201001",
            "information_items": [{"name": "地区", "data_type": "C"}, {"name": "地区生产总值", "data_type": "N"},
                                  {"name": "常住人口", "data_type": "N"}],
            "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"})).code
    csrf = login("q_steward")
    with GBK_CSV.open("rb") as f:
        assert client.post(f"/api/v1/resources/{code}/versions", headers={"X-CSRF-Token": csrf},
                           files={"file": ("四川GDP.csv", f, "text/csv")}).status_code == 201
    page = client.get(f"/quality/resources/{code}")
    assert 'id="no-rules"' in page.text and "尚未配置质量规则" in page.text
    r = client.post(f"/quality/resources/{code}/check", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and 'id="no-rules"' in r.text and "去配置质量规则" in r.text
    assert "没有执行任何规则" in r.text  # the empty failures chart says why it is empty
    assert "No quality rules yet" in client.get(f"/quality/resources/{code}?lang=en").text


@pytest.mark.browser
def test_long_chinese_labels_do_not_wrap_one_character_per_line():
    """A table squeezed into 120 px: with app.css its header cells and badges keep their words on
    one line (the table scrolls instead); without it the header breaks after every character."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    css = Path(static_path("css", "app.css")).read_text(encoding="utf-8")
    bootstrap = Path(static_path("vendor", "bootstrap", "bootstrap.min.css")).read_text(encoding="utf-8")
    table = ('<div style="width:120px"><table class="table"><thead><tr><th id="h">数据提供部门名称</th>'
             '<th>共享类型</th><th>更新周期</th></tr></thead><tbody><tr><td id="c">省</td>'
             '<td><span class="badge" id="b">有条件共享</span></td><td>每月</td></tr></tbody></table></div>')

    def lines(with_app_css: bool) -> dict[str, int]:
        page.set_content(f"<style>{bootstrap}{css if with_app_css else ''}</style>{table}")
        return page.evaluate("""() => Object.fromEntries(['h', 'b', 'c'].map(id => {
            const range = document.createRange();
            range.selectNodeContents(document.getElementById(id).firstChild);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            return [id, tops.size];}))""")  # the lines the text is laid out on

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        without, with_css = lines(False), lines(True)
        browser.close()
    assert without["h"] > 2.5  # the failure this guards against: one or two characters a line
    assert with_css == {"h": 1, "b": 1, "c": 1}, with_css


def test_demands_open_on_the_tab_with_items(client, login, world):
    csrf = login("c_user")
    r = client.post("/demands", data={"csrf_token": csrf, "title": "企业纳税信用等级", "description": "按季度提供",
                                      "wanted_fields": "统一社会信用代码", "purpose": "联合奖惩"},
                    follow_redirects=False)
    assert r.status_code == 303
    mine = 'class="btn btn-outline-secondary active" href="/demands?scope=mine'
    every = 'class="btn btn-outline-secondary active" href="/demands?scope=all'
    page = client.get("/demands").text
    assert mine in page and "企业纳税信用等级" in page  # the department's own demand
    client.cookies.clear()
    login("p_steward")
    page = client.get("/demands").text  # none of its own yet: every department's
    assert every in page and "企业纳税信用等级" in page
    assert mine in client.get("/demands?scope=mine").text  # a choice is kept
