"""The public open-data portal in a real browser (Playwright + Debian Chromium against a live
uvicorn server): search in Chinese, open a dataset, see the ECharts chart drawn, download the
CSV and check its bytes, register as a developer, create an API key and apply for a
conditional dataset; the steward approves and the developer then downloads it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import new_runtime, require_chromium, serving

from shudata.catalog.models import CatalogResource
from shudata.catalog.search_index import index_entry
from shudata.catalog.service import entry_text
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.portal import service as P
from shudata.security.models import User
from shudata.security.schemas import DepartmentCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_user
from shudata.standards.uscc import complete as complete_uscc
from support.portal import CODES, _resource, portal_files

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PASSWORD = "Passw0rd!e2e"
TIMEOUT_MS = 15_000
OPEN = "301001-000001"
COND = "301001-000003"




@dataclass
class PortalSite:
    url: str
    rt: Runtime


def _seed(rt: Runtime, tmp: Path) -> None:
    system = Actor.system()
    with rt.transaction() as s:
        dept = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省统计局", uscc=complete_uscc("11510000000200001"), region_code="510000")).id
        u = create_user(session=s, actor=system, data=UserCreate(
            username="stat_steward", display_name="统计局数据管理员", password=PASSWORD, department_id=dept,
            roles=[Role.DATA_STEWARD]))
        row = s.get(User, u.id)
        assert row is not None
        steward = actor_for(row)
    files = portal_files(tmp)
    with rt.transaction() as s:
        s.add_all([
            _resource("open", "四川省各市常住人口", dept, "无条件开放",
                      ["地区", "年份", "常住人口万人", "备注"], "人口"),
            _resource("cond", "企业联系名录", dept, "有条件开放", ["企业名称", "法定代表人", "联系电话"], "法人")])
        s.flush()
        for res in s.query(CatalogResource).all():
            index_entry(s, entry_text(res))
    for key in ("open", "cond"):
        with rt.transaction() as s:
            ingest_file(session=s, settings=rt.settings, actor=steward, resource_code=CODES[key], path=files[key])
        with rt.transaction() as s:
            P.publish(session=s, settings=rt.settings, actor=steward, resource=CODES[key])


@pytest.fixture(scope="module")
def portal_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalSite]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("portal-e2e")
    rt = new_runtime(tmp)
    _seed(rt, tmp)
    with serving(rt) as url:
        yield PortalSite(url=url, rt=rt)
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def portal_browser(portal_site: PortalSite, browser: Any) -> Any:
    return browser  # the worker's (tests/e2e/conftest.py)


@pytest.fixture
def page(portal_browser: Any) -> Iterator[Any]:
    context = portal_browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_search_open_dataset_chart_and_csv_download(page, portal_site, tmp_path):
    page.goto(f"{portal_site.url}/portal")
    expect(page.locator("#count-datasets")).to_contain_text("2")
    page.get_by_label("检索开放数据").fill("常住人口")
    page.get_by_role("button", name="检索").click()
    expect(page).to_have_url(re.compile(r"/portal/datasets\?q=%E5%B8%B8%E4%BD%8F"))
    results = page.locator("#results")
    expect(results.locator("article")).to_have_count(1)
    expect(results).to_contain_text("四川省各市常住人口")
    page.locator("#facets [data-facet='theme'][data-value='人口']").click()  # htmx facet filter
    expect(page).to_have_url(re.compile(r"theme=%E4%BA%BA%E5%8F%A3"))
    expect(results.locator("article")).to_have_count(1)
    results.get_by_role("link", name=re.compile("常住人口")).click()
    expect(page.locator("#dataset-name")).to_have_text(OPEN)
    expect(page.locator("#preview-table")).to_contain_text("成都市")
    expect(page.locator("#portal-chart canvas")).to_have_count(1)  # ECharts drew on a canvas
    expect(page.locator("#portal-chart")).to_have_attribute("data-points", "10")  # ten cities on Sichuan's map
    expect(page.locator("#portal-chart")).to_have_attribute("data-kind", "regions")
    page.select_option("#portal-chart-choice", index=1)
    expect(page.locator("#portal-chart")).to_have_attribute("data-kind", "bar")
    expect(page.locator("#api-call")).to_have_value(
        f"GET /api/3/action/datastore_search?resource_id={OPEN}-csv&limit=5")
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename == "四川省各市常住人口_v1.csv"
    target = tmp_path / "dl.csv"
    download.save_as(target)
    body = target.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body[3:].decode("utf-8").splitlines()
    assert lines[0].replace('"', "") == "地区,年份,常住人口万人,备注"
    assert "'=1+1" in lines[1] and len(lines) == 11


def test_register_create_key_apply_then_approved_download(page, portal_site, portal_browser):
    page.goto(f"{portal_site.url}/portal/datasets/{COND}")
    expect(page.locator("#conditional-notice")).to_be_visible()
    expect(page.locator("#preview-table")).to_have_count(0)
    page.locator("#apply-button").click()
    expect(page).to_have_url(re.compile(r"/portal/developer\?next="))  # log in or register first
    page.get_by_label("姓名").fill("王开发")
    page.get_by_label("邮箱", exact=True).last.fill("wang@example.com")
    page.get_by_label("手机号码").fill("13912345678")
    page.locator("#reg-password").fill("Dev-Passw0rd!")
    page.get_by_role("button", name="注册").click()
    expect(page).to_have_url(re.compile(r"/portal/developer/apply\?dataset="))  # back to the application
    expect(page.locator("#agreement")).to_contain_text("数据使用协议")
    page.get_by_label("用途说明").fill("用于交通规划研究")
    page.get_by_label("我已阅读并接受上述数据使用协议").check()
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/portal/developer$"))
    expect(page.locator("#applications")).to_contain_text("待审核")
    page.get_by_role("button", name="创建密钥").click()
    key = page.locator("#key-value").input_value()
    assert key.startswith("sdk_")
    expect(page.locator("#keys tbody tr")).to_have_count(1)

    steward = portal_browser.new_context(locale="zh-CN")
    sp = steward.new_page()
    sp.goto(f"{portal_site.url}/login?next=/open-data")
    sp.get_by_label("用户名").fill("stat_steward")
    sp.get_by_label("密码").fill(PASSWORD)
    sp.get_by_role("button", name="登录").click()
    expect(sp).to_have_url(re.compile(r"/open-data$"))
    row = sp.locator("#application-queue tr", has_text="用于交通规划研究")
    row.get_by_role("button", name="批准").click()
    expect(sp.locator("#application-queue")).to_contain_text("已批准")
    steward.close()

    page.goto(f"{portal_site.url}/portal/datasets/{COND}")
    expect(page.locator("#preview-table")).to_contain_text("四川测试0有限公司")
    expect(page.locator("#preview-table")).not_to_contain_text("13900002000")  # masked
    page.context.clear_cookies()  # no developer session: the API key alone grants the download
    refused = page.request.get(f"{portal_site.url}/portal/datasets/{COND}/download.csv")
    assert refused.status == 403
    response = page.request.get(f"{portal_site.url}/portal/datasets/{COND}/download.csv",
                                headers={"Authorization": key})
    assert response.status == 200 and "企业名称" in response.body().decode("utf-8-sig")


def test_statistics_charts_and_english_switch(page, portal_site):
    page.goto(f"{portal_site.url}/portal/stats")
    for chart in ("#chart-daily", "#chart-datasets", "#chart-departments"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
    expect(page.locator("#chart-datasets")).to_have_attribute("data-points", "2")
    expect(page.locator("#stats-datasets")).to_contain_text("四川省各市常住人口")
    page.locator("#lang-switch").click()
    expect(page.locator("h1")).to_have_text("Usage statistics")
    page.goto(f"{portal_site.url}/portal")
    expect(page.get_by_role("link", name=re.compile("Datasets"))).to_be_visible()
