"""Security headers on every answer: CSP, framing, sniffing, referrer, HSTS over TLS.

The UI's pages load their scripts, styles, fonts and images from ``/static`` only (htmx,
Bootstrap, ECharts are served locally) and carry no inline script: page data sits in
``<script type="application/json">`` blocks read by the static scripts. Hence
``script-src 'self'``. Inline *style* stays allowed (``style="height:300px"`` on chart
boxes, htmx's indicator style, ECharts' tooltips): styles cannot run code.
The ``/docs`` and ``/redoc`` pages load Swagger UI / ReDoc from ``/static/vendor`` too, but
start them with an inline script: their policy also allows inline script (and ReDoc's
``blob:`` worker), still from this origin only.

A header a route set itself is kept. :func:`install` wraps the whole middleware stack,
Starlette's ``ServerErrorMiddleware`` included, so even a 500 carries the headers.
``Strict-Transport-Security`` is sent only when the request came over HTTPS
(``scope["scheme"]``, which uvicorn's ``--proxy-headers`` sets from ``X-Forwarded-Proto``
behind a trusted proxy): HSTS over plain HTTP is ignored by browsers and would wrongly
promise TLS on a development machine.

>>> headers = dict(security_headers("/portal", "https"))
>>> headers[b"x-frame-options"], headers[b"x-content-type-options"]
(b'DENY', b'nosniff')
>>> b"frame-ancestors 'none'" in headers[b"content-security-policy"]
True
>>> b"strict-transport-security" in dict(security_headers("/portal", "http"))
False
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

# Swagger UI and ReDoc (served from /static/vendor, see shudata.web.apidocs): FastAPI's pages
# start them with one inline script, and ReDoc runs its search in a blob: worker. No other host.
DOCS_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
DOCS_PATHS = ("/docs", "/redoc")

HSTS = "max-age=31536000; includeSubDomains"


def security_headers(path: str, scheme: str) -> list[tuple[bytes, bytes]]:
    """The headers for an answer to ``path`` requested over ``scheme``."""
    csp = DOCS_CSP if path in DOCS_PATHS or path.startswith("/docs/") else CSP
    out = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if scheme in ("https", "wss"):
        out.append((b"strict-transport-security", HSTS.encode()))
    return out


class SecurityHeadersMiddleware:
    """Add :func:`security_headers` to every HTTP answer (keeping any a route set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(str(scope.get("path", "")), str(scope.get("scheme", "http")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Put :class:`SecurityHeadersMiddleware` around the app's whole middleware stack.

    ``add_middleware`` would place it inside Starlette's ``ServerErrorMiddleware``, whose
    500 answers would then go out without the headers.
    """
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeadersMiddleware(build())

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
