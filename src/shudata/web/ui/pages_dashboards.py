"""Pages of the dashboards (``/dashboards``, ``/dashboards/{id}``) and the assessment scorecard
(``/scorecard``), issue 18.

The dashboard page is a shell: ``static/js/dashboards.js`` loads every panel's data from its own
endpoint (``/api/v1/dashboards/{id}/panels/{panel}/data``) in parallel, draws it with ECharts (maps
through ``geo.js``), and saves edits through ``PUT /api/v1/dashboards/{id}`` — the same calls any
client makes, so the page shows nothing the API would not give the viewer.
"""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shudata.analysis import dashboards, scorecard
from shudata.core.clock import utcnow
from shudata.query import saved
from shudata.web.deps import ActorDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import render

router = APIRouter()


@router.get("/dashboards")
def dashboard_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The caller's dashboards, their department's and the published ones; new and import forms."""
    items = dashboards.list_dashboards(session=session, actor=actor)
    return render(request, "dashboards/list.html", {
        "items": items, "logged_in": actor.is_authenticated, "sharing_labels": dashboards.SHARING_LABELS})


@router.get("/dashboards/{dashboard_id}")
def dashboard_page(request: Request, session: SessionDep, actor: ActorDep, dashboard_id: int,
                   region: str | None = Query(None, max_length=400),
                   period_from: str | None = Query(None, max_length=20),
                   period_to: str | None = Query(None, max_length=20)) -> Response:
    """One dashboard: the grid of panels, the filter bar, and (for its owner) the edit forms."""
    d = dashboards.get_dashboard(session=session, actor=actor, dashboard_id=dashboard_id)
    mine_queries = saved.list_saved(session=session, actor=actor) if d.mine else []
    doc = d.document.model_dump(mode="json")
    return render(request, "dashboards/view.html", {
        "d": d, "doc": doc, "doc_json": json.dumps({"id": d.id, "revision": d.revision, "document": doc},
                                                   ensure_ascii=False),
        "charts": dashboards.CHART_LABELS, "sharing_labels": dashboards.SHARING_LABELS,
        "queries": mine_queries, "region": region or "", "period_from": period_from or "",
        "period_to": period_to or "", "grid_columns": dashboards.GRID_COLUMNS})


@router.get("/scorecard")
def scorecard_page(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                   year: int | None = Query(None, ge=2000, le=2100), quarter: int | None = Query(None, ge=1, le=4),
                   level: Literal["department", "city"] = Query("department")) -> Response:
    """评估考核: the scorecard for the platform operator and the auditors, with its trend and XLSX export."""
    y = year if year is not None else utcnow().year
    card = scorecard.compute(session=session, settings=settings, actor=actor, year=y, quarter=quarter, level=level)
    return render(request, "dashboards/scorecard.html", {
        "card": card.as_dict(), "criteria": scorecard.CRITERIA, "year": y, "quarter": quarter, "level": level,
        "levels": scorecard.LEVELS, "years": list(range(utcnow().year, utcnow().year - 6, -1)),
        "setting": scorecard.SETTING})
