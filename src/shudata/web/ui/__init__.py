"""Server-rendered pages (Jinja2 + htmx + ECharts, assets served locally).

Every page calls the same service functions as its JSON twin under ``/api/v1``.
Templates get ``t("中文", "English")``, ``csrf_token``, the current user and roles from
the context processor below, and the filters registered in :mod:`shudata.web.ui.filters`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates

from shudata.core.i18n import tr
from shudata.web.deps import get_lang
from shudata.web.ui import (
    pages_admin,
    pages_analysis,
    pages_audit,
    pages_catalog,
    pages_core,
    pages_dashboards,
    pages_data,
    pages_exchange,
    pages_home,
    pages_import,
    pages_lists,
    pages_market,
    pages_market_records,
    pages_market_uploads,
    pages_portal,
    pages_portal_dev,
    pages_privacy,
    pages_quality,
    pages_query,
)
from shudata.web.ui.filters import install_filters


def _pop_flashes(request: Request, lang: str) -> list[tuple[str, str]]:
    session = request.scope.get("session")
    if not session or "flash" not in session:
        return []
    items = session.pop("flash") or []
    return [(level, tr(lang, zh, en)) for level, zh, en in items]


def _context(request: Request) -> dict[str, Any]:
    lang = get_lang(request)
    session = request.scope.get("session") or {}
    roles = list(session.get("roles", []))
    return {
        "lang": lang,
        "t": lambda zh, en: tr(lang, zh, en),
        "csrf_token": session.get("csrf", ""),
        "current_user": session.get("username"),
        "current_roles": roles,
        "is_admin": "platform_admin" in roles,
        "is_steward": "data_steward" in roles,
        "is_auditor": "auditor" in roles or "platform_admin" in roles,
        "path": request.url.path,
        "flashes": _pop_flashes(request, lang),
    }


def make_templates() -> Jinja2Templates:
    directory = str(resources.files("shudata.web.ui").joinpath("templates"))
    templates = Jinja2Templates(directory=directory, context_processors=[_context])
    templates.env.globals["tr"] = tr
    install_filters(templates.env)
    return templates


def _build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    # pages_data (``/catalog/{code}/upload`` …) before pages_catalog's ``/catalog/{code}``.
    for module in (pages_core, pages_home, pages_admin, pages_audit, pages_lists, pages_import, pages_data,
                   pages_catalog, pages_quality, pages_exchange, pages_privacy, pages_portal, pages_portal_dev,
                   pages_query, pages_market_records, pages_market_uploads, pages_market, pages_dashboards,
                   pages_analysis):
        router.include_router(module.router)
    return router


ui_router = _build_router()
