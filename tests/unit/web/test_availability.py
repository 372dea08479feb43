"""Availability under load (issue #14, item 4): requests beyond the concurrency limit wait in
line and are shed with 503 + Retry-After when the wait runs out; health checks are exempt;
a bearer request uses one database connection; token use is written in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shudata.core.types import Role
from shudata.db.runtime import Runtime
from shudata.security.models import ApiToken
from shudata.security.tokens import TokenUsage
from shudata.web.middleware import ConcurrencyLimitMiddleware


def _limited(limit: int, queue_timeout_s: float) -> tuple[Any, asyncio.Event]:
    release = asyncio.Event()

    async def slow(_request: Request) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("done")

    async def health(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/slow", slow), Route("/api/v1/health", health)])
    return ConcurrencyLimitMiddleware(inner, limit=limit, queue_timeout_s=queue_timeout_s), release


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_beyond_the_limit_a_request_waits_then_gets_503_with_retry_after() -> None:
    async def run() -> None:
        app, release = _limited(limit=2, queue_timeout_s=0.2)
        async with _client(app) as c:
            busy = [asyncio.create_task(c.get("/slow")) for _ in range(2)]
            await asyncio.sleep(0.05)
            shed = await c.get("/slow")
            assert shed.status_code == 503
            assert shed.headers["retry-after"] == "2"
            assert shed.json()["error"]["code"] == "server_busy"
            assert "服务器繁忙" in shed.json()["error"]["message"]
            en = await c.get("/slow", headers={"Accept-Language": "en"})
            assert en.status_code == 503 and "busy" in en.json()["error"]["message"]
            assert (await c.get("/api/v1/health")).status_code == 200  # exempt
            release.set()
            assert [r.status_code for r in await asyncio.gather(*busy)] == [200, 200]
            assert app.active == 0 and app.shed == 2

    asyncio.run(run())


def test_a_waiting_request_gets_the_first_free_slot() -> None:
    async def run() -> None:
        app, release = _limited(limit=1, queue_timeout_s=5)
        async with _client(app) as c:
            first = asyncio.create_task(c.get("/slow"))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(c.get("/slow"))
            await asyncio.sleep(0.05)
            assert app.waiting == 1
            release.set()
            assert (await first).status_code == 200 and (await second).status_code == 200
            assert app.active == 0 and app.shed == 0

    asyncio.run(run())


def test_a_full_line_is_refused_at_once() -> None:
    async def run() -> None:
        app, release = _limited(limit=1, queue_timeout_s=10)
        async with _client(app) as c:
            held = [asyncio.create_task(c.get("/slow")) for _ in range(1 + app.max_waiting)]
            await asyncio.sleep(0.1)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            assert (await c.get("/slow")).status_code == 503
            assert loop.time() - t0 < 1
            release.set()
            assert all(r.status_code == 200 for r in await asyncio.gather(*held))

    asyncio.run(run())


def test_a_bearer_request_uses_one_database_connection(rt: Runtime, client: Any, make_department: Callable[..., int],
                                                       make_user: Callable[..., Any],
                                                       token_for: Callable[[str], dict[str, str]]) -> None:
    make_user("tj_user", Role.DEPT_USER, department_id=make_department("省统计局"))
    headers = token_for("tj_user")
    checkouts: list[int] = []
    listener = lambda *_: checkouts.append(1)  # noqa: E731
    event.listen(rt.engine, "checkout", listener)
    try:
        for _ in range(3):
            assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        event.remove(rt.engine, "checkout", listener)
    assert len(checkouts) == 3
    usage: TokenUsage = client.app.state.token_usage
    assert len(usage.pending()) == 1  # noted, written later in one batch
    assert usage.flush(rt.engine) == 1
    with rt.transaction() as s:
        assert s.scalar(select(ApiToken.last_used_at)) is not None


def test_token_use_is_written_once_per_interval(rt: Runtime, make_department: Callable[..., int],
                                               make_user: Callable[..., Any],
                                               token_for: Callable[[str], dict[str, str]]) -> None:
    make_user("tj_user", Role.DEPT_USER, department_id=make_department("省统计局"))
    token_for("tj_user")
    with rt.transaction() as s:
        tid = s.scalar(select(ApiToken.id))
    assert tid is not None
    usage = TokenUsage(interval_s=60)
    usage.note(tid)
    usage.note(tid)
    assert usage.flush(rt.engine) == 1
    usage.note(tid)  # written a moment ago: nothing to do
    assert usage.pending() == {} and usage.flush(rt.engine) == 0


@pytest.mark.sqlite_only
def test_a_failed_flush_keeps_the_uses(rt: Runtime, tmp_path: Path) -> None:
    usage = TokenUsage()
    usage.note(1)
    unmigrated = Runtime.build(rt.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.db'}"}))
    with pytest.raises(OperationalError):  # no such table
        usage.flush(unmigrated.engine)
    unmigrated.close()
    assert list(usage.pending()) == [1]
