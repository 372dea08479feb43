"""A stale or tampered form in a real browser (Playwright + Debian Chromium against a live
uvicorn server): the CSRF refusal is the platform's error page in Chinese with a link that
opens the form afresh — not raw JSON — and for an htmx button a message in its target.
Submitting the form again from the reopened page works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from tests.e2e.conftest import _user, checked_page

from shudata.core.types import Role
from shudata.security.models import ApiToken

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PASSWORD = "Passw0rd!e2e"
TIMEOUT_MS = 15_000


@pytest.fixture
def page(browser: Any, site: Any) -> Iterator[Any]:
    with checked_page(browser, TIMEOUT_MS, viewport={"width": 1366, "height": 900}) as pg:
        yield pg


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _tokens(site: Any) -> int:
    with site.rt.transaction() as s:
        return len(s.scalars(select(ApiToken)).all())


@pytest.mark.parametrize("how", ["tampered", "missing"])
def test_a_tampered_form_shows_the_chinese_error_page_and_the_way_back(page: Any, site: Any, how: str) -> None:
    login(page, site.url, "sc_steward")
    page.goto(f"{site.url}/tokens")
    field = page.locator("#token-form input[name=csrf_token]")
    if how == "tampered":
        field.evaluate("el => el.value = 'tampered-' + el.value")
    else:
        field.evaluate("el => el.remove()")
    before = _tokens(site)
    page.locator("#token-form input[name=name]").fill("过期表单")
    with page.expect_response(lambda r: r.url.endswith("/tokens") and r.request.method == "POST") as answer:
        page.locator("#token-form button[type=submit], #token-form button").first.click()
    assert answer.value.status == 403
    body = page.locator("body")
    expect(page.locator("h1")).to_contain_text("表单已过期")
    expect(page.locator("[role=alert]")).to_contain_text("CSRF 校验失败")
    expect(body).not_to_contain_text('"error"')  # not the JSON answer
    assert _tokens(site) == before  # nothing created
    page.locator("#error-reload").click()  # opens the form afresh, with a fresh token
    expect(page).to_have_url(re.compile(r"/tokens$"))
    page.locator("#token-form input[name=name]").fill("重新提交")
    page.locator("#token-form button[type=submit], #token-form button").first.click()
    expect(page.locator("#new-token")).to_be_visible()
    assert _tokens(site) == before + 1


def test_a_stale_htmx_button_shows_the_message_in_its_target(page: Any, site: Any) -> None:
    _user(site.rt, "csrf_auditor", Role.AUDITOR, None)
    login(page, site.url, "csrf_auditor")
    page.goto(f"{site.url}/audit")
    page.locator("body").evaluate("""b => b.setAttribute('hx-headers', '{"X-CSRF-Token": "stale"}')""")
    page.locator("#verify-btn").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("表单已过期或来源不可信")
    expect(result.locator("#error-reload")).to_have_attribute("href", "/audit")
    expect(result).not_to_contain_text('"error"')
    result.locator("#error-reload").click()
    page.locator("#verify-btn").click()  # the reopened page's token works
    expect(page.locator("#verify-result")).not_to_contain_text("表单已过期", timeout=TIMEOUT_MS)
    expect(page.locator("#verify-result")).to_contain_text(re.compile(r"\S"))
