"""Request dependencies as ``Annotated`` aliases: runtime, session, actor, language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.core.errors import Unauthenticated
from shudata.core.i18n import pick_language
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.security import sessions as web_sessions
from shudata.security.models import User
from shudata.security.service import actor_for, actor_from_token
from shudata.security.throttle import LoginGuard
from shudata.security.tokens import TokenUsage

# Dependencies that only read what the app or the request already holds are ``async def``:
# FastAPI runs a plain ``def`` dependency in a worker thread, and each such hop costs the
# event loop a thread hand-off (and, under load, a wait for the GIL) for nothing.


async def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(rt: RuntimeDep) -> Settings:
    return rt.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(request: Request, rt: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    session = rt.sessions()
    request.state.db_session = session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# "function" scope: the transaction commits before the response is sent, so a client never
# gets a success for a write that then fails to commit, and the page a redirect leads to
# already sees what the request wrote (the default scope ends after the response is sent).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def get_actor(request: Request, session: SessionDep) -> Actor:
    """The caller: a bearer token, else the logged-in web session, else anonymous."""
    ip = client_ip(request)
    token = _bearer(request)
    if token:
        actor = actor_from_token(session=session, token=token, ip=ip)
        usage: TokenUsage | None = getattr(request.app.state, "token_usage", None)
        if actor.token_id is not None and usage is not None:
            usage.note(actor.token_id)  # written in batches by the app, never on this request's connection
    else:
        actor = actor_from_session(request, session) or Actor.anonymous(ip)
    request.state.actor = actor
    return actor


def actor_from_session(request: Request, session: Session) -> Actor | None:
    """The user of the signed session cookie, while its server-side session is live (not
    logged out, not ended by a password change or by disabling the account)."""
    sess = request.scope.get("session")
    if not sess or "uid" not in sess:
        return None
    user = session.get(User, sess["uid"]) if isinstance(sess["uid"], int) else None
    if (user is None or not user.is_active
            or not web_sessions.live(session, sid=sess.get("sid"), principal="user", principal_id=user.id)):
        sess.clear()
        return None
    return actor_for(user, ip=client_ip(request))


async def get_login_guard(request: Request, rt: RuntimeDep) -> LoginGuard:
    """The login throttle of this app (built once, on first use)."""
    guard: LoginGuard | None = getattr(request.app.state, "login_guard", None)
    if guard is None:
        guard = request.app.state.login_guard = LoginGuard.build(rt.settings, rt.engine)
    return guard


LoginGuardDep = Annotated[LoginGuard, Depends(get_login_guard)]


ActorDep = Annotated[Actor, Depends(get_actor)]


async def require_login(actor: ActorDep) -> Actor:
    if not actor.is_authenticated:
        raise Unauthenticated("请先登录或提供有效的 API 令牌", "Log in or send a valid API token first",
                              code="unauthenticated")
    return actor


UserDep = Annotated[Actor, Depends(require_login)]


def get_lang(request: Request) -> str:
    return pick_language(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get("lang"),
        accept=request.headers.get("accept-language"),
    )


async def _lang(request: Request) -> str:
    return get_lang(request)


LangDep = Annotated[str, Depends(_lang)]
