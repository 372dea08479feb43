"""Audit trail viewer for auditors and the platform admin (filter, page, verify the chain)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shudata.security import audit_trail as service
from shudata.web.deps import SessionDep, UserDep
from shudata.web.ui.render import is_htmx, page_window, render

router = APIRouter()

OUTCOMES = ("success", "denied", "rejected", "failure")


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, actor: UserDep, action: str = "", outcome: str = "",
               user: str = "", offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)) -> Response:
    page = service.list_entries(session=session, actor=actor, action=action.strip() or None,
                                outcome=outcome if outcome in OUTCOMES else None, actor_name=user.strip() or None,
                                offset=offset, limit=limit)
    ctx = {"page": page, "pg": page_window(page.total, offset, limit), "outcomes": OUTCOMES,
           "filters": {"action": action, "outcome": outcome, "user": user}}
    name = "partials/audit_table.html" if is_htmx(request) else "pages/audit.html"
    return render(request, name, ctx)


@router.post("/audit/verify")
def verify(request: Request, session: SessionDep, actor: UserDep) -> Response:
    report = service.verify(session=session, actor=actor)
    return render(request, "partials/audit_verify.html", {"report": report})
