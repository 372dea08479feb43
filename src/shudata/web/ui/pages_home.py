"""The home page: the department dashboard (platform admins get the cross-department overview)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shudata.web.deps import SessionDep, UserDep
from shudata.web.ui.render import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, actor: UserDep) -> Response:
    return render(request, "pages/home.html", {"dash": None})
