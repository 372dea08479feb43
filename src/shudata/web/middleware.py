"""ASGI middleware: a limit on requests in progress (load shedding), request body size limit
and CSRF protection for browser forms."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shudata.audit.events import Outcome, Refused
from shudata.audit.ledger import record_separately
from shudata.core.i18n import pick_language
from shudata.core.types import Actor

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
EXEMPT_PATHS = frozenset({"/api/v1/health"})
EXEMPT_PREFIXES = ("/static/",)
RETRY_AFTER_S = 2
SERVICE_WINDOW = 50  # requests: the span of the mean time in the application that sizes the line

log = logging.getLogger("shudata.web")


def _lang(scope: Scope) -> str:
    """The answer's language, chosen as :func:`shudata.web.deps.get_lang` chooses it for the
    app's own answers: query parameter ``lang``, then the ``lang`` cookie, then Accept-Language."""
    headers = dict(scope.get("headers") or [])
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang")
    cookie = SimpleCookie()
    with contextlib.suppress(CookieError):
        cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
    return pick_language(query=query[0] if query else None,
                         cookie=cookie["lang"].value if "lang" in cookie else None,
                         accept=headers.get(b"accept-language", b"").decode("latin-1"))


async def _send_json(send: Send, status: int, code: str, message: str,
                     headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class ConcurrencyLimitMiddleware:
    """At most ``limit`` requests in the application at once; the rest wait in line, first
    come first served, for at most ``queue_timeout_s`` seconds, then get 503 with
    ``Retry-After`` and a message saying to retry — at once, rather than a connection that
    hangs until the client times out.

    A request that would wait longer than ``queue_timeout_s`` is told so on arrival instead of
    after the wait: the line drains at ``limit / t`` requests a second, ``t`` being the
    recent mean time a request spends in the application (an exponentially weighted mean of
    the last ~:data:`SERVICE_WINDOW` requests), so the ``k``-th in line waits about
    ``k · t / limit``. Requests that are let in are therefore answered within about
    ``queue_timeout_s`` plus their own time, and the 503s are the requests the server could
    not have answered in time anyway — whichever kind they are (the line does not look at
    what a request asks for). At most ``16 × limit`` wait (memory), whatever the estimate.

    The limit keeps the work the server takes on within what its worker threads and database
    connections can carry (the pool is sized from the same setting), so a burst queues here,
    cheaply, instead of inside the database pool. Health checks and static files are exempt,
    so that a busy node is not mistaken for a dead one. Nothing is audited on refusal (that
    would add load to a server that is shedding it); a warning is logged at most every 10 s.
    """

    def __init__(self, app: ASGIApp, limit: int, queue_timeout_s: float) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout_s = queue_timeout_s
        self.max_waiting = 16 * limit
        self.active = 0
        self.shed = 0
        self.service_s = 0.0  # recent mean time in the application (0: nothing measured yet)
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._logged = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not await self._acquire():
            await self._refuse(scope, send)
            return
        t0 = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()
            self._measured(time.monotonic() - t0)

    def _measured(self, seconds: float) -> None:
        alpha = 1.0 / SERVICE_WINDOW
        self.service_s = seconds if self.service_s == 0 else (1 - alpha) * self.service_s + alpha * seconds

    def expected_wait_s(self, position: int) -> float:
        """About how long the ``position``-th in line waits (1: the next to be let in)."""
        return position * self.service_s / self.limit

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    async def _acquire(self) -> bool:
        if self.active < self.limit and not self.waiting:
            self.active += 1
            return True
        waiting = self.waiting
        if (self.queue_timeout_s <= 0 or waiting >= self.max_waiting
                or self.expected_wait_s(waiting + 1) > self.queue_timeout_s):
            return False
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        try:
            await asyncio.wait_for(asyncio.shield(slot), self.queue_timeout_s)
        except TimeoutError:
            if slot.done():  # handed a slot just as the wait ran out: use it
                return True
            slot.cancel()
            return False
        except BaseException:  # the client left or the server is stopping
            if slot.done() and not slot.cancelled():
                self._release()  # pass on the slot we were handed
            else:
                slot.cancel()
            raise
        return True

    def _release(self) -> None:
        while self._waiters:  # hand the slot to the longest waiter still waiting
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.active -= 1

    async def _refuse(self, scope: Scope, send: Send) -> None:
        self.shed += 1
        now = time.monotonic()
        if now - self._logged > 10:
            self._logged = now
            log.warning("overloaded: %d requests in progress, %d waiting; shed %d so far (SHUDATA_MAX_CONCURRENCY=%d)",
                        self.active, self.waiting, self.shed, self.limit)
        message = ("The server is busy; retry in a few seconds (nothing was changed)" if _lang(scope) == "en"
                   else "服务器繁忙，请稍后几秒重试（请求未生效）")
        await _send_json(send, 503, "server_busy", message,
                         ((b"retry-after", str(RETRY_AFTER_S).encode()), (b"cache-control", b"no-store")))


class BodyLimitMiddleware:
    """Refuse bodies larger than ``max_bytes`` with 413 before reading them all.

    A declared Content-Length over the limit is refused at once; a chunked body is
    counted as it streams and cut off when it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        limit_mb = self.max_bytes // (1024 * 1024)
        zh = f"上传内容超过大小上限 {limit_mb} MB；请拆分文件或联系管理员调整 SHUDATA_MAX_UPLOAD_MB"
        en = (f"The upload is larger than the {limit_mb} MB limit; split the file or ask the operator to raise "
              "SHUDATA_MAX_UPLOAD_MB")
        if declared is not None and declared.isdigit() and (len(declared) > 18 or int(declared) > self.max_bytes):
            await run_in_threadpool(_audit_refusal, scope, int(declared[:19]))
            await _send_json(send, 413, "payload_too_large", en if _lang(scope) == "en" else zh)
            return
        seen = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge(zh, en)
            return message

        await self.app(scope, limited_receive, send)


def _audit_refusal(scope: Scope, declared: int) -> None:
    """Audit a body refused before it reached the app (the app's handlers never see it)."""
    client = scope.get("client")
    _record_refusal(scope, Actor.anonymous(client[0] if client else None), "rejected",
                    {"status": 413, "code": "payload_too_large", "declared_bytes": declared})


def _record_refusal(scope: Scope, actor: Actor, outcome: Outcome, details: dict[str, Any]) -> None:
    """Record a request a middleware refused (the app's handlers never see it) in the audit trail."""
    app = scope.get("app")
    rt = getattr(getattr(app, "state", None), "runtime", None)
    if rt is None:
        return
    try:
        record_separately(rt.engine, actor, Refused(
            action=f"http.{str(scope.get('method', '')).lower()}", outcome=outcome,
            resource_id=str(scope.get("path"))[:200], details=details))
    except Exception:  # never turn a refusal into a 500
        return


class BodyTooLarge(HTTPException):
    """Raised inside a request whose streamed body passed the limit (mapped to 413), with the
    message in Chinese and English. An ``HTTPException``, so that FastAPI's body parsing lets
    it through instead of answering 400 "There was an error parsing the body"."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(413, zh)
        self.zh, self.en = zh, en


class CSRFMiddleware:
    """Double-submit CSRF protection for cookie-authenticated browser requests.

    A token lives in the signed session; unsafe requests that carry the session cookie
    and no bearer token must send it back as form field ``csrf_token`` or header
    ``X-CSRF-Token``. API clients using ``Authorization: Bearer <token>`` are not affected
    (the request then acts as the token, never as the cookie). Any other ``Authorization``
    header — ``Basic`` credentials a browser attaches by itself to a cross-site form post
    when a proxy asks for them, or an empty ``Bearer`` — leaves the cookie's user acting,
    so it is checked like a plain form. Refusals are recorded in the audit trail.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        session: dict[str, Any] = scope.get("session") or {}
        if _bearer_token(headers.get("authorization", "")) or "uid" not in session:
            await self.app(scope, receive, send)
            return
        expected = session.get("csrf")
        sent = headers.get("x-csrf-token")
        if sent is None and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body, receive = await _buffer(receive)
            values = parse_qs(body.decode("utf-8", "replace")).get("csrf_token")
            sent = values[0] if values else None
        elif sent is None and headers.get("content-type", "").startswith("multipart/form-data"):
            sent = _query_param(scope, "csrf_token")
        if not expected or not sent or not secrets.compare_digest(str(expected), str(sent)):
            uid = session.get("uid")
            actor = Actor(user_id=uid if isinstance(uid, int) else None, username=str(session.get("username", "")),
                          ip=(scope.get("client") or (None,))[0])
            await run_in_threadpool(_record_refusal, scope, actor, "denied",
                                    {"status": 403, "code": "csrf_failed", "token_sent": bool(sent)})
            message = CSRF_EN if _lang(scope) == "en" else CSRF_ZH
            if _from_browser_ui(scope, headers):
                await _csrf_page(scope, receive, send, headers, message)
            else:
                await _send_json(send, 403, "csrf_failed", message)
            return
        await self.app(scope, receive, send)


CSRF_ZH = "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试"
CSRF_EN = "The form has expired or did not come from this site (CSRF check failed); reload the page and try again"
ERROR_FRAGMENT_HEADER = "X-Shudata-Error-Fragment"  # app.js swaps such a 4xx answer into the htmx target


def _from_browser_ui(scope: Scope, headers: dict[str, str]) -> bool:
    """Whether a request came from the UI in a browser — an htmx request, or a page that accepts
    HTML — rather than from an API client (which keeps its JSON answer).

    >>> _from_browser_ui({"path": "/tokens"}, {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    True
    >>> _from_browser_ui({"path": "/audit/verify"}, {"hx-request": "true", "accept": "*/*"})
    True
    >>> _from_browser_ui({"path": "/tokens"}, {"accept": "application/json"})
    False
    >>> _from_browser_ui({"path": "/api/v1/tokens"}, {"accept": "text/html"})
    False
    """
    if str(scope.get("path", "")).startswith(("/api/", "/delta-sharing")):
        return False
    return headers.get("hx-request") == "true" or "text/html" in headers.get("accept", "")


def form_page_url(headers: Any) -> str:
    """Where the refused form can be opened afresh: the page the browser says it was on (htmx's
    ``HX-Current-URL``, else ``Referer``) when that page is on this site, else the home page.

    >>> form_page_url({"host": "sd.example", "referer": "https://sd.example/tokens?x=1"})
    '/tokens?x=1'
    >>> form_page_url({"host": "sd.example", "referer": "https://evil.example/tokens"})
    '/'
    >>> form_page_url({"host": "sd.example", "referer": "javascript:alert(1)"})
    '/'
    """
    came_from = headers.get("hx-current-url") or headers.get("referer") or ""
    url = urlsplit(came_from)
    if url.scheme not in ("http", "https") or url.netloc != headers.get("host", "") or not url.path.startswith("/"):
        return "/"
    return url.path + (f"?{url.query}" if url.query else "")


async def _csrf_page(scope: Scope, receive: Receive, send: Send, headers: dict[str, str], message: str) -> None:
    """The refusal as the UI shows errors: the error page, or for htmx a fragment that
    app.js swaps into the target — each with a link that opens the form afresh (a new token)."""
    templates = getattr(getattr(scope.get("app"), "state", None), "templates", None)
    if templates is None:
        await _send_json(send, 403, "csrf_failed", message)
        return
    htmx = headers.get("hx-request") == "true"
    ctx = {"status": 403, "code": "csrf_failed", "message": message, "reload_url": form_page_url(headers)}
    response = templates.TemplateResponse(
        Request(scope, receive), "partials/csrf_refused.html" if htmx else "pages/error.html", ctx,
        status_code=403, headers={"cache-control": "no-store", **({ERROR_FRAGMENT_HEADER: "1"} if htmx else {})})
    await response(scope, receive, send)


def _bearer_token(authorization: str) -> bool:
    """Whether the header carries a bearer token, as :func:`shudata.web.deps.get_actor` reads it.

    >>> _bearer_token("Bearer sd_x"), _bearer_token("Basic dTpw"), _bearer_token("Bearer  "), _bearer_token("")
    (True, False, False, False)
    """
    return authorization.lower().startswith("bearer ") and bool(authorization[7:].strip())


def _query_param(scope: Scope, name: str) -> str | None:
    qs = scope.get("query_string", b"").decode()
    return (parse_qs(qs).get(name) or [None])[0]


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return body, replay
