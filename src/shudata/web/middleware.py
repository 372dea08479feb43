"""ASGI middleware: request body size limit and CSRF protection for browser forms."""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record_separately
from shudata.core.types import Actor

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


async def _send_json(send: Send, status: int, code: str, zh: str) -> None:
    body = json.dumps({"error": {"code": code, "message": zh}}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


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
        msg = f"上传内容超过大小上限 {limit_mb} MB；请拆分文件或联系管理员调整 SHUDATA_MAX_UPLOAD_MB"
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            _audit_refusal(scope, int(declared))
            await _send_json(send, 413, "payload_too_large", msg)
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
                    raise BodyTooLarge(msg)
            return message

        await self.app(scope, limited_receive, send)


def _audit_refusal(scope: Scope, declared: int) -> None:
    """Audit a body refused before it reached the app (the app's handlers never see it)."""
    app = scope.get("app")
    rt = getattr(getattr(app, "state", None), "runtime", None)
    if rt is None:
        return
    client = scope.get("client")
    try:
        record_separately(rt.engine, Actor.anonymous(client[0] if client else None), AuditEvent(
            f"http.{str(scope.get('method', '')).lower()}", outcome="rejected",
            resource_id=str(scope.get("path"))[:200],
            details={"status": 413, "code": "payload_too_large", "declared_bytes": declared}))
    except Exception:  # never turn a refusal into a 500
        return


class BodyTooLarge(Exception):
    """Raised inside a request whose streamed body passed the limit (mapped to 413)."""


class CSRFMiddleware:
    """Double-submit CSRF protection for cookie-authenticated browser requests.

    A token lives in the signed session; unsafe requests that carry the session cookie
    and no bearer token must send it back as form field ``csrf_token`` or header
    ``X-CSRF-Token``. API clients using ``Authorization: Bearer`` are not affected.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        session: dict[str, Any] = scope.get("session") or {}
        if headers.get("authorization") or "uid" not in session:
            await self.app(scope, receive, send)
            return
        expected = session.get("csrf")
        sent = headers.get("x-csrf-token")
        if sent is None and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body, receive = await _buffer(receive)
            from urllib.parse import parse_qs

            values = parse_qs(body.decode("utf-8", "replace")).get("csrf_token")
            sent = values[0] if values else None
        elif sent is None and headers.get("content-type", "").startswith("multipart/form-data"):
            sent = _query_param(scope, "csrf_token")
        if not expected or not sent or not secrets.compare_digest(str(expected), str(sent)):
            await _send_json(send, 403, "csrf_failed", "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试")
            return
        await self.app(scope, receive, send)


def _query_param(scope: Scope, name: str) -> str | None:
    from urllib.parse import parse_qs

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
