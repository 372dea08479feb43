"""The SQL workbench page (``/query``): an editor with completion, the schema browser, runs with
a visible time limit and cancel, a paged grid, a chart, exports, saved queries and the history.

The page is a shell; ``static/js/workbench.js`` drives it through the same endpoints any client
uses (``/api/v1/query/schema``, ``/query/runs``, ``/query/saved``, ``/query/history``,
``POST /api/v1/query?format=…``), so the browser sees exactly what the API would give.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shudata.query import saved
from shudata.web.deps import SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import render

router = APIRouter()


@router.get("/query")
def workbench(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
              saved_id: int | None = Query(None, alias="saved")) -> Response:
    """The workbench; ``?saved=ID`` opens a saved query the caller may see (404 otherwise)."""
    sql = saved.get_saved(session=session, actor=actor, saved_id=saved_id).sql if saved_id is not None else ""
    return render(request, "query/workbench.html", {
        "sql": sql, "saved_id": saved_id, "timeout_s": settings.query_timeout_s, "max_rows": settings.query_max_rows,
        "page_size_max": settings.page_size_max, "tz": settings.timezone})
