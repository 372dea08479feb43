"""The home page: the department dashboard; the platform overview across departments for
the platform admin and auditors (``/admin/overview``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shudata.catalog import dashboard
from shudata.catalog.actions import PLATFORM_DASHBOARD
from shudata.security.authz import allowed
from shudata.web.deps import SessionDep, UserDep
from shudata.web.ui.render import redirect, render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, actor: UserDep) -> Response:
    if actor.department_id is None:
        if allowed(actor, PLATFORM_DASHBOARD):
            return redirect("/admin/overview")
        return render(request, "pages/home_none.html")
    dash = dashboard.department_dashboard(session=session, actor=actor, department_id=actor.department_id)
    return render(request, "pages/home.html", {"d": dash})


@router.get("/departments/{department_id}/dashboard")
def department_page(request: Request, session: SessionDep, actor: UserDep, department_id: int) -> Response:
    dash = dashboard.department_dashboard(session=session, actor=actor, department_id=department_id)
    return render(request, "pages/home.html", {"d": dash})


@router.get("/admin/overview")
def platform_overview(request: Request, session: SessionDep, actor: UserDep) -> Response:
    dash = dashboard.platform_dashboard(session=session, actor=actor)
    return render(request, "pages/overview.html", {"p": dash})
