"""Catalog pages: search with facets, the entry page, register and edit forms.

The entry route takes the resource code with its "/" (``/catalog/101001/000123``), the
same scheme as the catalog API; routes with a suffix (``/edit``, ``/upload`` …) are
registered before it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shudata.catalog import search as catalog_search
from shudata.catalog import service
from shudata.catalog.actions import DATA_READ, DATA_UPLOAD, RESOURCE_CREATE, RESOURCE_EDIT
from shudata.catalog.base_registries import list_templates
from shudata.catalog.schemas import ResourceRead, SearchFilters
from shudata.catalog.search_index import query_terms
from shudata.core.errors import ShudataError
from shudata.core.types import Actor, ResourceRef
from shudata.security import service as security
from shudata.security.authz import allowed, require
from shudata.web.deps import LangDep, SessionDep, UserDep
from shudata.web.ui import entry_form as ef
from shudata.web.ui.entry_view import revision_changes
from shudata.web.ui.filters import entry_url
from shudata.web.ui.pages_data import PREVIEW_API, data_versions
from shudata.web.ui.render import flash, is_htmx, page_window, redirect, render, validation_messages

router = APIRouter()
FILTER_KEYS = ("provider", "classification", "sharing_type", "format", "update_cycle")


def _filters(params: dict[str, str]) -> SearchFilters:
    """Facet filters from the query string; a value that does not parse is ignored."""
    good: dict[str, Any] = {}
    for key in FILTER_KEYS:
        if params.get(key):
            try:
                SearchFilters.model_validate({key: params[key]})
                good[key] = params[key]
            except ValidationError:
                continue
    return SearchFilters.model_validate(good)


@router.get("/catalog")
def search_page(request: Request, session: SessionDep, actor: UserDep, q: str = "",
                offset: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=100)) -> Response:
    params = {k: request.query_params.get(k, "") for k in FILTER_KEYS}
    result = catalog_search.search(session=session, actor=actor, q=q.strip(), filters=_filters(params),
                                   offset=offset, limit=limit)
    ctx = {"result": result, "q": q, "params": params, "terms": query_terms(q) if q.strip() else [],
           "pg": page_window(result.total, offset, limit), "can_create": allowed(actor, RESOURCE_CREATE)}
    if is_htmx(request) and request.headers.get("hx-target") == "search-area":
        return render(request, "partials/search_results.html", ctx)
    return render(request, "pages/catalog_search.html", ctx)


# -- register / edit -------------------------------------------------------------------------

def _form_page(request: Request, session: SessionDep, actor: Actor, values: dict[str, Any],
               entry: ResourceRead | None, errors: list[str] | None = None, status_code: int = 200) -> Response:
    any_dept = allowed(actor, RESOURCE_EDIT, ResourceRef("catalog.resource"))  # entries of any department
    departments = security.list_departments(session=session, actor=actor) if any_dept else []
    return render(request, "pages/entry_form.html",
                  {"v": values, "entry": entry, "errors": errors or [], "departments": departments,
                   "templates": _templates(), "propose_url": PREVIEW_API}, status_code=status_code)


def _templates() -> list[dict[str, Any]]:
    """The base-registry templates (人口, 法人, 自然资源和地理空间, 社会信用)."""
    return [t.model_dump(mode="json") for t in list_templates()]


def _refused(exc: ShudataError) -> bool:
    return exc.status in (401, 403)


@router.get("/catalog/new")
def new_entry_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    require(actor, RESOURCE_CREATE)
    return _form_page(request, session, actor, ef.empty_values(), None)


@router.post("/catalog/new")
def register_entry(request: Request, session: SessionDep, actor: UserDep, lang: LangDep,
                   form: ef.FormDep) -> Response:
    values = ef.form_values(form)
    try:
        created = service.register_resource(session=session, actor=actor, data=ef.to_create(values))
    except ValidationError as exc:
        return _form_page(request, session, actor, values, None, validation_messages(exc, lang), 422)
    except ShudataError as exc:
        if _refused(exc):
            raise
        session.rollback()
        return _form_page(request, session, actor, values, None, [exc.message(lang)], exc.status)
    flash(request, "success", f"已登记资源“{created.name}”，代码 {created.code}",
          f"Registered {created.name} as {created.code}")
    return redirect(entry_url(created.code))


@router.get("/catalog/{code:path}/edit")
def edit_entry_page(request: Request, session: SessionDep, actor: UserDep, code: str) -> Response:
    entry = service.get_resource(session=session, actor=actor, key=code)
    require(actor, RESOURCE_EDIT, _ref(entry))
    return _form_page(request, session, actor, ef.from_resource(entry), entry)


@router.post("/catalog/{code:path}/edit")
def update_entry(request: Request, session: SessionDep, actor: UserDep, lang: LangDep, code: str,
                 form: ef.FormDep) -> Response:
    entry = service.get_resource(session=session, actor=actor, key=code)
    values = ef.form_values(form)
    values["code"] = entry.code
    try:
        updated = service.update_resource(session=session, actor=actor, code=entry.code, data=ef.to_update(values))
    except ValidationError as exc:
        return _form_page(request, session, actor, values, entry, validation_messages(exc, lang), 422)
    except ShudataError as exc:
        if _refused(exc):
            raise
        session.rollback()
        return _form_page(request, session, actor, values, entry, [exc.message(lang)], exc.status)
    if updated.revision == entry.revision:
        flash(request, "info", "没有修改任何内容", "Nothing changed")
    else:
        flash(request, "success", f"已保存，目录版本 {updated.revision}", f"Saved as revision {updated.revision}")
    return redirect(entry_url(updated.code))


# -- the entry page ----------------------------------------------------------------------------

def _ref(entry: ResourceRead) -> ResourceRef:
    return ResourceRef("catalog.resource", entry.code, department_id=entry.provider_department_id)


def entry_rights(actor: Actor, entry: ResourceRead) -> dict[str, bool]:
    ref = _ref(entry)
    return {"can_edit": allowed(actor, RESOURCE_EDIT, ref), "can_upload": allowed(actor, DATA_UPLOAD, ref),
            "can_read": allowed(actor, DATA_READ, ref)}


@router.get("/catalog/{code:path}")
def entry_page(request: Request, session: SessionDep, actor: UserDep, code: str) -> Response:
    entry = service.get_resource(session=session, actor=actor, key=code)
    revisions = service.history(session=session, actor=actor, code=entry.code)
    rights = entry_rights(actor, entry)
    versions = data_versions(session, actor, entry)
    return render(request, "pages/entry.html",
                  {"e": entry, "revisions": revisions, "changes": revision_changes(revisions),
                   "versions": versions, **rights})
