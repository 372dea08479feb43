"""Rate limiting of the public surfaces: the portal pages, the CKAN Action API, DCAT and sitemap.

A request carrying a *live* portal API key or platform API token (``Authorization`` or
``X-CKAN-API-Key``, checked against the metadata store by
:class:`shudata.portal.ratelimit.KeyCheck`) counts against that key
(``SHUDATA_PORTAL_RATE_KEY_PER_MIN``) and against its client IP at the key's limit. Every other
request — no key, or a key that is unknown, revoked, expired or made up — counts against
its client IP at the anonymous limit (``SHUDATA_PORTAL_RATE_IP_PER_MIN``), so inventing a
key gains nothing. A live key whose public label (``sdk_<prefix>``) is listed in
``SHUDATA_PORTAL_RATE_EXEMPT_KEYS`` is not limited (an agreed harvester). Over the limit: 429
with ``Retry-After`` (seconds until the window ends) and a message a person can act on; the
first refusal of each bucket and window is audited. Every answer carries
``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``.

The counters live in this process, in Redis (``SHUDATA_REDIS_URL``), or — when ``serve`` runs
several worker processes without Redis — in :class:`FileLimiter`, a small SQLite file in the
data folder that every worker of the node counts in, so N workers still give one allowance.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shudata.audit.events import Refused
from shudata.audit.ledger import record_separately
from shudata.core.types import Actor
from shudata.portal.ratelimit import Decision, Limiter

PREFIXES = ("/portal", "/api/action/", "/api/3/action/", "/catalog.", "/sitemap.xml")
WINDOW_S = 60


def _key_of(headers: dict[bytes, bytes]) -> str | None:
    raw = (headers.get(b"x-ckan-api-key") or headers.get(b"authorization") or b"").decode("latin-1").strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    return raw or None


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: Limiter, ip_per_min: int, key_per_min: int,
                 key_check: Callable[[str], bool] | None = None, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.limiter = limiter
        self.ip_per_min = ip_per_min
        self.key_per_min = key_per_min
        self.key_check = key_check  # None: no key is trusted, every request is anonymous
        self.exempt = frozenset(x.lower() for x in exempt)  # live keys' public labels served without limit

    async def _label(self, key: str | None) -> str | None:
        """The live key's public label (``""`` when the check gives none), ``None`` if not live."""
        if not key or self.key_check is None:
            return None
        label_of = getattr(self.key_check, "label", None)
        if label_of is not None:
            return await run_in_threadpool(label_of, key)
        return "" if await run_in_threadpool(self.key_check, key) else None

    async def _hit(self, bucket: str, limit: int) -> Decision:
        if getattr(self.limiter, "blocking", False):  # a file: never on the event loop
            return await run_in_threadpool(self.limiter.hit, bucket, limit, WINDOW_S)
        return self.limiter.hit(bucket, limit, WINDOW_S)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        key = _key_of(headers)
        label = await self._label(key)
        live = label is not None
        if label and label.lower() in self.exempt:  # a harvester the operator exempted (by its key's label)
            await self.app(scope, receive, send)
            return
        decisions: list[tuple[str, Decision]] = []
        if key and live and self.key_per_min:
            bucket = "key:" + hashlib.sha256(key.encode()).hexdigest()[:24]
            decisions.append((bucket, await self._hit(bucket, self.key_per_min)))
        ip_limit = max(self.ip_per_min, self.key_per_min) if live else self.ip_per_min
        if ip_limit and self.ip_per_min:
            decisions.append((f"ip:{ip}", await self._hit(f"ip:{ip}", ip_limit)))
        refused = next(((b, d) for b, d in decisions if not d.allowed), None)
        if refused is not None:
            await self._refuse(scope, send, path, headers, ip, *refused)
            return
        tightest = min((d for _, d in decisions), key=lambda d: d.remaining, default=None)
        if tightest is None:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                hs.append((b"x-ratelimit-limit", str(tightest.limit).encode()))
                hs.append((b"x-ratelimit-remaining", str(tightest.remaining).encode()))
                message["headers"] = hs
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, path: str, headers: dict[bytes, bytes], ip: str,
                      bucket: str, d: Decision) -> None:
        per = "该 API 密钥" if bucket.startswith("key:") else "您的 IP 地址"
        per_en = "this API key" if bucket.startswith("key:") else "your IP address"
        zh = f"请求过于频繁：{per}每分钟最多 {d.limit} 次请求，请 {d.reset_s} 秒后重试"
        en = f"Too many requests: {per_en} may make {d.limit} requests per minute; retry in {d.reset_s} s"
        if d.count == d.limit + 1:  # the first refusal of this bucket and window
            await run_in_threadpool(self._audit, scope, ip, bucket, d)  # never a database write on the event loop
        lang_en = b"lang=en" in (scope.get("query_string") or b"") or headers.get(
            b"accept-language", b"").lower().startswith(b"en")
        message = en if lang_en else zh
        accept = headers.get(b"accept", b"").decode("latin-1")
        if path.startswith("/portal") and "text/html" in accept:
            body = (f"<!doctype html><html lang=\"{'en' if lang_en else 'zh-CN'}\"><meta charset=\"utf-8\">"
                    f"<title>429</title><h1>429</h1><p>{message}</p></html>").encode()
            ctype = b"text/html; charset=utf-8"
        else:
            payload: dict[str, object] = {"error": {"code": "rate_limited", "message": message}}
            if path.startswith(("/api/action/", "/api/3/action/")):  # CKAN's envelope too
                payload = {"help": path, "success": False,
                           "error": {"__type": "Rate Limit Error", "message": message, "code": "rate_limited"}}
            body = json.dumps(payload, ensure_ascii=False).encode()
            ctype = b"application/json; charset=utf-8"
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(d.reset_s).encode()), (b"x-ratelimit-limit", str(d.limit).encode()),
            (b"x-ratelimit-remaining", b"0")]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _audit(scope: Scope, ip: str, bucket: str, d: Decision) -> None:
        app = scope.get("app")
        rt = getattr(getattr(app, "state", None), "runtime", None)
        if rt is None:
            return
        try:
            record_separately(rt.engine, Actor.anonymous(ip), Refused(
                action=f"http.{str(scope.get('method', '')).lower()}", outcome="rejected",
                resource_id=str(scope.get("path"))[:200],
                details={"status": 429, "code": "rate_limited", "bucket": bucket.split(":", 1)[0], "limit": d.limit,
                         "backend": d.backend}))
        except Exception:  # never turn a refusal into a 500
            return
