"""The SQL workbench in a real browser: a statistics-bureau user writes a query with completion
(types a prefix, asks for the hint, picks the table), runs it, charts it, exports it as CSV and
XLSX — the downloaded files hold exactly the rows of the result — saves it and finds it in the
list; a slow query is cancelled on the server; another department's table is refused in Chinese
with the table name marked in the editor.

With ``SHUDATA_DOCS_SCREENSHOTS=<folder>`` the test also saves the screenshots the user guide shows
(1440 and 390 px wide)."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from tests.e2e.conftest import (
    GBK_CSV,
    PASSWORD,
    _entry,
    _user,
    new_runtime,
    require_chromium,
    serving,
)

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 60_000
SQL_HEAD = 'SELECT "地区", "地区生产总值", "常住人口" FROM gd'
SQL_TAIL = ' ORDER BY "地区生产总值" DESC'


@dataclass
class WorkbenchSite:
    url: str
    rt: Runtime


def _seed(rt: Runtime) -> None:
    system = Actor.system()
    with rt.transaction() as s:
        stats = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省统计局", uscc=complete_uscc("11510000000400001"), region_code="510000")).id
        market = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省市场监督管理局", uscc=complete_uscc("11510000000400002"), region_code="510000")).id
    analyst = _user(rt, "tj_analyst", Role.DEPT_USER, stats)
    steward = _user(rt, "tj_steward", Role.DATA_STEWARD, stats)
    sc = _user(rt, "sc_steward", Role.DATA_STEWARD, market)
    assert analyst.department_id == steward.department_id
    items = [{"name": "地区", "data_type": "C", "length": 20, "description": "市州名称"},
             {"name": "地区生产总值", "data_type": "N", "description": "亿元"},
             {"name": "常住人口", "data_type": "N", "description": "万人"}]
    gdp = _entry(rt, steward, name="四川省各市州主要经济指标", alias="gdp_2023",
                 abstract="各市州地区生产总值与常住人口。", category_code="201001", information_items=items)
    credit = _entry(rt, sc, name="四川省市场主体分布", alias="credit", abstract="各市州市场主体数量。",
                    information_items=items)
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=system, resource_code=gdp, path=GBK_CSV,
                    source_name=GBK_CSV.name)
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=system, resource_code=credit, path=GBK_CSV,
                    source_name=GBK_CSV.name)


@pytest.fixture(scope="module")
def wb_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkbenchSite]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("workbench-e2e")
    rt = new_runtime(tmp)
    _seed(rt)
    with serving(rt) as url:
        yield WorkbenchSite(url=url, rt=rt)
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def chromium(browser: Any) -> Any:
    return browser  # the worker's (tests/e2e/conftest.py)


def _login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(url + "/", timeout=TIMEOUT_MS)


def _run_and_wait(page: Any) -> None:
    page.click("#run")
    expect(page.locator("#workbench")).to_have_attribute("data-running", "0", timeout=TIMEOUT_MS)


def _result_rows(page: Any) -> list[list[Any]]:
    rows: list[list[Any]] = page.evaluate("window.sdWorkbench.state.result.rows")
    return rows


def _same(file_rows: list[list[Any]], result: list[list[Any]]) -> None:
    assert len(file_rows) == len(result)
    for got, want in zip(file_rows, result, strict=True):
        assert got[0] == want[0]
        assert [float(v) for v in got[1:]] == [float(v) for v in want[1:]]


def test_write_run_chart_export_save(wb_site: WorkbenchSite, chromium: Any, tmp_path: Path) -> None:
    ctx = chromium.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, wb_site.url, "tj_analyst")
        page.click("a.nav-link[href='/query']")
        page.wait_for_url(wb_site.url + "/query")
        expect(page.locator("#schema-list .sd-wb-table")).to_have_count(1, timeout=TIMEOUT_MS)  # not credit
        expect(page.locator("#schema-list")).to_contain_text("四川省各市州主要经济指标")

        # write with completion: a prefix, the hint, pick the table
        page.click(".CodeMirror")
        page.keyboard.type(SQL_HEAD)
        page.keyboard.press("Control+Space")
        hint = page.locator(".CodeMirror-hints .CodeMirror-hint", has_text="gdp_2023")
        expect(hint).to_have_count(1, timeout=TIMEOUT_MS)
        expect(page.locator(".CodeMirror-hints")).to_contain_text("四川省各市州主要经济指标")
        page.keyboard.press("Enter")  # picks the highlighted (only) table
        expect(page.locator(".CodeMirror-hints")).to_have_count(0)
        page.keyboard.type(SQL_TAIL)
        sql = page.evaluate("window.sdWorkbench.editor.getValue()")
        assert sql == SQL_HEAD[:-2] + "gdp_2023" + SQL_TAIL

        # run: a paged grid, the limit visible
        _run_and_wait(page)
        expect(page.locator("#result-meta")).to_contain_text("共 8 行", timeout=TIMEOUT_MS)
        expect(page.locator("#grid tbody tr")).to_have_count(8)
        expect(page.locator("#grid tbody tr").first).to_contain_text("成都市")
        expect(page.locator("#timer-text")).to_contain_text("上限")
        result = _result_rows(page)
        assert result[0][0] == "成都市" and len(result) == 8

        # chart: bar with the chosen columns, then a pie
        page.click("#tab-chart")
        page.select_option("#chart-kind", "bar")
        page.select_option("#chart-x", "地区")
        page.select_option("#chart-y", "常住人口")
        expect(page.locator("#chart")).to_have_attribute("data-points", "8", timeout=TIMEOUT_MS)
        expect(page.locator("#chart")).to_have_attribute("data-kind", "bar")
        expect(page.locator("#chart canvas")).to_have_count(1)
        page.select_option("#chart-kind", "pie")
        expect(page.locator("#chart")).to_have_attribute("data-kind", "pie", timeout=TIMEOUT_MS)
        # 地区 holds city names: a choropleth of Sichuan's prefectures through ShudataGeo (geo.js)
        expect(page.locator("#chart-kind option[value=map]")).to_have_count(1)
        page.select_option("#chart-kind", "map")
        expect(page.locator("#chart")).to_have_attribute("data-kind", "map", timeout=TIMEOUT_MS)
        expect(page.locator("#chart")).to_have_attribute("data-map", "sichuan")
        expect(page.locator("#chart")).to_have_attribute("data-points", "8")  # every city found on the map
        page.select_option("#chart-kind", "bar")
        expect(page.locator("#chart")).to_have_attribute("data-kind", "bar", timeout=TIMEOUT_MS)

        shots = os.environ.get("SHUDATA_DOCS_SCREENSHOTS")
        if shots:
            page.click("#schema-list summary")
            page.wait_for_timeout(600)  # the tab's fade
            page.screenshot(path=str(Path(shots) / "workbench-1440.png"), full_page=True)

        # export: CSV (BOM) and XLSX hold exactly the rows of the result, under a Chinese name
        page.fill("#export-name", "各市州经济指标")
        with page.expect_download(timeout=TIMEOUT_MS) as got:
            page.click("[data-export=csv]")
        csv_path = tmp_path / "out.csv"
        got.value.save_as(csv_path)
        assert got.value.suggested_filename == "各市州经济指标.csv"
        raw = csv_path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert table[0] == ["地区", "地区生产总值", "常住人口"]
        _same(table[1:], result)
        with page.expect_download(timeout=TIMEOUT_MS) as got:
            page.click("[data-export=xlsx]")
        xlsx_path = tmp_path / "out.xlsx"
        got.value.save_as(xlsx_path)
        sheet = load_workbook(xlsx_path, read_only=True).active
        assert sheet is not None
        cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert cells[0] == ["地区", "地区生产总值", "常住人口"]
        _same(cells[1:], result)
        expect(page.locator("#timer-text")).to_contain_text("已导出 8 行", timeout=TIMEOUT_MS)

        # save, shared with the department, and find it in the list
        page.click("#save-open")
        page.fill("#save-name", "各市州GDP排名")
        page.select_option("#save-visibility", "department")
        page.click("#save-submit")
        expect(page.locator("#save-status")).to_contain_text("已保存", timeout=TIMEOUT_MS)
        page.click("#tab-saved")
        item = page.locator("#saved-list .sd-wb-item", has_text="各市州GDP排名")
        expect(item).to_have_count(1, timeout=TIMEOUT_MS)
        expect(item).to_contain_text("本部门")
        page.click("#tab-history")
        expect(page.locator("#history-list .sd-wb-item").first).to_contain_text("成功", timeout=TIMEOUT_MS)

        # a colleague of the department sees the shared query (read-only)
        other = ctx.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                        has_touch=True, device_scale_factor=2)
        p2 = other.new_page()
        p2.set_default_timeout(TIMEOUT_MS)
        _login(p2, wb_site.url, "tj_steward")
        p2.goto(wb_site.url + "/query")
        p2.click("#tab-saved")
        shared = p2.locator("#saved-list .sd-wb-item", has_text="各市州GDP排名")
        expect(shared).to_contain_text("来自 tj_analyst", timeout=TIMEOUT_MS)
        expect(shared.locator("[data-delete]")).to_have_count(0)
        shared.locator("[data-open]").click()
        p2.click("#run")
        expect(p2.locator("#result-meta")).to_contain_text("共 8 行", timeout=TIMEOUT_MS)
        if shots:
            p2.click("#tab-schema")
            p2.click("#schema-list summary")
            p2.wait_for_timeout(600)  # the tabs' fade
            p2.screenshot(path=str(Path(shots) / "workbench-390.png"), full_page=True)
        other.close()
    finally:
        ctx.close()


def test_cancel_and_refusal_marked(wb_site: WorkbenchSite, chromium: Any) -> None:
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, wb_site.url, "tj_analyst")
        page.goto(wb_site.url + "/query")
        editor = "window.sdWorkbench.editor"
        # another department's table: refused in Chinese, the name marked in the editor
        page.evaluate(f"{editor}.setValue('SELECT *\\nFROM credit\\nLIMIT 5')")
        _run_and_wait(page)
        expect(page.locator("#error")).to_contain_text("无权读取", timeout=TIMEOUT_MS)
        expect(page.locator(".CodeMirror .sd-sql-error")).to_have_text("credit")
        expect(page.locator("#error")).to_contain_text("第 2 行第 6 列")
        # a slow query: the cancel button stops it on the server long before the 30 s limit
        page.evaluate(f"{editor}.setValue('SELECT count(*) AS n FROM range(100000000000) a')")
        page.click("#run")
        expect(page.locator("#cancel")).to_be_enabled(timeout=TIMEOUT_MS)
        expect(page.locator("#timer-text")).to_contain_text("运行中", timeout=TIMEOUT_MS)
        page.wait_for_timeout(800)
        page.click("#cancel")
        expect(page.locator("#workbench")).to_have_attribute("data-running", "0", timeout=15_000)
        expect(page.locator("#error")).to_contain_text("已按您的要求取消")
        expect(page.locator("#timer-text")).to_have_text("已取消")
        page.click("#tab-history")
        expect(page.locator("#history-list .sd-wb-item").first).to_contain_text("已取消", timeout=TIMEOUT_MS)
    finally:
        ctx.close()
