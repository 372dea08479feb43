"""Server-rendered pages (Jinja2 + htmx + ECharts, assets served locally)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates

from shudata.core.i18n import tr
from shudata.web.deps import get_lang


def _context(request: Request) -> dict[str, Any]:
    lang = get_lang(request)
    session = request.scope.get("session") or {}
    return {
        "lang": lang,
        "t": lambda zh, en: tr(lang, zh, en),
        "csrf_token": session.get("csrf", ""),
        "current_user": session.get("username"),
        "current_roles": session.get("roles", []),
    }


def make_templates() -> Jinja2Templates:
    directory = str(resources.files("shudata.web.ui").joinpath("templates"))
    templates = Jinja2Templates(directory=directory, context_processors=[_context])
    templates.env.globals["tr"] = tr
    return templates


def _build_router() -> APIRouter:
    from shudata.web.ui import pages_core

    router = APIRouter(include_in_schema=False)
    for module in (pages_core,):
        router.include_router(module.router)
    return router


ui_router = _build_router()
