"""``create_app(settings)``: the FastAPI application factory (nothing built at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from shudata import __version__
from shudata.catalog import search_index
from shudata.core.config import Settings, get_settings
from shudata.db.runtime import Runtime
from shudata.lake.service import cleanup as lake_cleanup
from shudata.portal.ratelimit import KeyCheck, exempt_labels, limiter_for
from shudata.query.engines import duckdb as duckdb_engine
from shudata.query.runs import RUNS
from shudata.security.tokens import TokenUsage
from shudata.sharing import cleanup as sharing_cleanup
from shudata.sharing import prepare as sharing_prepare
from shudata.sharing.nodes.service import ensure_identity
from shudata.web import apidocs, bad_input, errors, routes, security_headers
from shudata.web.api.v1 import api_router
from shudata.web.ckan import router as ckan_router
from shudata.web.dcat import router as dcat_router
from shudata.web.delta_sharing import router as delta_sharing_router
from shudata.web.middleware import BodyLimitMiddleware, ConcurrencyLimitMiddleware, CSRFMiddleware
from shudata.web.ratelimit import RateLimitMiddleware
from shudata.web.ui import make_templates, ui_router
from shudata.web.ui.filters import use_zone

log = logging.getLogger("shudata.web")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None,
               migrate: bool = True) -> FastAPI:
    """Build the web application for one node.

    Args:
        settings: configuration (default: from the environment).
        runtime: an existing runtime to share (tests, CLI ``serve``).
        migrate: bring the metadata store to the newest schema at start-up.
    """
    settings = settings or (runtime.settings if runtime else get_settings())
    rt = runtime or Runtime.build(settings)
    if migrate:
        rt.migrate()
        with rt.transaction() as session:  # leftovers of a crash: staging dirs, unreferenced versions
            lake_cleanup(session=session, settings=rt.settings, grace_s=600)

    usage = TokenUsage()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a worker thread for every request the server takes on, and a few for background work
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, rt.settings.max_concurrency + 8)
        await run_in_threadpool(ensure_identity, rt.transaction, rt.settings)  # the node's SM2 key, never by a GET
        if app.state.process_owner:
            duckdb_engine.reopen()
            sharing_prepare.restart()
            sharing_cleanup.start(rt.transaction, rt.settings)  # ended grants' files: now, then every interval
            RUNS.share(rt.settings.data_dir / "run" / "queries")  # a cancel may reach another worker
            # jieba's dictionary loads in one call that holds the GIL for about a second (several
            # on a busy machine): load it before the first request, not during the first search
            await run_in_threadpool(search_index.tokenize, "数据目录")
            # The ~600,000 objects of the loaded modules and the app live as long as the process:
            # move them out of the collector's sight, so that a full collection under load scans
            # what requests allocated (milliseconds), not everything (0.2–0.9 s with the GIL held,
            # which every request in progress waits out).
            gc.collect()
            gc.freeze()
        flusher = asyncio.create_task(_flush_token_usage(rt, usage))
        tracer = asyncio.create_task(_trace_memory(rt.settings.tracemalloc_s))
        try:
            yield
        finally:
            for task in (flusher, tracer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if app.state.process_owner:  # the process is ending: stop what runs in threads now
                sharing_cleanup.stop()
                sharing_prepare.shutdown()
                duckdb_engine.interrupt_all()
            with contextlib.suppress(Exception):
                await run_in_threadpool(usage.flush, rt.engine)
            if runtime is None:
                rt.close()

    app = FastAPI(
        title="蜀数 shudata API",
        version=__version__,
        description="四川省大数据平台：政务信息资源目录、数据湖、SQL 沙箱、共享开放。错误格式："
        '`{"error": {"code", "message"}}`，中文消息（`?lang=en` 或 `Accept-Language: en` 切换英文）。',
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: apidocs, with Swagger UI and ReDoc from the package
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = rt
    app.state.token_usage = usage
    app.state.process_owner = False  # set by `shudata serve`: shutdown stops queries and background jobs
    app.state.templates = make_templates()
    use_zone(app.state.templates.env, settings.timezone)  # every page shows times in the configured zone
    errors.install(app)
    bad_input.install(app)  # huge integers, out-of-range values, deep JSON: 4xx, not 500
    app.add_middleware(CSRFMiddleware)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="shudata_session",
                       max_age=settings.session_max_age_s, same_site="lax", https_only=settings.env == "prod")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(RateLimitMiddleware,  # shared by the workers of `serve --workers N`
                       limiter=limiter_for(settings.redis_url, settings.workers, settings.data_dir),
                       ip_per_min=settings.portal_rate_ip_per_min, key_per_min=settings.portal_rate_key_per_min,
                       key_check=KeyCheck(rt.sessions), exempt=exempt_labels(settings.portal_rate_exempt_keys or ""))
    app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.max_concurrency,  # sheds before sessions and limits
                       queue_timeout_s=settings.queue_timeout_s)
    security_headers.install(app)  # around everything, ServerErrorMiddleware too: 429, 503 and 500 carry them
    static_dir = str(resources.files("shudata.web.ui").joinpath("static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(delta_sharing_router)
    app.include_router(dcat_router)  # before the UI: /portal/datasets/{name}.ttl
    app.include_router(ckan_router)
    apidocs.install(app)  # /docs, /redoc, /favicon.ico, and the completed /openapi.json
    app.include_router(ui_router)
    routes.add_head_routes(app)  # last: every GET route is known by now
    return app


async def _flush_token_usage(rt: Runtime, usage: TokenUsage) -> None:
    """Write the API tokens' last uses every ``usage.interval_s`` seconds, in a worker thread."""
    while True:
        await asyncio.sleep(usage.interval_s)
        try:
            await run_in_threadpool(usage.flush, rt.engine)
        except Exception:  # bookkeeping: retried at the next interval
            log.warning("could not record API token use", exc_info=True)


async def _trace_memory(every_s: float) -> None:
    """Diagnosis of memory growth (``SHUDATA_TRACEMALLOC_S=30``, off by default: it slows every
    allocation): every ``every_s`` seconds, log the 15 source lines whose Python allocations grew
    most since the previous snapshot, with the process's native heap (``mallinfo2``)."""
    if every_s <= 0:
        return
    import ctypes  # noqa: PLC0415 - diagnosis only
    import tracemalloc  # noqa: PLC0415 - diagnosis only

    class _MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]

    mallinfo2 = getattr(ctypes.CDLL("libc.so.6"), "mallinfo2", None)
    if mallinfo2 is not None:
        mallinfo2.restype = _MallInfo2
    pauses: list[float] = [0.0, 0.0, 0.0]  # seconds spent in collections of each generation
    started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]] += time.perf_counter() - started[0]

    gc.callbacks.append(on_gc)
    tracemalloc.start(8)
    before = tracemalloc.take_snapshot()
    try:
        while True:
            await asyncio.sleep(every_s)
            now = tracemalloc.take_snapshot()
            diff = now.compare_to(before, "lineno")[:15]
            before = now
            current, _ = tracemalloc.get_traced_memory()
            heap = mallinfo2() if mallinfo2 is not None else None
            native = f"; malloc in use {heap.uordblks / 1e6:.1f} MB, mmap {heap.hblkhd / 1e6:.1f} MB" if heap else ""
            log.warning("tracemalloc: Python %.1f MB%s; objects %d (%d frozen); GC seconds by generation %s, "
                        "collections %s; grew most:\n%s", current / 1e6, native, len(gc.get_objects()),
                        gc.get_freeze_count(), [round(p, 2) for p in pauses],
                        [st["collections"] for st in gc.get_stats()],
                        "\n".join(f"  {d.size_diff / 1e3:+.0f} kB {d.count_diff:+d} {d.traceback[0]}"
                                  for d in diff))
    finally:
        gc.callbacks.remove(on_gc)
