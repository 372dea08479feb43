"""The demand list (需求清单: record, see suggestions, link, close) and the sharing list
(共享清单), each exportable as XLSX."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shudata.catalog import demand as demands
from shudata.catalog.actions import DEMAND_CREATE
from shudata.catalog.schemas import DemandCreate, DemandLink, DemandStatus
from shudata.catalog.sharing_list import export_sharing_list, sharing_list
from shudata.core.errors import ShudataError
from shudata.core.ids import parse_id
from shudata.core.types import Actor
from shudata.lake.export import content_disposition
from shudata.security import service as security
from shudata.security.authz import allowed
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import blank_to_none, flash, redirect, render, validation_messages

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scope(actor: Actor, scope: str) -> int | None:
    """``mine`` = the actor's department; ``all`` (or no department) = every department."""
    return actor.department_id if scope == "mine" and actor.department_id is not None else None


def _xlsx(data: bytes, name: str) -> Response:
    return Response(data, media_type=XLSX, headers={"Content-Disposition": content_disposition(name)})


# -- demands ---------------------------------------------------------------------------------

def _demands_page(request: Request, session: SessionDep, actor: Actor, scope: str, status: str,
                  errors: list[str] | None = None, form: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    st = DemandStatus(status) if status in {s.value for s in DemandStatus} else None
    rows = demands.list_demands(session=session, actor=actor, department_id=_scope(actor, scope), status=st)
    for_any = allowed(actor, DEMAND_CREATE, demands.demand_target(None))  # may name another department
    departments = security.list_departments(session=session, actor=actor) if for_any else []
    can_create = allowed(actor, DEMAND_CREATE, demands.demand_target(actor.department_id))
    return render(request, "pages/demands.html",
                  {"demands": rows, "scope": scope, "status": status, "errors": errors or [], "form": form or {},
                   "can_create": can_create, "departments": departments},
                  status_code=status_code)


@router.get("/demands")
def demands_page(request: Request, session: SessionDep, actor: UserDep, scope: str | None = None,
                 status: str = "") -> Response:
    """Without a choice in the address: the department's own demands, or every department's
    when the department has none yet (the page opens on a tab with items in it)."""
    if scope not in ("mine", "all"):
        mine = demands.list_demands(session=session, actor=actor, department_id=_scope(actor, "mine"))
        scope = "mine" if mine and actor.department_id is not None else "all"
    return _demands_page(request, session, actor, scope, status)


@router.post("/demands")
def create_demand(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, title: str = Form(""),
                  description: str = Form(""), wanted_fields: str = Form(""), purpose: str = Form(""),
                  department_id: str = Form("")) -> Response:
    form = {"title": title, "description": description, "wanted_fields": wanted_fields, "purpose": purpose}
    try:
        data = DemandCreate(title=title.strip(), description=description.strip(), purpose=purpose.strip(),
                            wanted_fields=[w for w in wanted_fields.replace("，", ",").replace("、", ",").split(",")
                                           if w.strip()],
                            department_id=parse_id(department_id))
        created = demands.create_demand(session=session, actor=actor, data=data)
    except ValidationError as exc:
        return _demands_page(request, session, actor, "mine", "", validation_messages(exc, lang), form, 422)
    except ShudataError as exc:
        if exc.status in (401, 403):
            raise
        session.rollback()
        return _demands_page(request, session, actor, "mine", "", [exc.message(lang)], form, exc.status)
    flash(request, "success", f"已登记需求“{created.title}”，请查看平台推荐的资源",
          f"Demand {created.title} recorded; see the suggested resources")
    return redirect(f"/demands#demand-{created.id}")


@router.get("/demands/export.xlsx")
def export_demand_list(session: SessionDep, settings: SettingsDep, actor: UserDep, scope: str = "mine") -> Response:
    data = demands.export_demands(session=session, actor=actor, department_id=_scope(actor, scope),
                                  tz=settings.timezone)
    return _xlsx(data, "需求清单.xlsx")


@router.get("/demands/{demand_id}/suggestions")
def suggestions(request: Request, session: SessionDep, actor: UserDep, demand_id: int) -> Response:
    """htmx partial: catalog entries that may answer the demand, each with a link button."""
    d = demands.get_demand(session=session, actor=actor, demand_id=demand_id)
    hits = demands.suggest(session=session, actor=actor, demand_id=demand_id)
    return render(request, "partials/demand_suggestions.html", {"d": d, "hits": hits})


@router.post("/demands/{demand_id}/link")
def link(request: Request, session: SessionDep, actor: UserDep, demand_id: int, resource_code: str = Form(""),
         action: str = Form("link"), comment: str = Form("")) -> Response:
    data = DemandLink(resource_code=blank_to_none(resource_code) if action == "link" else None,
                      close=action == "close", comment=blank_to_none(comment))
    d = demands.link_demand(session=session, actor=actor, demand_id=demand_id, data=data)
    if d.status == DemandStatus.MATCHED:
        flash(request, "success", f"需求“{d.title}”已关联资源 {d.resource_code}",
              f"Demand {d.title} linked to {d.resource_code}")
    elif d.status == DemandStatus.CLOSED:
        flash(request, "secondary", f"需求“{d.title}”已关闭", f"Demand {d.title} closed")
    else:
        flash(request, "info", f"需求“{d.title}”已重新打开", f"Demand {d.title} reopened")
    return redirect(f"/demands#demand-{d.id}")


# -- sharing list ----------------------------------------------------------------------------

@router.get("/sharing")
def sharing_page(request: Request, session: SessionDep, actor: UserDep, scope: str = "all") -> Response:
    rows = sharing_list(session=session, actor=actor, department_id=_scope(actor, scope))
    return render(request, "pages/sharing.html", {"rows": rows, "scope": scope})


@router.get("/sharing/export.xlsx")
def export_sharing(session: SessionDep, actor: UserDep, scope: str = "all") -> Response:
    data = export_sharing_list(session=session, actor=actor, department_id=_scope(actor, scope))
    return _xlsx(data, "共享清单.xlsx")
