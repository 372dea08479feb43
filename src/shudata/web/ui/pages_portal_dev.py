"""The portal's developer centre (开发者中心) and the steward's open-data page.

Developers are members of the public with a portal-only login kept in the Starlette
session as ``dev_uid`` (never a platform account); their forms carry the session's CSRF
token, checked here because the middleware only guards staff sessions. The steward's
page (``/open-data``) is part of the logged-in staff UI: the department's entries and
gate results with Publish / Withdraw, and the queue of applications for conditional data.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from shudata.core.errors import ShudataError
from shudata.core.ids import parse_id
from shudata.core.types import Actor, ResourceRef
from shudata.portal import actions as A
from shudata.portal import developers as devs
from shudata.portal import requests as portal_requests
from shudata.portal import service as P
from shudata.portal.logic import pages
from shudata.portal.models import PortalDeveloper
from shudata.portal.schemas import ApplicationCreate, ApplicationDecide, DataRequestAnswer, DeveloperCreate
from shudata.security.authz import allowed
from shudata.security.errors import LoginThrottled
from shudata.web.deps import LangDep, LoginGuardDep, RuntimeDep, SessionDep, SettingsDep, UserDep, client_ip
from shudata.web.ui.pages_portal import check_csrf, current_developer, ensure_csrf
from shudata.web.ui.render import flash, redirect, render, validation_messages

router = APIRouter()
STATUS_LABELS = {"pending": ("待审核", "Pending"), "approved": ("已批准", "Approved"),
                 "refused": ("未批准", "Refused"), "revoked": ("已撤销", "Revoked"),
                 "published": ("已发布", "Published"), "withdrawn": ("已撤回", "Withdrawn"),
                 "superseded": ("已重新发布", "Superseded")}


def _errors(exc: Exception, lang: str) -> list[str]:
    if isinstance(exc, ValidationError):
        return validation_messages(exc, lang)
    if isinstance(exc, ShudataError):
        if exc.status >= 500:
            raise exc
        return [exc.message(lang)]
    raise exc


def _centre(request: Request, session: Session, dev: PortalDeveloper | None, *, errors: list[str] | None = None,
            created: Any = None, form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    ensure_csrf(request)
    ctx: dict[str, Any] = {"developer": dev, "errors": errors or [], "created": created, "form": form or {},
                           "labels": STATUS_LABELS, "next": _safe_portal_next(request.query_params.get("next"))}
    if dev is not None:
        ctx.update(keys=devs.list_keys(session, dev), applications=devs.developer_applications(session, dev),
                   usage=devs.key_usage(session, dev))
    return render(request, "portal/developer.html", ctx, status_code=status_code)


def _safe_portal_next(target: str | None) -> str:
    """Only portal paths are followed after a developer logs in.

    >>> _safe_portal_next("/portal/developer/apply?dataset=x"), _safe_portal_next("//evil"), _safe_portal_next(None)
    ('/portal/developer/apply?dataset=x', '/portal/developer', '/portal/developer')
    """
    if not target or not target.startswith("/portal") or "//" in target or "\\" in target:
        return "/portal/developer"
    return target


def _log_in(request: Request, dev: PortalDeveloper, sid: str) -> None:
    request.session["dev_uid"] = dev.id
    request.session["dev_sid"] = sid
    request.session["csrf"] = secrets.token_urlsafe(24)  # a new token at every login


@router.get("/portal/developer")
def developer_centre(request: Request, session: SessionDep) -> Response:
    return _centre(request, session, current_developer(request, session))


@router.post("/portal/developer/register")
def register(request: Request, session: SessionDep, lang: LangDep, settings: SettingsDep, csrf_token: str = Form(""),
             email: str = Form(""), phone: str = Form(""), name: str = Form(""), organisation: str = Form(""),
             password: str = Form(""), next: str = Form("")) -> Response:
    check_csrf(request, csrf_token)
    form = {"email": email, "phone": phone, "name": name, "organisation": organisation}
    try:
        data = DeveloperCreate(email=email, phone=phone, name=name, organisation=organisation.strip() or None,
                               password=password)
        dev = devs.register(session=session, data=data, ip=client_ip(request),
                            password_min_length=settings.password_min_length)
    except (ValidationError, ShudataError) as exc:
        return _centre(request, session, None, errors=_errors(exc, lang), form={**form, "tab": "register"},
                       status_code=422)
    _log_in(request, dev, devs.start_session(session, dev, ip=client_ip(request), max_age_s=settings.session_max_age_s))
    flash(request, "success", "注册成功，已登录开发者中心", "Registered and logged in")
    return redirect(_safe_portal_next(next))


@router.post("/portal/developer/login")
def login(request: Request, rt: RuntimeDep, guard: LoginGuardDep, lang: LangDep, csrf_token: str = Form(""),
          email: str = Form(""), password: str = Form(""), next: str = Form("")) -> Response:
    """Throttled per email and per address; the guard audits failures and lock-outs."""
    check_csrf(request, csrf_token)
    try:
        with rt.transaction() as s:
            dev, sid = devs.login(session=s, guard=guard, email=email, password=password, ip=client_ip(request),
                                  max_age_s=rt.settings.session_max_age_s)
    except ShudataError as exc:
        with rt.transaction() as s:
            resp = _centre(request, s, None, errors=[exc.message(lang)], form={"email": email, "tab": "login"},
                           status_code=exc.status if exc.status == 429 else 401)
        if isinstance(exc, LoginThrottled):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    _log_in(request, dev, sid)
    return redirect(_safe_portal_next(next))


@router.post("/portal/developer/logout")
def logout(request: Request, session: SessionDep, csrf_token: str = Form("")) -> Response:
    check_csrf(request, csrf_token)
    devs.end_session(session, current_developer(request, session), request.session.get("dev_sid"))
    request.session.pop("dev_uid", None)
    request.session.pop("dev_sid", None)
    return redirect("/portal/developer")


def _login_first(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    flash(request, "info", "请先登录或注册开发者账号", "Log in or register as a developer first")
    return redirect(f"/portal/developer?next={quote(target, safe='')}")


@router.post("/portal/developer/keys")
def create_key(request: Request, session: SessionDep, lang: LangDep, csrf_token: str = Form(""),
               name: str = Form("key")) -> Response:
    check_csrf(request, csrf_token)
    dev = current_developer(request, session)
    if dev is None:
        return _login_first(request)
    try:
        created = devs.create_key(session=session, dev=dev, name=name)
    except ShudataError as exc:
        return _centre(request, session, dev, errors=_errors(exc, lang), status_code=exc.status)
    session.flush()
    return _centre(request, session, dev, created=created)


@router.post("/portal/developer/keys/{key_id}/revoke")
def revoke_key(request: Request, session: SessionDep, key_id: int, csrf_token: str = Form("")) -> Response:
    check_csrf(request, csrf_token)
    dev = current_developer(request, session)
    if dev is None:
        return _login_first(request)
    key = devs.revoke_key(session=session, dev=dev, key_id=key_id)
    flash(request, "success", f"API 密钥 {key.prefix}… 已撤销", f"API key {key.prefix}… revoked")
    return redirect("/portal/developer")


@router.get("/portal/developer/apply")
def apply_form(request: Request, session: SessionDep, dataset: str) -> Response:
    ds = P.get_dataset(session, dataset)
    dev = current_developer(request, session)
    if dev is None:
        return _login_first(request)
    ensure_csrf(request)
    return render(request, "portal/apply.html", {"ds": ds, "res": ds.resource, "errors": [], "purpose": "",
                                                 "agreement": (devs.AGREEMENT_ZH, devs.AGREEMENT_EN)})


@router.post("/portal/developer/apply")
def apply(request: Request, session: SessionDep, lang: LangDep, csrf_token: str = Form(""),
          dataset: str = Form(""), purpose: str = Form(""), accept_agreement: str = Form("")) -> Response:
    check_csrf(request, csrf_token)
    ds = P.get_dataset(session, dataset)
    dev = current_developer(request, session)
    if dev is None:
        return _login_first(request)
    try:
        data = ApplicationCreate(dataset=ds.name, purpose=purpose.strip(),
                                 accept_agreement=accept_agreement in ("1", "on", "true", "yes"))
        devs.apply(session=session, dev=dev, data=data)
    except (ValidationError, ShudataError) as exc:
        return render(request, "portal/apply.html", {
            "ds": ds, "res": ds.resource, "errors": _errors(exc, lang), "purpose": purpose,
            "agreement": (devs.AGREEMENT_ZH, devs.AGREEMENT_EN)}, status_code=422)
    flash(request, "success", f"已提交“{ds.resource.name}”的使用申请，等待提供部门审核",
          f"Application for {ds.name} submitted; the provider will review it")
    return redirect("/portal/developer")


# -- the steward's page (staff UI) -------------------------------------------------------------------

def _steward_page(request: Request, session: Session, actor: Actor) -> Response:
    queue = devs.application_queue(session=session, actor=actor)  # checks portal.application.view
    every = allowed(actor, A.VIEW_ALL)
    dept = None if every else actor.department_id
    if dept is None and not every:
        entries: list[dict[str, Any]] = []
        runs: list[Any] = []
    else:
        entries = pages.steward_entries(session, dept)
        runs = P.department_publications(session, dept, limit=100)
    asks = portal_requests.steward_queue(session=session, actor=actor) if allowed(actor, A.REQUEST_ANSWER) else []
    return render(request, "portal/steward.html", {
        "entries": entries, "runs": runs, "queue": queue, "labels": STATUS_LABELS, "asks": asks,
        "can_act": allowed(actor, A.PUBLISH, ResourceRef("department", actor.department_id,
                                                         department_id=actor.department_id))})


@router.get("/open-data")
def steward_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    return _steward_page(request, session, actor)


@router.post("/open-data/publish")
def publish(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep, lang: LangDep,
            resource: str = Form(...)) -> Response:
    pub = P.publish(session=session, settings=settings, actor=actor, resource=resource)
    if pub.status == "published":
        flash(request, "success", f"{resource} v{pub.version} 已通过开放闸门并发布",
              f"{resource} v{pub.version} passed the gate and is published")
    else:
        cols = "、".join(f"{v['column']}（{v['entity']}）" for v in pub.gate.get("violations", []))
        flash(request, "danger", f"{resource} v{pub.version} 被开放闸门拒绝：以下列仍含个人信息：{cols}",
              f"{resource} v{pub.version} refused by the gate: personal data left in {cols}")
    return redirect("/open-data")


@router.post("/open-data/withdraw")
def withdraw(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
             resource: str = Form(...), reason: str = Form(""), version: str = Form("")) -> Response:
    if len(reason.strip()) < 2:
        flash(request, "danger", "撤回须说明原因（至少 2 个字）", "Give a reason to withdraw (2 characters at least)")
        return redirect("/open-data")
    pub = P.withdraw(session=session, settings=settings, actor=actor, resource=resource, reason=reason.strip(),
                     version=parse_id(version))
    flash(request, "success", f"{resource} v{pub.version} 已撤回", f"{resource} v{pub.version} withdrawn")
    return redirect("/open-data")


@router.post("/open-data/applications/{application_id}")
def decide(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, application_id: int,
           approve: str = Form(...), reason: str = Form("")) -> Response:
    try:
        app = devs.decide_application(session=session, actor=actor, application_id=application_id,
                                      data=ApplicationDecide(approve=approve == "1", reason=reason.strip() or None))
    except ShudataError as exc:
        if exc.status not in (400, 409, 422):
            raise
        flash(request, "danger", exc.zh, exc.en)
        return redirect("/open-data")
    flash(request, "success", f"申请 #{app.id} 已处理：{STATUS_LABELS[app.status][0]}",
          f"Application #{app.id}: {STATUS_LABELS[app.status][1]}")
    return redirect("/open-data")


@router.post("/open-data/requests/{request_id}/answer")
def answer_request(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, request_id: int,
                   answer: str = Form(""), dataset: str = Form("")) -> Response:
    try:
        data = DataRequestAnswer(answer=answer.strip(), dataset=dataset.strip() or None)
        portal_requests.answer(session=session, actor=actor, request_id=request_id, data=data)
    except (ValidationError, ShudataError) as exc:
        if isinstance(exc, ShudataError) and exc.status in (401, 403):
            raise
        msgs = _errors(exc, lang)
        flash(request, "danger", "；".join(msgs), "; ".join(msgs))
        return redirect("/open-data")
    flash(request, "success", f"数据需求 #{request_id} 已答复（答复公开）", f"Request #{request_id} answered (public)")
    return redirect("/open-data")
