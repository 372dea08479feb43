"""Maps on dataset pages, in Chromium with every non-local request aborted (an intranet):
the catalog entry page of a real earthquake catalogue (经度/纬度, WGS-84) shows a point map over
Sichuan's prefectures, and the portal page of a published GDP table (city names) a choropleth.
The number of points/regions is read back from ECharts' own option. The browser's GCJ-02
conversion is checked against the Python one.

Set SHUDATA_SCREENSHOT_DIR to also save the screenshots the user guide shows (1440 and 390 px)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.e2e.conftest import (
    DATA,
    PASSWORD,
    _entry,
    _user,
    new_runtime,
    require_chromium,
    serving,
)

from shudata.core.types import Actor, Role
from shudata.jobs.ingest import ingest_file
from shudata.portal import service as P
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.standards.geo import Datum, convert
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]
TIMEOUT_MS = 60_000
QUAKES = DATA / "geo" / "longmenshan_earthquakes.csv"
GDP = DATA / "sichuan_gdp_2023_gbk.csv"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("maps")
    rt = new_runtime(tmp)

    with rt.transaction() as s:
        dept = create_department(session=s, actor=Actor.system(), data=DepartmentCreate(
            name="四川省地震局", uscc=complete_uscc("11510000000100009"), region_code="510000")).id
    steward = _user(rt, "dz_steward", Role.DATA_STEWARD, dept)
    quakes = _entry(rt, steward, name="龙门山地区 5 级以上地震目录", abstract="1973—2013 年龙门山断裂带 5 级以上地震。",
                    information_items=[{"name": "发震时间", "data_type": "C"},
                                       {"name": "纬度", "data_type": "N", "datum": "WGS-84"},
                                       {"name": "经度", "data_type": "N", "datum": "WGS-84"},
                                       {"name": "震级", "data_type": "N"}, {"name": "深度", "data_type": "N"}])
    gdp = _entry(rt, steward, name="四川省各市州主要经济指标", abstract="各市州地区生产总值与常住人口。",
                 category_code="201001", open={"type": "无条件开放"},
                 information_items=[{"name": "地区", "data_type": "C"}, {"name": "地区生产总值", "data_type": "N"},
                                    {"name": "常住人口", "data_type": "N"}])
    for code, path in ((quakes, QUAKES), (gdp, GDP)):
        with rt.transaction() as s:
            ingest_file(session=s, settings=rt.settings, actor=steward, resource_code=code, path=path,
                        source_name=path.name)
    with rt.transaction() as s:
        P.publish(session=s, settings=rt.settings, actor=steward, resource=gdp)
    with serving(rt) as url:
        yield {"url": url, "quakes": quakes, "gdp": gdp.replace("/", "-")}
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _page(browser: Any, world: dict[str, Any], width: int = 1366) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    local = urlsplit(world["url"]).netloc
    blocked: list[str] = []

    def gate(route: Any) -> None:
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    return context.new_page(), blocked


def _option(page: Any, selector: str) -> Any:
    return page.evaluate("(sel) => echarts.getInstanceByDom(document.querySelector(sel)).getOption()", selector)


def _shoot(page: Any, name: str, width: int) -> None:
    out = os.environ.get("SHUDATA_SCREENSHOT_DIR")
    if out:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(800)
        page.locator("[data-chart-box]").first.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(out) / f"{name}-{width}.png"), full_page=False)


def test_entry_page_point_map(browser, world):
    page, blocked = _page(browser, world)
    page.goto(f"{world['url']}/login")
    page.get_by_label("用户名").fill("dz_steward")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"{world['url']}/catalog/{world['quakes']}")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-kind", "points", timeout=TIMEOUT_MS)
    expect(chart.locator("canvas")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(chart).to_have_attribute("data-map", "sichuan")
    opt = _option(page, "#chart")
    assert opt["geo"][0]["map"] == "sichuan"
    series = opt["series"][0]
    assert series["type"] == "scatter" and series["coordinateSystem"] == "geo" and len(series["data"]) == 116
    # the candidates offered: map first, then the magnitudes over time — no row-number axis anywhere
    labels = page.locator("#chart-choice option").all_inner_texts()
    assert labels[0].startswith("点位地图") and any(t.startswith("时间序列") for t in labels)
    # the browser's conversion (used for workbench results) agrees with shudata.standards.geo
    for lng, lat, src in ((104.0657, 30.6595, "WGS-84"), (102.2214, 31.8998, "BD-09")):
        js = page.evaluate("([x, y, s]) => ShudataGeo.convert(x, y, s, 'GCJ-02')", [lng, lat, src])
        py = convert(lng, lat, Datum(src), Datum.GCJ02)
        assert abs(js[0] - py[0]) < 1e-9 and abs(js[1] - py[1]) < 1e-9
    # a query result as the SQL workbench passes it: raw columns/rows, names and codes in several forms
    drawn = page.evaluate("""async () => {
        const el = document.createElement("div");
        el.style.width = "600px"; el.style.height = "400px";
        document.body.appendChild(el);
        await ShudataGeo.render(el, {kind: "regions", columns: ["市州", "人数"], region: "市州", measure: "人数",
            rows: [["成都", 5], ["成都市", 1], ["甘孜州", 2], ["510104", 3], ["凉山彝族自治州", 4], ["火星", 9]]});
        const regions = echarts.getInstanceByDom(el).getOption().series[0].data.filter(d => "value" in d);
        await ShudataGeo.render(el, {kind: "points", columns: ["x", "y"], lng: "x", lat: "y", datum: "BD-09",
            rows: [[104.0722, 30.6657], [null, 30.1], ["***", "***"]]});
        const pts = echarts.getInstanceByDom(el).getOption().series[0].data;
        return {regions: Object.fromEntries(regions.map(d => [d.name, d.value])), pts: pts};
    }""")
    assert drawn["regions"] == {"成都市": 9, "甘孜藏族自治州": 2, "凉山彝族自治州": 4}
    assert len(drawn["pts"]) == 1
    gcj = convert(104.0722, 30.6657, Datum.BD09, Datum.GCJ02)
    assert abs(drawn["pts"][0][0] - gcj[0]) < 1e-9 and abs(drawn["pts"][0][1] - gcj[1]) < 1e-9
    _shoot(page, "map-entry", 1440)
    _shoot(page, "map-entry", 390)
    assert blocked == []  # nothing but the local server was even asked for
    page.context.close()


def test_portal_dataset_choropleth(browser, world):
    page, blocked = _page(browser, world)
    page.goto(f"{world['url']}/portal/datasets/{world['gdp']}")
    chart = page.locator("#portal-chart")
    expect(chart).to_have_attribute("data-kind", "regions", timeout=TIMEOUT_MS)
    expect(chart.locator("canvas")).to_have_count(1, timeout=TIMEOUT_MS)
    series = _option(page, "#portal-chart")["series"][0]
    assert series["type"] == "map" and series["map"] == "sichuan"
    # ECharts lists every prefecture of the map; the eight cities of the table carry a value
    values = {d["name"]: d["value"] for d in series["data"] if "value" in d}
    assert len(series["data"]) == 21 and len(values) == 8 and values["成都市"] == 22074.7
    expect(chart).to_have_attribute("data-points", "8")
    # switch to the bar chart of the same totals, then back
    page.select_option("#portal-chart-choice", index=1)
    expect(chart).to_have_attribute("data-kind", "bar", timeout=TIMEOUT_MS)
    assert _option(page, "#portal-chart")["xAxis"][0]["data"][0] == "成都市"
    page.select_option("#portal-chart-choice", index=0)
    expect(chart).to_have_attribute("data-kind", "regions", timeout=TIMEOUT_MS)
    _shoot(page, "map-portal", 1440)
    _shoot(page, "map-portal", 390)
    assert blocked == []
    page.context.close()
