"""Login, logout, language switch and the home page."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record_separately
from shudata.core.errors import Unauthenticated
from shudata.core.types import Actor
from shudata.security.service import authenticate
from shudata.web.deps import LangDep, RuntimeDep, client_ip

router = APIRouter()


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return request.app.state.templates.TemplateResponse(request, "pages/login.html",
                                                        {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, rt: RuntimeDep, lang: LangDep, username: str = Form(...), password: str = Form(...),
          next: str = Form("/")) -> Response:
    try:
        with rt.transaction() as session:
            actor = authenticate(session=session, username=username, password=password, ip=client_ip(request))
    except Unauthenticated as exc:
        record_separately(rt.engine, Actor.anonymous(client_ip(request)),
                          AuditEvent("auth.login", outcome="denied", resource_type="user", resource_id=username[:100]))
        return request.app.state.templates.TemplateResponse(
            request, "pages/login.html", {"next": _safe_next(next), "error": exc.message(lang)}, status_code=401)
    request.session.clear()
    request.session.update({"uid": actor.user_id, "username": actor.username,
                            "roles": sorted(r.value for r in actor.roles), "csrf": secrets.token_urlsafe(24)})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, rt: RuntimeDep) -> Response:
    uid = request.session.get("uid")
    if uid is not None:
        record_separately(rt.engine, Actor(user_id=uid, username=request.session.get("username", "?"),
                                           ip=client_ip(request)), AuditEvent("auth.logout"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    resp = RedirectResponse(_safe_next(request.headers.get("referer", "/").split(str(request.base_url).rstrip("/"))[-1]
                                       or "/"), status_code=303)
    resp.set_cookie("lang", "en" if code.startswith("en") else "zh-CN", max_age=365 * 86400, samesite="lax")
    return resp
