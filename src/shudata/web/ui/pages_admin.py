"""Department and user administration, and everyone's own API tokens and password."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shudata.core.errors import InvalidInput, ShudataError
from shudata.core.ids import parse_id
from shudata.core.types import Role
from shudata.security import service
from shudata.security.errors import LoginThrottled
from shudata.security.schemas import DepartmentCreate, PasswordChange, TokenCreate, UserCreate, UserUpdate
from shudata.web.deps import LangDep, LoginGuardDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import blank_to_none, flash, redirect, render, validation_messages

router = APIRouter()


def _departments_page(request: Request, session: SessionDep, actor: UserDep, errors: list[str] | None = None,
                      form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    departments = service.list_departments(session=session, actor=actor)
    names = {d.id: d.name for d in departments}
    return render(request, "pages/admin_departments.html",
                  {"departments": departments, "names": names, "errors": errors or [], "form": form or {}},
                  status_code=status_code)



def id_field(text: str) -> int | str | None:
    """An id typed in a form: ``None`` when blank, the number when it is one, else the text
    itself so that validation refuses it with a message (``int("abc")`` used to be a 500)."""
    if not text.strip():
        return None
    number = parse_id(text)
    return number if number is not None else text.strip()

@router.get("/admin/departments")
def departments_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    return _departments_page(request, session, actor)


@router.post("/admin/departments")
def create_department(request: Request, session: SessionDep, actor: UserDep, lang: LangDep,
                      name: str = Form(""), uscc: str = Form(""), region_code: str = Form(""),
                      parent_id: str = Form("")) -> Response:
    form = {"name": name, "uscc": uscc, "region_code": region_code, "parent_id": parent_id}
    try:
        data = DepartmentCreate.model_validate({"name": name.strip(), "uscc": uscc, "region_code": region_code,
                                                "parent_id": id_field(parent_id)})
        dept = service.create_department(session=session, actor=actor, data=data)
    except ValidationError as exc:
        return _departments_page(request, session, actor, validation_messages(exc, lang), form, 422)
    except ShudataError as exc:
        if exc.status in (401, 403):
            raise
        session.rollback()
        return _departments_page(request, session, actor, [exc.message(lang)], form, exc.status)
    flash(request, "success", f"已新增部门“{dept.name}”", f"Department {dept.name} created")
    return redirect("/admin/departments")


def _users_page(request: Request, session: SessionDep, actor: UserDep, errors: list[str] | None = None,
                form: dict[str, object] | None = None, status_code: int = 200) -> Response:
    users = service.list_users(session=session, actor=actor)
    departments = service.list_departments(session=session, actor=actor)
    return render(request, "pages/admin_users.html",
                  {"users": users, "departments": departments, "dept_names": {d.id: d.name for d in departments},
                   "roles": list(Role), "errors": errors or [], "form": form or {}}, status_code=status_code)


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    return _users_page(request, session, actor)


@router.post("/admin/users")
def create_user(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, settings: SettingsDep,
                username: str = Form(""), display_name: str = Form(""), password: str = Form(""),
                department_id: str = Form(""), roles: list[str] = Form([]), email: str = Form("")) -> Response:
    form: dict[str, object] = {"username": username, "display_name": display_name, "department_id": department_id,
                               "roles": roles, "email": email}
    try:
        data = UserCreate.model_validate({
            "username": username.strip(), "display_name": display_name.strip() or username.strip(),
            "password": password, "department_id": id_field(department_id),
            "roles": roles or [Role.DEPT_USER], "email": blank_to_none(email)})
        user = service.create_user(session=session, actor=actor, data=data, settings=settings)
    except ValidationError as exc:
        return _users_page(request, session, actor, validation_messages(exc, lang), form, 422)
    except ShudataError as exc:
        if exc.status in (401, 403):
            raise
        session.rollback()
        return _users_page(request, session, actor, [exc.message(lang)], form, exc.status)
    flash(request, "success", f"已新增用户“{user.username}”", f"User {user.username} created")
    return redirect("/admin/users")


@router.post("/admin/users/{user_id}/active")
def set_user_active(request: Request, session: SessionDep, actor: UserDep, user_id: int,
                    active: str = Form("0")) -> Response:
    user = service.update_user(session=session, actor=actor, user_id=user_id,
                               data=UserUpdate(is_active=active == "1"))
    if user.is_active:
        flash(request, "success", f"已启用用户“{user.username}”", f"User {user.username} enabled")
    else:
        flash(request, "warning", f"已停用用户“{user.username}”", f"User {user.username} disabled")
    return redirect("/admin/users")


# -- own API tokens ------------------------------------------------------------------------

@router.get("/tokens")
def tokens_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    tokens = service.list_tokens(session=session, actor=actor)
    return render(request, "pages/tokens.html", {"tokens": tokens, "created": None})


@router.post("/tokens")
def create_token(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, name: str = Form("api"),
                 expires_in_days: str = Form("90")) -> Response:
    try:
        days = int(expires_in_days) if expires_in_days.strip() else None
        created = service.create_token(session=session, actor=actor,
                                       data=TokenCreate(name=name.strip() or "api", expires_in_days=days))
    except (ValidationError, ValueError) as exc:
        msgs = validation_messages(exc, lang) if isinstance(exc, ValidationError) else [str(exc)]
        tokens = service.list_tokens(session=session, actor=actor)
        return render(request, "pages/tokens.html", {"tokens": tokens, "created": None, "errors": msgs}, 422)
    tokens = service.list_tokens(session=session, actor=actor)
    # Shown once, in this response only; never stored in the session or redirected.
    return render(request, "pages/tokens.html", {"tokens": tokens, "created": created}, status_code=201)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: SessionDep, actor: UserDep, token_id: int) -> Response:
    tok = service.revoke_token(session=session, actor=actor, token_id=token_id)
    flash(request, "success", f"已吊销令牌“{tok.name}”", f"Token {tok.name} revoked")
    return redirect("/tokens")


# -- own password ----------------------------------------------------------------------------

def _password_page(request: Request, settings: SettingsDep, errors: list[str] | None = None,
                   status_code: int = 200) -> Response:
    return render(request, "pages/password.html",
                  {"errors": errors or [], "min_length": settings.password_min_length}, status_code=status_code)


@router.get("/account/password")
def password_page(request: Request, actor: UserDep, settings: SettingsDep) -> Response:
    return _password_page(request, settings)


@router.post("/account/password")
def change_password(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, settings: SettingsDep,
                    guard: LoginGuardDep, current_password: str = Form(""), new_password: str = Form(""),
                    new_password_again: str = Form(""), revoke_tokens: str = Form("")) -> Response:
    """The form of ``security.service.change_own_password``; nothing is kept of what was typed."""
    try:
        if new_password != new_password_again:
            raise InvalidInput("两次输入的新密码不一致", "The two new passwords differ", code="password_mismatch")
        data = PasswordChange.model_validate({"current_password": current_password, "new_password": new_password,
                                              "revoke_tokens": revoke_tokens == "1"})
        done = service.change_own_password(session=session, guard=guard, actor=actor, data=data,
                                           sid=request.session.get("sid"), settings=settings)
    except ValidationError as exc:
        return _password_page(request, settings, validation_messages(exc, lang), 422)
    except LoginThrottled as exc:
        resp = _password_page(request, settings, [exc.message(lang)], 429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except ShudataError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        return _password_page(request, settings, [exc.message(lang)], exc.status)
    flash(request, "success",
          f"密码已修改；其他 {done.sessions_ended} 个登录已退出，{done.tokens_revoked} 个 API 令牌已吊销",
          f"Password changed; {done.sessions_ended} other sessions ended, {done.tokens_revoked} API tokens revoked")
    return redirect("/tokens" if done.tokens_revoked else "/")
