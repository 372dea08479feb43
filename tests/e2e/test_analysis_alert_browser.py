"""Early warning in a real browser (issue 18): the statistics bureau's GDP export declares its NBS layout, an
indicator system is defined on it (地区生产总值 from the long form, its 名义增长率 as a formula) with a rule
"名义负增长超过 10%" and an in-app subscription. A new data version of the export is uploaded over HTTP
(Sichuan's 2024 figure revised down); the indicators are recomputed, the alert appears on the alerts page,
a department user acknowledges it there and the page shows who did; the indicator page draws its chart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import PASSWORD, _user, new_runtime, require_chromium, serving

from shudata.analysis import service
from shudata.analysis.schemas import IndicatorWrite, RuleWrite, SubscriptionWrite
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.demo import loader
from shudata.demo.entries import ECONOMY_ENTRIES
from shudata.security.schemas import DepartmentCreate, TokenCreate
from shudata.security.service import create_department, create_token
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 60_000
GDP = "201001/000001"
RAW = Path(__file__).resolve().parents[1] / "data" / "economy" / "nbs_province_annual_gbk" / "gdp_100m_yuan.csv"


def _seed(rt: Runtime) -> str:
    system = Actor.system()
    with rt.transaction() as s:
        tjj = create_department(session=s, actor=system, data=DepartmentCreate(
            name="省统计局", uscc=complete_uscc("11510000000400001"), region_code="510000")).id
    steward = _user(rt, "tj_steward", Role.DATA_STEWARD, tjj)
    _user(rt, "tj_user", Role.DEPT_USER, tjj)
    entry = next(e for e in ECONOMY_ENTRIES if e.code == GDP)
    with rt.transaction() as s:
        loader.ensure_entry(s, entry)
        service.declare_layout(s, steward, GDP, {"kind": "nbs"})
    loader.ensure_data(rt, entry)
    with rt.transaction() as s:
        for code, name, unit, definition in (
                ("GDP", "地区生产总值", "亿元", {"kind": "series", "resource": GDP, "indicator": "地区生产总值"}),
                ("GDP.G", "地区生产总值名义增长率", "%", {"kind": "formula", "op": "yoy", "inputs": ["GDP"]})):
            service.create_indicator(s, steward, IndicatorWrite.model_validate({
                "code": code, "name": name, "unit": unit, "frequency": "年", "region_level": "省",
                "definition": definition, "publication": "open"}))
        service.create_rule(s, steward, "GDP.G", RuleWrite(name="名义负增长超过 10%", kind="level",
                                                           params={"op": "<", "value": -10}, severity="严重"))
        service.subscribe(s, rt.settings, steward, SubscriptionWrite(channel="inapp"))
        service.run_recompute(s, rt.settings, system)
        return create_token(session=s, actor=steward, data=TokenCreate(expires_in_days=1)).token


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("analysis-e2e")
    rt = new_runtime(tmp)
    token = _seed(rt)
    with serving(rt) as url:
        yield url, token, tmp
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _login(page: Any, site: str, username: str) -> None:
    page.goto(site + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(site + "/", timeout=TIMEOUT_MS)


def test_a_new_version_raises_an_alert_that_is_acknowledged_on_the_alerts_page(site: tuple[str, str, Path],
                                                                               browser: Any) -> None:
    url, token, tmp = site
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, url, "tj_user")
    page.goto(url + "/analysis/alerts")
    expect(page.locator("#no-alerts")).to_be_visible()

    # a revised export arrives over the API: Sichuan's 2024 GDP revised from 64537.9 to 50000 亿元
    revised = tmp / "gdp_100m_yuan.csv"
    revised.write_bytes(RAW.read_bytes().decode("gbk").replace("四川省,64537.9,", "四川省,50000.0,").encode("gbk"))
    with revised.open("rb") as f:
        r = httpx.post(f"{url}/api/v1/resources/{GDP}/versions", headers={"Authorization": f"Bearer {token}"},
                       files={"file": ("gdp_100m_yuan.csv", f, "text/csv")}, data={"comment": "修订"},
                       timeout=120)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2

    page.goto(url + "/analysis/alerts")
    rows = page.locator("#alerts-table tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("四川省")
    expect(row).to_contain_text("严重")
    expect(row).to_contain_text("低于预警线 -10")
    row.locator("input[name=comment]").fill("已核实：修订数")
    row.locator(".ack-button").click()
    page.wait_for_url("**/analysis/alerts?status=open")
    expect(page.locator("#no-alerts")).to_be_visible()
    page.goto(url + "/analysis/alerts?status=all")
    done = page.locator("#alerts-table tbody tr").first.locator(".ack-done")
    expect(done).to_contain_text("tj_user")
    expect(done).to_contain_text("已核实：修订数")

    # the indicator page: the revised value, its chart and the drill-down to the file's cell
    page.goto(url + "/analysis/indicators/GDP")
    expect(page.locator("#series-chart canvas")).to_have_count(1)
    expect(page.locator("#values-table")).to_contain_text("50,000.00")
    page.locator("#values-table a", has_text="来源数据").first.click()
    expect(page.locator("#trace-cells")).to_contain_text("gdp_100m_yuan.csv")
    expect(page.locator("#trace-sources")).to_contain_text("第2 版")
    assert not errors, errors
    ctx.close()
