"""Browser-test fixtures: a real uvicorn server over a temp data folder, seeded through the
services, and one headless Debian Chromium per xdist worker (Playwright), closed when the next test does
not use it.

``playwright install`` is never called: the tests drive ``/usr/bin/chromium`` and are skipped
with the reason when it is missing (outside CI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from shudata.catalog import service as catalog
from shudata.catalog.schemas import ResourceCreate
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.lake.models import LakeVersion
from shudata.security.models import User
from shudata.security.schemas import DepartmentCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_user
from shudata.standards.uscc import complete as complete_uscc

CHROMIUM = os.environ.get("SHUDATA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DATA = Path(__file__).resolve().parents[1] / "data"
GBK_CSV = DATA / "sichuan_gdp_2023_gbk.csv"
PASSWORD = "Passw0rd!e2e"
SYSTEM = Actor.system()


@dataclass
class Site:
    url: str
    rt: Runtime
    codes: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _user(rt: Runtime, username: str, role: Role, dept: int | None) -> Actor:
    with rt.transaction() as s:
        u = create_user(session=s, actor=SYSTEM, data=UserCreate(
            username=username, display_name=username, password=PASSWORD, department_id=dept, roles=[role]))
        row = s.get(User, u.id)
        assert row is not None
        return actor_for(row)


def _entry(rt: Runtime, actor: Actor, **data: Any) -> str:
    base: dict[str, Any] = {"category_code": "302001", "sharing": {"type": 1, "method": "接口"},
                            "update_cycle": "每月", "format_category": "电子表格", "format_type": "csv"}
    with rt.transaction() as s:
        return catalog.register_resource(session=s, actor=actor,
                                         data=ResourceCreate.model_validate({**base, **data})).code


def seed(rt: Runtime, tmp: Path) -> dict[str, str]:
    """Two departments with a steward each, three entries; one with stale data (overdue)."""
    with rt.transaction() as s:
        market = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省市场监督管理局", uscc=complete_uscc("11510000000100001"), region_code="510000")).id
        stats = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省统计局", uscc=complete_uscc("11510000000100002"), region_code="510000")).id
    sc = _user(rt, "sc_steward", Role.DATA_STEWARD, market)
    tj = _user(rt, "tj_steward", Role.DATA_STEWARD, stats)
    gdp_items = [{"name": "地区", "data_type": "C", "length": 20},
                 {"name": "地区生产总值", "data_type": "N", "description": "亿元"},
                 {"name": "常住人口", "data_type": "N", "description": "万人"}]
    codes = {
        "credit": _entry(rt, sc, name="四川省企业信用信息", abstract="全省企业登记、许可、处罚等信用信息。",
                         information_items=[{"name": "统一社会信用代码", "data_type": "C", "length": 18},
                                            {"name": "企业名称", "data_type": "C", "length": 200}]),
        "gdp": _entry(rt, tj, name="四川省各市州主要经济指标", abstract="各市州地区生产总值与常住人口。",
                      category_code="201001", information_items=gdp_items),
        "stale": _entry(rt, tj, name="四川省市州人口统计（旧）", abstract="按市州的常住人口统计。",
                        category_code="201002", information_items=gdp_items),
    }
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=tj, resource_code=codes["stale"], path=GBK_CSV,
                    source_name=GBK_CSV.name)
    with rt.transaction() as s:  # the stale entry's only version is 100 days old: overdue for a monthly cycle
        s.execute(update(LakeVersion).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=100)))
    return codes


def require_chromium() -> None:
    """Skip (fail under CI) when the Debian Chromium the browser tests drive is missing."""
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)")


def new_runtime(tmp: Path) -> Runtime:
    """A migrated runtime over an empty data folder and SQLite store in ``tmp``."""
    rt = Runtime.build(Settings(env="test", data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'meta.db'}"))
    rt.migrate()
    return rt


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """The Debian Chromium, headless, with the arguments this machine needs (no sandbox, no network
    services); closed after. The one place the browser tests start a browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def serving(rt: Runtime) -> Iterator[str]:
    """The web app over ``rt`` in a real uvicorn server on a free port (its URL), stopped after."""
    import uvicorn

    from shudata.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt, migrate=False), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("e2e")
    rt = new_runtime(tmp)
    codes = seed(rt, tmp)
    with serving(rt) as url:
        yield Site(url=url, rt=rt, codes=codes)
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


class _WorkerChromium:
    """The Chromium of this process (one per xdist worker), started when a test first asks for it and kept
    for the browser tests that follow; each test opens a fresh context (its own cookies and storage)."""

    def __init__(self) -> None:
        self._launched: contextlib.AbstractContextManager[Any] | None = None
        self._browser: Any = None

    def get(self) -> Any:
        if self._browser is None or not self._browser.is_connected():
            self.close()
            self._launched = launch_chromium()
            self._browser = self._launched.__enter__()
        return self._browser

    def close(self) -> None:
        launched, self._launched, self._browser = self._launched, None, None
        if launched is not None:
            launched.__exit__(None, None, None)


_CHROMIUM = _WorkerChromium()


@contextlib.contextmanager
def checked_page(browser: Any, timeout_ms: int, **context: Any) -> Iterator[Any]:
    """A page in a fresh zh-CN browser context (``context``: viewport, downloads …) that fails the
    test when a JavaScript error was raised on it."""
    ctx = browser.new_context(locale="zh-CN", **context)
    ctx.set_default_timeout(timeout_ms)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def browser() -> Any:
    """The worker's Chromium (started once, not once per module or test); open a new context per test."""
    require_chromium()
    return _CHROMIUM.get()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Close the worker's Chromium once the next test does not use it: while the sync Playwright API runs,
    it marks the thread's asyncio loop as running, which other tests' ``asyncio.run`` would refuse."""
    try:
        return (yield)
    finally:
        if nextitem is None or "browser" not in getattr(nextitem, "fixturenames", ()):
            _CHROMIUM.close()
