"""The SQL workbench for a consumer department, in a real browser: the schema browser lists the
other department's resource it holds a grant on (marked 经授权, only the granted columns, the
masked ones marked); a query shows exactly the rows of the grant's CSV download, masked; a raw ID
number finds nothing; a column outside the grant is refused in Chinese with its name marked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import (
    PASSWORD,
    _entry,
    _user,
    new_runtime,
    require_chromium,
    serving,
)

from shudata.core.types import Actor, Role
from shudata.jobs.ingest import ingest_file
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.sharing import service as sharing
from shudata.sharing.schemas import RequestCreate
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 60_000
IDS = ["510104199001011230", "510105198502023450", "510703197703035672"]
CSV_TEXT = "姓名,公民身份号码,所在市州,联系电话\n" + "\n".join(
    f"{name},{pid},{city},{phone}" for name, pid, city, phone in zip(
        ["张三", "李四", "王五"], IDS, ["成都市", "成都市", "绵阳市"], ["13812345678", "13912345678", "13712345678"],
        strict=True)) + "\n"
GRANTED = ["姓名", "公民身份号码", "所在市州"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("workbench-grant-e2e")
    rt = new_runtime(tmp)
    system = Actor.system()
    with rt.transaction() as s:
        police = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省公安厅", uscc=complete_uscc("11510000000500001"), region_code="510000")).id
        tax = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省税务局", uscc=complete_uscc("11510000000500002"), region_code="510000")).id
    steward = _user(rt, "ga_steward", Role.DATA_STEWARD, police)
    analyst = _user(rt, "sw_analyst", Role.DEPT_USER, tax)
    items = [{"name": n, "data_type": "C", "length": 20, "description": d}
             for n, d in (("姓名", "人员姓名"), ("公民身份号码", "18 位身份证号"), ("所在市州", "市州名称"),
                          ("联系电话", "手机号码"))]
    code = _entry(rt, steward, name="四川省人口基础信息（样例）", alias="people", abstract="人口基础信息样例。",
                  category_code="101001", information_items=items)
    data = tmp / "people.csv"
    data.write_text(CSV_TEXT, encoding="utf-8")
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=system, resource_code=code, path=data,
                    source_name=data.name)
    today = dt.date.today()
    with rt.transaction() as s:  # 无条件共享: granted at once, with the share-conditional masking
        sharing.request_access(session=s, actor=analyst, settings=rt.settings, data=RequestCreate(
            resource=code, fields=GRANTED, purpose="业务协同", basis="《税收征收管理法》", use_from=today,
            use_until=today + dt.timedelta(days=30)))
    with serving(rt) as url:
        yield url, code
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def chromium(browser: Any) -> Any:
    return browser  # the worker's (tests/e2e/conftest.py)


def _run(page: Any, sql: str) -> None:
    page.evaluate("(sql) => window.sdWorkbench.editor.setValue(sql)", sql)
    page.click("#run")
    expect(page.locator("#workbench")).to_have_attribute("data-running", "0", timeout=TIMEOUT_MS)


def test_a_granted_table_in_the_workbench(site: tuple[str, str], chromium: Any, tmp_path: Path) -> None:
    url, code = site
    ctx = chromium.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(url + "/login")
        page.fill("input[name=username]", "sw_analyst")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(url + "/", timeout=TIMEOUT_MS)
        page.goto(url + "/query")
        table = page.locator("#schema-list .sd-wb-table")
        expect(table).to_have_count(1, timeout=TIMEOUT_MS)
        expect(table.locator(".sd-wb-granted")).to_have_text("经授权")
        expect(table).to_contain_text("四川省公安厅")
        names = table.locator(".sd-wb-cname")
        expect(names).to_have_count(3)
        assert names.all_text_contents() == GRANTED  # 联系电话 is not granted: not listed
        expect(table.locator("li", has_text="公民身份号码").locator(".badge")).to_have_text("脱敏")

        page.click(".CodeMirror")
        page.keyboard.type("SELECT * FROM peo")
        page.keyboard.press("Control+Space")
        hint = page.locator(".CodeMirror-hints .CodeMirror-hint", has_text="people")
        expect(hint).to_have_count(1, timeout=TIMEOUT_MS)
        expect(hint).to_contain_text("经授权")  # completion offers the granted table, marked
        page.keyboard.press("Escape")

        _run(page, "SELECT * FROM people ORDER BY 所在市州, 姓名")
        expect(page.locator("#grid tbody tr")).to_have_count(3, timeout=TIMEOUT_MS)
        result = page.evaluate("window.sdWorkbench.state.result.rows")
        columns = page.evaluate("window.sdWorkbench.state.result.columns.map(c => c.name)")
        assert columns == GRANTED
        body = page.request.get(url + "/api/v1/shared/rows", params={"resource": code, "format": "csv"})
        assert body.ok, body.text()
        download = list(csv.reader(io.StringIO(body.body().decode("utf-8-sig"))))
        assert download[0] == GRANTED and sorted(download[1:]) == sorted(result)
        shown = page.locator("#grid").inner_text()
        assert not [v for v in [*IDS, "张三", "李四"] if v in shown]  # masked as the download

        _run(page, f"SELECT count(*) AS n FROM people WHERE 公民身份号码 = '{IDS[0]}'")
        assert page.evaluate("window.sdWorkbench.state.result.rows") == [[0]]  # the raw number finds nothing

        _run(page, "SELECT 姓名,\n  联系电话 FROM people")
        expect(page.locator("#error")).to_contain_text("联系电话", timeout=TIMEOUT_MS)
        expect(page.locator("#error")).to_contain_text("授权")
        expect(page.locator(".CodeMirror .sd-sql-error")).to_have_text("联系电话")
    finally:
        ctx.close()
