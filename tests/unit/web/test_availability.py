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


# -- several worker processes (serve --workers N) --------------------------------------------------

def _hits(path: str, n: int, out: Any) -> None:
    from shudata.portal.ratelimit import FileLimiter

    lim = FileLimiter(Path(path))
    out.put([lim.hit("ip:10.0.0.1", 10_000, 60, now=1_000.0).count for _ in range(n)])


def test_the_file_limiter_counts_once_across_processes(tmp_path: Path) -> None:
    """Four processes hit one bucket 50 times each at once: one count, every value seen once."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # the targets live in this test module
    out = ctx.Queue()
    procs = [ctx.Process(target=_hits, args=(str(tmp_path / "rl.sqlite3"), 50, out)) for _ in range(4)]
    for p in procs:
        p.start()
    counts = sorted(c for _ in procs for c in out.get(timeout=120))
    for p in procs:
        p.join(30)
    assert counts == list(range(1, 201))


def test_the_limiter_is_shared_only_with_several_workers(tmp_path: Path) -> None:
    from shudata.portal.ratelimit import FileLimiter, MemoryLimiter, limiter_for

    assert isinstance(limiter_for(None, 1, tmp_path), MemoryLimiter)
    assert isinstance(limiter_for(None, 4, tmp_path), FileLimiter)


def _run_until_cancelled(directory: str, ready: Any, done: Any) -> None:
    from shudata.query.runs import RunRegistry

    reg = RunRegistry()
    reg.share(Path(directory))
    with reg.running("alice", "run-0042") as handle:
        ready.set()
        done.put(_poll(handle))


def _poll(handle: Any) -> bool:
    import time

    deadline = time.monotonic() + 30
    while not handle.cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(handle.cancelled)


def test_a_cancel_from_another_process_cancels_the_run(tmp_path: Path) -> None:
    import multiprocessing

    from shudata.query.runs import RunRegistry

    ctx = multiprocessing.get_context("fork")  # the targets live in this test module
    ready, done = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_run_until_cancelled, args=(str(tmp_path), ready, done))
    child.start()
    assert ready.wait(60)
    other = RunRegistry()
    other.share(tmp_path)
    assert other.is_running("alice", "run-0042")
    assert other.cancel("bob", "run-0042") is False  # another user's id finds nothing
    assert other.cancel("alice", "run-0043") is False
    assert other.cancel("alice", "run-0042") is True
    assert done.get(timeout=30) is True
    child.join(30)
    assert not other.is_running("alice", "run-0042")  # the marker went with the run
    assert other.cancel("alice", "run-0042") is False


def test_the_node_key_is_created_once_by_concurrent_starts(tmp_path: Path, settings: Any) -> None:
    """Four runtimes (as four workers would) create the node identity at the same moment: one row,
    one key, every caller gets it."""
    import threading

    from shudata.sharing.nodes.models import NodeIdentity
    from shudata.sharing.nodes.service import ensure_identity

    runtimes = [Runtime.build(settings) for _ in range(4)]
    barrier = threading.Barrier(4)
    keys: list[str] = []
    errors: list[BaseException] = []

    def start(r: Runtime) -> None:
        barrier.wait()
        try:
            keys.append(ensure_identity(r.transaction, r.settings))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(r,)) for r in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert len(keys) == 4 and len(set(keys)) == 1
        with runtimes[0].transaction() as s:
            assert len(s.scalars(select(NodeIdentity)).all()) == 1
    finally:
        for r in runtimes:
            r.close()


def test_workers_that_keep_dying_stop_the_server(tmp_path: Path) -> None:
    """A worker that cannot start is replaced a few times, then the parent gives up with its exit code
    instead of restarting it forever (the target fails at once with exit code 1)."""
    import socket
    import sys
    import time

    from shudata.cli import server
    from shudata.core.config import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    t0 = time.monotonic()
    dies: Any = sys.exit  # called with (sock, parent, index): a TypeError, exit code 1
    code = server.run_workers(dies, Settings(env="test", data_dir=tmp_path), "127.0.0.1", port, 2)
    assert code == 1
    assert time.monotonic() - t0 < 120
