"""Login, logout, language switch."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shudata.core.errors import Unauthenticated
from shudata.security import service
from shudata.security.errors import LoginThrottled
from shudata.web.deps import ActorDep, LangDep, LoginGuardDep, RuntimeDep, SessionDep, client_ip
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
def login(request: Request, rt: RuntimeDep, guard: LoginGuardDep, lang: LangDep, username: str = Form(...),
          password: str = Form(...), next: str = Form("/")) -> Response:
    """Throttled login (see ``security.throttle``); failures and lock-outs are audited by the guard."""
    ctx = {"next": _safe_next(next), "username": username}
    try:
        with rt.transaction() as session:
            actor, sid = service.login(session=session, guard=guard, username=username, password=password,
                                       ip=client_ip(request), max_age_s=rt.settings.session_max_age_s)
    except LoginThrottled as exc:
        resp = render(request, "pages/login.html", {**ctx, "error": exc.message(lang)}, status_code=429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except Unauthenticated as exc:
        return render(request, "pages/login.html", {**ctx, "error": exc.message(lang)}, status_code=401)
    request.session.clear()
    request.session.update({"uid": actor.user_id, "sid": sid, "username": actor.username,
                            "roles": sorted(r.value for r in actor.roles), "csrf": secrets.token_urlsafe(24)})
    return redirect(_safe_next(next))


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """End this session server-side: a copy of the cookie does not outlive the logout."""
    if actor.user_id is not None and actor.token_id is None:
        service.logout(session=session, actor=actor, sid=request.session.get("sid"))
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
