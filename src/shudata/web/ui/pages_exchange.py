"""Sharing workflow pages (共享申请): queues, the request form, decisions, disputes, grants
with the Delta Sharing profile, and statistics. Same services as /api/v1/sharing."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.visibility import require_visible
from shudata.core.errors import ShudataError
from shudata.lake.export import content_disposition
from shudata.security.schemas import TokenCreate
from shudata.security.service import create_token
from shudata.sharing import service, stats
from shudata.sharing.delta_sharing.server import profile, share_name, table_name
from shudata.sharing.grants import grants_of_department
from shudata.sharing.schemas import DecisionCreate, DisputeCreate, DisputeResolve, Purpose, RequestCreate, RevokeCreate
from shudata.sharing.workflow import STATUS_LABELS, RequestStatus
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import blank_to_none, flash, redirect, render, validation_messages

router = APIRouter()
QUEUES = ("pending", "overdue", "approved", "refused", "disputed")


@router.get("/exchange")
def queue(request: Request, session: SessionDep, actor: UserDep, box: str | None = None,
          status: str | None = None) -> Response:
    """The request queues. Without a choice in the address, the page opens on a tab with items
    in it: the department's incoming requests if there are any, else those it filed; the
    pending ones if any, else every request of that box."""
    if box not in ("incoming", "outgoing"):
        box = "incoming"
        if not service.list_requests(session=session, actor=actor, box="incoming"):
            box = "outgoing"
    rows = service.list_requests(session=session, actor=actor, box=box)
    counts = {q: sum(1 for r in rows if _in_queue(r, q)) for q in QUEUES}
    if status is None:
        status = "pending" if counts["pending"] or not rows else ""
    shown = [r for r in rows if _in_queue(r, status)] if status in QUEUES else rows
    notes = service.notifications(session=session, actor=actor)
    return render(request, "exchange/queue.html", {"rows": shown, "box": box, "status": status, "counts": counts,
                                                  "labels": STATUS_LABELS, "notes": notes[:8]})


def _in_queue(r: object, q: str) -> bool:
    status, overdue = getattr(r, "status", ""), getattr(r, "overdue", False)
    if q == "overdue":
        return bool(overdue)
    if q == "approved":
        return status in (RequestStatus.APPROVED, RequestStatus.PARTIALLY_APPROVED)
    return bool(status == q)


@router.get("/exchange/new")
def request_form(request: Request, session: SessionDep, actor: UserDep, resource: str) -> Response:
    res = require_visible(session, actor, find_resource(session, resource), resource)
    return render(request, "exchange/request_form.html", {"res": res, "purposes": list(Purpose), "errors": [],
                                                          "today": dt.date.today(), "form": {}})


@router.post("/exchange/new")
async def submit_request(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                         lang: LangDep) -> Response:
    form = await request.form()
    res = await run_in_threadpool(find_resource, session, str(form.get("resource", "")))
    data = {"resource": res.code, "fields": form.getlist("fields"), "purpose": form.get("purpose"),
            "purpose_text": blank_to_none(str(form.get("purpose_text", ""))), "basis": form.get("basis", ""),
            "use_from": form.get("use_from"), "use_until": form.get("use_until"),
            "delivery_method": form.get("delivery_method", "接口")}
    try:
        read = await run_in_threadpool(service.request_access, session=session, actor=actor, settings=settings,
                                       data=RequestCreate.model_validate(data))
    except (ValidationError, ShudataError) as exc:
        session.rollback()  # nothing of a refused request is kept
        errors = validation_messages(exc, lang) if isinstance(exc, ValidationError) else [exc.message(lang)]
        return render(request, "exchange/request_form.html",
                      {"res": res, "purposes": list(Purpose), "errors": errors, "today": dt.date.today(),
                       "form": dict(form)}, status_code=422)
    flash(request, "success", f"已提交共享申请 #{read.id}（{STATUS_LABELS[read.status][0]}）",
          f"Request #{read.id} filed ({read.status})")
    return redirect("/exchange?box=outgoing&status=")


@router.post("/exchange/{request_id}/decide")
async def decide(request_id: int, request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                 lang: LangDep) -> Response:
    form = await request.form()
    data = {"decision": form.get("decision"), "reason": blank_to_none(str(form.get("reason", ""))),
            "fields": form.getlist("fields") or None, "row_filter": blank_to_none(str(form.get("row_filter", ""))),
            "masking_profile": blank_to_none(str(form.get("masking_profile", "")))}
    try:
        await run_in_threadpool(service.decide, session=session, actor=actor, settings=settings,
                                request_id=request_id, data=DecisionCreate.model_validate(data))
        flash(request, "success", f"申请 #{request_id} 已处理", f"Request #{request_id} decided")
    except ValidationError as exc:
        zh, en = "；".join(validation_messages(exc, "zh-CN")), "; ".join(validation_messages(exc, "en"))
        flash(request, "danger", zh, en)
    return redirect("/exchange?box=incoming&status=")


@router.post("/exchange/{request_id}/dispute")
def dispute(request_id: int, request: Request, session: SessionDep, actor: UserDep,
            reason: str = Form(...)) -> Response:
    service.raise_dispute(session=session, actor=actor, request_id=request_id, data=DisputeCreate(reason=reason))
    flash(request, "info", f"已就申请 #{request_id} 提出争议，等待平台协调", f"Dispute raised for #{request_id}")
    return redirect("/exchange?box=outgoing&status=disputed")


@router.post("/exchange/{request_id}/resolve")
def resolve(request_id: int, request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
            grant: str = Form(...), resolution: str = Form(...)) -> Response:
    service.resolve_dispute(session=session, actor=actor, settings=settings, request_id=request_id,
                            data=DisputeResolve(grant=grant == "yes", resolution=resolution))
    flash(request, "success", f"申请 #{request_id} 的争议已协调", f"Dispute on #{request_id} resolved")
    return redirect("/exchange?status=")


@router.post("/exchange/grants/{grant_id}/revoke")
def revoke(grant_id: int, request: Request, session: SessionDep, actor: UserDep, reason: str = Form(...)) -> Response:
    service.revoke_grant(session=session, actor=actor, grant_id=grant_id, data=RevokeCreate(reason=reason))
    flash(request, "warning", f"授权 #{grant_id} 已撤销，下一次调用即失效", f"Grant #{grant_id} revoked")
    return redirect("/exchange?box=incoming&status=approved")


@router.get("/exchange/grants")
def grants(request: Request, session: SessionDep, actor: UserDep) -> Response:
    rows = []
    for g in grants_of_department(session=session, actor=actor) if actor.department_id else []:
        res = session.get(CatalogResource, g.resource_id)
        if res is not None:
            rows.append({"grant": g, "res": res, "table": table_name(res)})
    share = share_name(actor.department_id) if actor.department_id else ""
    return render(request, "exchange/grants.html", {"rows": rows, "share": share})


@router.post("/exchange/profile")
def download_profile(request: Request, session: SessionDep, actor: UserDep) -> Response:
    tok = create_token(session=session, actor=actor, data=TokenCreate(name="delta-sharing", expires_in_days=90))
    body = profile(str(request.base_url).rstrip("/") + "/delta-sharing", tok.token, tok.expires_at)
    return Response(json.dumps(body, indent=2), media_type="application/json",
                    headers={"Content-Disposition": content_disposition("shudata.share")})


@router.get("/exchange/stats")
def stats_page(request: Request, session: SessionDep, actor: UserDep, by: str = "department") -> Response:
    by = "resource" if by == "resource" else "department"
    rows = stats.sharing_stats(session=session, actor=actor, by=by)  # type: ignore[arg-type]
    chart = {"labels": [r.label for r in rows[:15]], "requests": [r.requests for r in rows[:15]],
             "approved": [r.approved for r in rows[:15]], "refused": [r.refused for r in rows[:15]],
             "rows": [r.rows for r in rows[:15]]}
    return render(request, "exchange/stats.html", {"rows": rows, "by": by, "chart": chart})


@router.get("/exchange/stats.xlsx")
def stats_xlsx(session: SessionDep, actor: UserDep, by: str = "department") -> Response:
    by = "resource" if by == "resource" else "department"
    data = stats.stats_xlsx(stats.sharing_stats(session=session, actor=actor, by=by), "共享统计")  # type: ignore[arg-type]
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": content_disposition(f"共享统计-{by}.xlsx")})
