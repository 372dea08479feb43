"""Dashboards in a real browser: a statistics-bureau user runs a query in the SQL workbench, pins it
to a new dashboard (固定到仪表板), sees the chart drawn (an ECharts canvas, the panel's data loaded
from its own endpoint), sets the panel's region column in edit mode and filters the dashboard to one
city, exports the dashboard as JSON and imports it as a copy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import GBK_CSV, PASSWORD, _entry, _user, new_runtime, require_chromium, serving

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 60_000
SQL = 'SELECT "地区", "地区生产总值", "常住人口" FROM gdp_2023 ORDER BY "地区生产总值" DESC'


def _seed(rt: Runtime) -> None:
    system = Actor.system()
    with rt.transaction() as s:
        stats = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省统计局", uscc=complete_uscc("11510000000400001"), region_code="510000")).id
    _user(rt, "tj_analyst", Role.DEPT_USER, stats)
    steward = _user(rt, "tj_steward", Role.DATA_STEWARD, stats)
    items = [{"name": "地区", "data_type": "C", "length": 20, "description": "市州名称"},
             {"name": "地区生产总值", "data_type": "N", "description": "亿元"},
             {"name": "常住人口", "data_type": "N", "description": "万人"}]
    gdp = _entry(rt, steward, name="四川省各市州主要经济指标", alias="gdp_2023",
                 abstract="各市州地区生产总值与常住人口。", category_code="201001", information_items=items)
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=system, resource_code=gdp, path=GBK_CSV,
                    source_name=GBK_CSV.name)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("dashboard-e2e")
    rt = new_runtime(tmp)
    _seed(rt)
    with serving(rt) as url:
        yield url
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _panel_loaded(page: Any, rows: str | None = None) -> None:
    panel = page.locator(".sd-dash-panel").first
    expect(panel).to_have_attribute("data-loaded", "1", timeout=TIMEOUT_MS)
    expect(panel.locator("canvas")).to_have_count(1, timeout=TIMEOUT_MS)
    if rows is not None:
        expect(panel).to_have_attribute("data-rows", rows, timeout=TIMEOUT_MS)


def test_pin_a_query_filter_export_and_import(site: str, tmp_path: Path, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site + "/login")
    page.fill("input[name=username]", "tj_analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(site + "/", timeout=TIMEOUT_MS)

    # the workbench: run the query, chart it, pin it to a new dashboard
    page.goto(site + "/query")
    expect(page.locator("#schema-list .sd-wb-table")).to_have_count(1, timeout=TIMEOUT_MS)
    page.evaluate(f"window.sdWorkbench.editor.setValue({json.dumps(SQL)})")
    page.click("#run")
    expect(page.locator("#workbench")).to_have_attribute("data-running", "0", timeout=TIMEOUT_MS)
    expect(page.locator("#grid tbody tr")).to_have_count(8, timeout=TIMEOUT_MS)
    page.click("#tab-chart")
    page.select_option("#chart-kind", "bar")
    page.select_option("#chart-x", "地区")
    page.select_option("#chart-y", "常住人口")
    page.click("#pin-open")
    expect(page.locator("#pin-form")).to_be_visible()
    page.fill("#pin-title", "各市州常住人口")
    page.fill("#pin-new-title", "市州经济概览")
    page.click("#pin-submit")
    link = page.locator("#pin-link")
    expect(link).to_contain_text("市州经济概览", timeout=TIMEOUT_MS)
    link.click()
    page.wait_for_url("**/dashboards/*", timeout=TIMEOUT_MS)
    first_url = page.url
    expect(page.locator("h1")).to_have_text("市州经济概览")
    _panel_loaded(page, "8")
    expect(page.locator(".sd-dash-panel h2")).to_have_text("各市州常住人口")

    # edit mode: the panel's region column, then a region filter on the dashboard
    page.click("#edit-toggle")
    page.fill("#rc-p1", "地区")
    page.click("#edit-save")
    page.wait_for_load_state("networkidle")
    _panel_loaded(page, "8")
    page.fill("#f-region", "成都市")
    page.click("#apply-filters")
    page.wait_for_url("**region=*", timeout=TIMEOUT_MS)
    _panel_loaded(page, "1")
    expect(page.locator("#f-region")).to_have_value("成都市")

    # export the document (JSON, the query's SQL inside), then import it as a copy
    with page.expect_download(timeout=TIMEOUT_MS) as got:
        page.click("#export-json")
    path = tmp_path / "dash.json"
    got.value.save_as(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["title"] == "市州经济概览" and doc["panels"][0]["source"]["sql"].startswith("SELECT")
    assert doc["panels"][0]["source"]["region_column"] == "地区"
    page.click("#import-copy")
    first = first_url.split("?")[0]
    page.wait_for_url(lambda u: "/dashboards/" in u and u.split("?")[0] != first, timeout=TIMEOUT_MS)
    expect(page.locator("h1")).to_have_text("市州经济概览（副本）", timeout=TIMEOUT_MS)
    _panel_loaded(page, "8")
    page.goto(site + "/dashboards")
    expect(page.locator("#dashboard-list tbody tr")).to_have_count(2)
    assert not errors, errors
    ctx.close()
