"""Login, logout, language switch."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record_separately
from shudata.core.errors import Unauthenticated
from shudata.core.types import Actor
from shudata.security.service import authenticate
from shudata.web.deps import LangDep, RuntimeDep, client_ip
from shudata.web.ui.render import redirect, render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login.

    >>> _safe_next("//evil.example"), _safe_next("/catalog?q=1"), _safe_next("https://x")
    ('/', '/catalog?q=1', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if request.session.get("uid") is not None:
        return redirect(_safe_next(next))
    return render(request, "pages/login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, rt: RuntimeDep, lang: LangDep, username: str = Form(...), password: str = Form(...),
          next: str = Form("/")) -> Response:
    try:
        with rt.transaction() as session:
            actor = authenticate(session=session, username=username, password=password, ip=client_ip(request))
    except Unauthenticated as exc:
        record_separately(rt.engine, Actor.anonymous(client_ip(request)),
                          AuditEvent("auth.login", outcome="denied", resource_type="user", resource_id=username[:100]))
        return render(request, "pages/login.html",
                      {"next": _safe_next(next), "error": exc.message(lang), "username": username}, status_code=401)
    request.session.clear()
    request.session.update({"uid": actor.user_id, "username": actor.username,
                            "roles": sorted(r.value for r in actor.roles), "csrf": secrets.token_urlsafe(24)})
    return redirect(_safe_next(next))


@router.post("/logout")
def logout(request: Request, rt: RuntimeDep) -> Response:
    uid = request.session.get("uid")
    if uid is not None:
        record_separately(rt.engine, Actor(user_id=uid, username=request.session.get("username", "?"),
                                           ip=client_ip(request)), AuditEvent("auth.logout"))
    request.session.clear()
    return redirect("/login")


def _back_to(request: Request) -> str:
    """The same-site page the language link was clicked on."""
    ref = urlsplit(request.headers.get("referer", "/"))
    if ref.netloc and ref.netloc != request.url.netloc:
        return "/"
    return _safe_next((ref.path or "/") + (f"?{ref.query}" if ref.query else ""))


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    resp = RedirectResponse(_back_to(request), status_code=303)
    resp.set_cookie("lang", "en" if code.startswith("en") else "zh-CN", max_age=365 * 86400, samesite="lax")
    return resp
