"""The web UI in a real browser: log in, search in Chinese, open an entry, upload a GBK CSV and
see its preview and chart, see an overdue flag, switch to English, use a phone-sized screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PASSWORD = "Passw0rd!e2e"
GBK_CSV = Path(__file__).resolve().parents[1] / "data" / "sichuan_gdp_2023_gbk.csv"
TIMEOUT_MS = 15_000


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


@pytest.fixture
def page(browser: Any, site: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


_STATES: dict[str, Any] = {}


def as_user(page: Any, base: str, username: str) -> None:
    """Log ``page``'s context in as ``username``, reusing the session cookie of an earlier login."""
    if username in _STATES:
        page.context.add_cookies(_STATES[username])
        return
    login(page, base, username)
    _STATES[username] = page.context.cookies()


def test_login_search_and_open_entry(page, site):
    page.goto(f"{site.url}/catalog")
    expect(page).to_have_url(re.compile(r"/login\?next=/catalog"))
    page.get_by_label("用户名").fill("sc_steward")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/catalog$"))
    page.get_by_label("检索资源目录").fill("企业信用")  # htmx live search, no submit
    results = page.locator("#results")
    expect(results).to_contain_text("四川省企业信用信息")
    expect(results).not_to_contain_text("主要经济指标")
    expect(page).to_have_url(re.compile(r"q=%E4%BC%81%E4%B8%9A"))
    results.get_by_role("link", name="四川省企业信用信息").click()
    expect(page.locator("#entry-code")).to_have_text(site.codes["credit"])
    expect(page.locator("#items")).to_contain_text("统一社会信用代码")
    expect(page.locator("#history")).to_contain_text("sc_steward")


def test_upload_gbk_csv_then_preview_and_chart(page, site):
    as_user(page, site.url, "tj_steward")
    code = site.codes["gdp"]
    page.goto(f"{site.url}/catalog/{code}/upload")
    page.set_input_files("#file", str(GBK_CSV))
    detected = page.locator("#file-detected")  # what the platform understood, before uploading
    expect(detected).to_contain_text(re.compile("gb", re.I))
    expect(detected).to_contain_text("列与信息项一致")
    page.get_by_role("button", name="上传").click()
    ok = page.locator("#upload-ok")
    expect(ok).to_be_visible()
    expect(ok).to_contain_text("v1")
    expect(page.locator("#upload-progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#detected-encoding")).to_have_text(re.compile("gb", re.I))
    page.locator("#view-entry").click()
    expect(page.locator("#preview-table")).to_contain_text("成都市")
    expect(page.locator("#preview-table thead")).to_contain_text("地区生产总值")
    expect(page.locator("#preview-table")).not_to_contain_text("数据来源")
    expect(page.locator("#chart canvas")).to_have_count(1)
    # the default chart of eight cities' GDP: a choropleth of Sichuan's prefectures, then the bar chart
    expect(page.locator("#chart")).to_have_attribute("data-kind", "regions")
    expect(page.locator("#chart")).to_have_attribute("data-points", "8")
    page.select_option("#chart-choice", index=1)
    expect(page.locator("#chart")).to_have_attribute("data-kind", "bar")
    expect(page.locator("#chart")).to_have_attribute("data-points", "8")


def test_upload_with_wrong_columns_shows_the_api_error(page, site, tmp_path):
    bad = tmp_path / "错误的列.csv"
    bad.write_bytes("城市,人口\n成都市,2140\n".encode("gbk"))
    as_user(page, site.url, "tj_steward")
    page.goto(f"{site.url}/catalog/{site.codes['gdp']}/upload")
    page.set_input_files("#file", str(bad))
    page.get_by_role("button", name="上传").click()
    err = page.locator("#upload-error")
    expect(err).to_be_visible()
    expect(err).to_contain_text("地区生产总值")


def test_overdue_flag_in_search_and_on_entry_page(page, site):
    as_user(page, site.url, "tj_steward")
    page.goto(f"{site.url}/catalog?q=人口统计")
    hit = page.locator("article.sd-result", has_text="四川省市州人口统计（旧）")
    expect(hit.locator(".badge-overdue")).to_be_visible()
    hit.get_by_role("link").first.click()
    expect(page.locator("#overdue-alert")).to_contain_text("超过更新周期")


def test_english_switch_keeps_the_page(page, site):
    as_user(page, site.url, "sc_steward")
    page.goto(f"{site.url}/catalog")
    page.locator("#lang-switch").click()
    expect(page.locator("h1")).to_have_text("Government information resource catalog")
    expect(page).to_have_url(re.compile(r"/catalog$"))
    page.locator("#lang-switch").click()
    expect(page.locator("h1")).to_have_text("政务信息资源目录")


def test_phone_viewport_collapses_the_nav(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        as_user(page, site.url, "sc_steward")
        page.goto(f"{site.url}/catalog")
        toggler = page.locator(".navbar-toggler")
        expect(toggler).to_be_visible()
        catalog_link = page.locator("#nav").get_by_role("link", name="资源目录")
        expect(catalog_link).to_be_hidden()
        toggler.click()
        expect(catalog_link).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    finally:
        context.close()


def test_register_entry_from_template_and_items_proposed_from_a_file(page, site):
    as_user(page, site.url, "tj_steward")
    page.goto(f"{site.url}/catalog/new")
    page.locator("#templates").get_by_role("button", name="人口基础信息").click()
    expect(page.locator('#items-body [name="item_name"]').first).to_have_value("公民身份号码")
    page.set_input_files("#propose-file", str(GBK_CSV))
    expect(page.locator("#propose-status")).to_contain_text("3")
    names = page.locator('#items-body [name="item_name"]')
    expect(names).to_have_count(3)
    expect(names.nth(1)).to_have_value("地区生产总值")
    page.get_by_label("信息资源名称").fill("四川省市州经济指标（测试登记）")
    page.get_by_label("信息资源摘要").fill("由文件识别信息项后登记。")
    page.get_by_label("资源分类").select_option("部门")
    page.locator("#f-catcode").fill("201009")
    page.locator("#save-entry").click()
    expect(page.locator("#entry-name")).to_have_text("四川省市州经济指标（测试登记）")
    expect(page.locator("#items")).to_contain_text("常住人口")
    expect(page.locator("#entry-code")).to_have_text(re.compile(r"^201009/\d+$"))
