"""Admission control of the concurrency limit (issue #14, item 4): a request that would wait in
line longer than ``queue_timeout_s`` — estimated from the recent time requests spend in the
application — is answered 503 + Retry-After on arrival, not after the wait; the ones let in
are served within about that time."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shudata.web.middleware import SERVICE_WINDOW, ConcurrencyLimitMiddleware


def _app(limit: int, queue_timeout_s: float, work_s: float) -> ConcurrencyLimitMiddleware:
    async def work(_request: Request) -> PlainTextResponse:
        await asyncio.sleep(work_s)
        return PlainTextResponse("done")

    return ConcurrencyLimitMiddleware(Starlette(routes=[Route("/work", work)]), limit=limit,
                                      queue_timeout_s=queue_timeout_s)


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _until(condition: Any, timeout_s: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_the_time_in_the_application_is_measured() -> None:
    async def run() -> None:
        app = _app(limit=2, queue_timeout_s=5, work_s=0.1)
        assert app.service_s == 0 and app.expected_wait_s(10) == 0  # nothing measured: nobody is turned away
        async with _client(app) as c:
            for _ in range(3):
                assert (await c.get("/work")).status_code == 200
        assert 0.09 <= app.service_s < 1.0
        assert abs(app.expected_wait_s(4) - 4 * app.service_s / 2) < 1e-9  # the line drains `limit` at a time

    asyncio.run(run())


def test_a_request_that_would_wait_too_long_is_refused_on_arrival() -> None:
    async def run() -> None:
        # one at a time, 0.3 s each, at most 0.5 s in line: the first waiter (≈0.3 s) is let
        # in line, the second (≈0.6 s) is refused at once, well before the 0.5 s run out
        app = _app(limit=1, queue_timeout_s=0.5, work_s=0.3)
        async with _client(app) as c:
            assert (await c.get("/work")).status_code == 200  # measured: 0.3 s in the application
            served = [asyncio.create_task(c.get("/work")) for _ in range(2)]  # one working, one in line
            await _until(lambda: app.active == 1 and app.waiting == 1)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            refused = await c.get("/work")
            assert loop.time() - t0 < 0.45  # told at once, not after the 0.5 s wait
            assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
            assert refused.json()["error"]["code"] == "server_busy"
            assert [r.status_code for r in await asyncio.gather(*served)] == [200, 200]  # let in: served
            assert app.shed == 1 and app.active == 0

    asyncio.run(run())


def test_the_estimate_follows_the_load_down() -> None:
    """A slow spell does not keep refusing once requests are quick again: the mean follows
    the last ~SERVICE_WINDOW requests."""
    app = _app(limit=1, queue_timeout_s=0.5, work_s=0)
    app._measured(2.0)
    assert app.expected_wait_s(1) > 0.5
    for _ in range(4 * SERVICE_WINDOW):
        app._measured(0.01)
    assert app.expected_wait_s(10) < 0.5


def test_a_refused_request_changed_nothing_and_the_line_goes_on() -> None:
    async def run() -> None:
        calls: list[int] = []

        async def work(_request: Request) -> PlainTextResponse:
            calls.append(1)
            await asyncio.sleep(0.2)
            return PlainTextResponse("done")

        app = ConcurrencyLimitMiddleware(Starlette(routes=[Route("/work", work, methods=["POST"])]), limit=1,
                                         queue_timeout_s=0.3)
        async with _client(app) as c:
            assert (await c.post("/work")).status_code == 200
            burst = await asyncio.gather(*(c.post("/work") for _ in range(6)))
            codes = sorted(r.status_code for r in burst)
            assert 503 in codes and 200 in codes
            assert len(calls) == 1 + codes.count(200)  # a 503 never reached the application
            await _until(lambda: app.active == 0 and app.waiting == 0)
            assert (await c.post("/work")).status_code == 200  # the line is empty again

    asyncio.run(run())
