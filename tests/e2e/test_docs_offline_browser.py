"""Issue #12: ``/docs`` and ``/redoc`` render on an intranet with no internet access.

Every request that does not go to the local server is aborted (and remembered): Swagger UI
must still list the operations and show its Authorize button (the bearer scheme), ReDoc its
operations; no page may even try to reach another host.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.e2e.conftest import launch_chromium, new_runtime, require_chromium, serving

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, list[str]]]:
    """A browser context whose requests to any host but the local server are aborted."""
    require_chromium()
    tmp = tmp_path_factory.mktemp("docs")
    rt = new_runtime(tmp)
    blocked: list[str] = []
    with serving(rt) as url, launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        local = urlsplit(url).netloc

        def gate(route: Any) -> None:
            target = urlsplit(route.request.url)
            if target.scheme in ("data", "blob") or target.netloc == local:
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", gate)
        yield context, url, blocked
        context.close()
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


def test_swagger_ui_renders_offline_with_authorize(offline: tuple[Any, str, list[str]]) -> None:
    context, url, blocked = offline
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/docs")
    expect(page).to_have_title("蜀数 shudata 接口文档 · Swagger UI", timeout=TIMEOUT_MS)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("蜀数 shudata API", timeout=TIMEOUT_MS)
    ops = page.locator(".opblock")
    expect(ops.first).to_be_visible(timeout=TIMEOUT_MS)
    # Swagger UI draws the tags near the viewport: the last one (CKAN) appears once scrolled to, step by
    # step as a reader scrolls (one long jump lands past what has been drawn once the document is long)
    ckan = page.locator(".opblock-summary-path", has_text="/api/3/action/")
    for _ in range(200):
        if ckan.count():
            break
        page.mouse.wheel(0, 5_000)
        page.wait_for_timeout(100)
    expect(ckan.first).to_be_visible(timeout=TIMEOUT_MS)
    page.mouse.wheel(0, -200_000)
    page.locator(".operation-filter-input").fill("catalog")  # and any tag on demand
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/resources").first).to_be_visible(
        timeout=TIMEOUT_MS)
    page.locator(".operation-filter-input").fill("")
    authorize = page.locator("button.authorize")
    expect(authorize).to_be_visible(timeout=TIMEOUT_MS)
    authorize.click()
    expect(page.locator(".auth-container", has_text="bearer")).to_be_visible(timeout=TIMEOUT_MS)
    assert not errors, errors
    assert not blocked, f"/docs tried to reach other hosts: {blocked}"


def test_redoc_renders_offline(offline: tuple[Any, str, list[str]]) -> None:
    context, url, blocked = offline
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/redoc")
    expect(page.locator("h1", has_text="蜀数 shudata API").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("[data-section-id^='tag/catalog']").first).to_be_attached(timeout=TIMEOUT_MS)
    expect(page.get_by_text("未登录或令牌无效").first).to_be_attached(timeout=TIMEOUT_MS)  # 401, ErrorBody
    assert not errors, errors
    assert not blocked, f"/redoc tried to reach other hosts: {blocked}"
