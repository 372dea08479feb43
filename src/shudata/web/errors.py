"""The one mapping from errors to HTTP responses, and the audit of every refusal.

API paths (``/api``, ``/delta-sharing``) answer ``{"error": {"code", "message", "details"}}``;
pages answer an HTML error page. Every 4xx is recorded in the audit trail in its own
transaction (the request's own transaction has been rolled back), written from a worker
thread so that the event loop never waits for the database; a 503 (the store or the server
busy) is not recorded, since recording it would add to the load it reports.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from shudata.audit.events import Outcome, Refused
from shudata.audit.ledger import record_separately
from shudata.core.errors import PermissionDenied, ShudataError, Unauthenticated
from shudata.core.types import Actor
from shudata.core.validation import field_path, message, message_zh
from shudata.web.deps import client_ip, get_lang
from shudata.web.middleware import BodyTooLarge, form_page_url

log = logging.getLogger("shudata.web")

HTTP_ZH = {404: "页面或接口不存在", 405: "不支持该请求方法", 413: "上传内容过大"}
JSON_PREFIXES = ("/api", "/delta-sharing", "/catalog.", "/dataset/")
MACHINE_SUFFIXES = (".ttl", ".jsonld", ".rdf", ".json", ".geojson")  # RDF and data addresses: no HTML page


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(JSON_PREFIXES) or path.endswith(MACHINE_SUFFIXES):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", "")


def _quoted_values(details: Any) -> list[str]:
    """The data values a refusal quotes (``value`` entries anywhere in its details), longest first.

    >>> _quoted_values({"column": "姓名", "value": "王小明1", "mistyped": [{"value": "abc"}]})
    ['王小明1', 'abc']
    """
    found: list[str] = []
    stack = [details]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found += [v for k, v in node.items() if k == "value" and isinstance(v, str) and v]
            stack += [v for k, v in node.items() if k != "value"]
        elif isinstance(node, list):
            stack += node
    return sorted(set(found), key=len, reverse=True)


def without_values(message: str, details: Any) -> str:
    """``message`` as the audit trail keeps it: without the data values the refusal quotes (a
    rejected upload's bad cell, a too long value's first 40 characters). The caller sees its
    own file's values; the trail's readers (auditors, the platform admin) may not read them raw.

    >>> without_values("第 3 行“号码”列的值超过长度 18：“" + "1" * 40 + "…”", {"value": "1" * 50})
    '第 3 行“号码”列的值超过长度 18：“……”'
    >>> without_values("类型不符：金额 应为N 数值型（如“abc”）", {"mistyped": [{"column": "金额", "value": "abc"}]})
    '类型不符：金额 应为N 数值型（如“…”）'
    """
    for value in _quoted_values(details):
        for shown in (value, value[:40]):
            if len(shown) >= 2 or len(value) == 1:
                message = message.replace(shown, "…")
    return message


def _audit(request: Request, status: int, code: str, message: str, details: Any) -> None:
    rt = getattr(request.app.state, "runtime", None)
    if rt is None or status == 503 or (status in (404, 405) and not isinstance(details, dict)):
        return
    actor: Actor = getattr(request.state, "actor", None) or Actor.anonymous(client_ip(request))
    d = details if isinstance(details, dict) else {}
    outcome: Outcome = "denied" if status in (401, 403) else "rejected"
    event = Refused(
        action=str(d.get("action") or f"http.{request.method.lower()}"),
        outcome=outcome,
        target_type=d.get("resource_type"),
        resource_id=d.get("resource_id") or request.url.path[:200],
        details={"status": status, "code": code, "message": without_values(message, d)[:500],
                 "path": request.url.path[:300],
                 "method": request.method, **({"sql": str(d["sql"])[:4000]} if d.get("sql") else {})},
    )
    try:
        record_separately(rt.engine, actor, event)
    except Exception:  # auditing must never turn a 4xx into a 500
        log.exception("could not audit a refused request")


def audit_refusal(request: Request, status: int, code: str, message: str, details: Any = None) -> None:
    """Record a refusal answered without an exception (a page showing a form again with its
    errors) as :func:`error_response` records the others. Blocks on the store: call it from a
    worker thread."""
    _audit(request, status, code, message, details)


def error_response(request: Request, status: int, code: str, zh: str, en: str, details: Any = None,
                   headers: dict[str, str] | None = None, *, audit: bool = True) -> Response:
    """The error answer, audited here (callers in a worker thread) unless ``audit`` is false."""
    lang = get_lang(request)
    message = en if lang == "en" else zh
    if audit:
        _audit(request, status, code, message, details)
    if wants_json(request):
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if details is not None:
            body["error"]["details"] = details
        if request.url.path.startswith("/delta-sharing"):  # the protocol's own error fields
            body.update({"errorCode": code.upper(), "message": message})
        return JSONResponse(body, status_code=status, headers=headers)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status}</h1><p>{message}</p>", status_code=status, headers=headers)
    reload_url = form_page_url(request.headers) if code == "csrf_failed" else None
    return templates.TemplateResponse(request, "pages/error.html",
                                      {"status": status, "message": message, "code": code, "reload_url": reload_url},
                                      status_code=status, headers=headers)


async def respond(request: Request, status: int, code: str, zh: str, en: str, details: Any = None,
                  headers: dict[str, str] | None = None) -> Response:
    """:func:`error_response` for the exception handlers, which run on the event loop: the audit
    record is written in the threadpool."""
    message = en if get_lang(request) == "en" else zh
    await run_in_threadpool(_audit, request, status, code, message, details)
    return error_response(request, status, code, zh, en, details, headers, audit=False)


def install(app: FastAPI) -> None:
    @app.exception_handler(ShudataError)
    async def _shudata(request: Request, exc: ShudataError) -> Response:
        headers = {}
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            headers["Retry-After"] = str(retry)
        if isinstance(exc, Unauthenticated) and not wants_json(request):
            await run_in_threadpool(_audit, request, 401, exc.code, exc.zh, exc.details)
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        details = exc.details
        if isinstance(exc, PermissionDenied | Unauthenticated) and isinstance(details, dict):
            details = {k: v for k, v in details.items() if v is not None}
        return await respond(request, exc.status, exc.code, exc.zh, exc.en, details, headers or None)

    @app.exception_handler(ClientDisconnect)
    async def _client_left(request: Request, exc: ClientDisconnect) -> Response:
        # The client dropped the connection mid-body (an upload abandoned half-way): nobody reads
        # the answer, the request's transaction is rolled back and its temp file removed. Not a
        # server error (no traceback, no internal_error in the audit trail) and not a refusal.
        log.info("%s %s: the client left before its body was read; nothing was done",
                 request.method, request.url.path)
        return Response(status_code=499)  # "client closed request", as proxies log it

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        return await respond(request, 413, "payload_too_large", exc.zh, exc.en)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        lang = get_lang(request)
        problems = [{"field": field_path(err.get("loc", ())), "loc": list(err.get("loc", ())),
                     "type": str(err.get("type", "")), "message": message(err, lang)} for err in exc.errors()]
        zh = "；".join(f"{p['field']}：{message_zh(e)}" if p["field"] else message_zh(e)
                      for p, e in zip(problems[:5], exc.errors(), strict=False))
        en = "; ".join(f"{p['field']}: {message(e, 'en')}" if p["field"] else message(e, "en")
                       for p, e in zip(problems[:5], exc.errors(), strict=False))
        return await respond(request, 422, "invalid_input", f"输入有误：{zh}", f"Invalid input: {en}",
                              {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        zh = HTTP_ZH.get(exc.status_code, str(exc.detail))
        return await respond(request, exc.status_code, f"http_{exc.status_code}", zh, str(exc.detail))

    @app.exception_handler(OperationalError)
    async def _store_busy(request: Request, exc: OperationalError) -> Response:
        if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
            return await _unexpected(request, exc)
        log.warning("metadata store busy on %s", request.url.path)
        return await respond(request, 503, "store_busy", "元数据库正忙，请稍后重试（请求未生效）",
                              "The metadata store is busy; retry shortly (nothing was changed)",
                              headers={"Retry-After": "1"})

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        log.warning("no metadata store connection free for %s: %s", request.url.path, exc)
        return await respond(request, 503, "server_busy", "服务器繁忙，请稍后重试（请求未生效）",
                             "The server is busy; retry shortly (nothing was changed)", headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return await respond(request, 500, "internal_error", "服务器内部错误，已记录；请稍后重试或联系平台运维",
                              "Internal error, logged; retry later or contact the platform operator")
