"""Catalog import from the XLSX/CSV layout departments fill in by hand, with a row-by-row report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from shudata.catalog import import_export
from shudata.catalog.actions import RESOURCE_CREATE, RESOURCE_EDIT
from shudata.catalog.schemas import ImportReport, RowError
from shudata.core.errors import InvalidInput
from shudata.core.types import ResourceRef
from shudata.security import service as security
from shudata.security.authz import allowed, require
from shudata.web.deps import LangDep, SessionDep, UserDep
from shudata.web.ui.render import render

router = APIRouter()


def _page(request: Request, session: SessionDep, actor: UserDep, report: ImportReport | None = None,
          errors: list[RowError] | None = None, message: str | None = None, status_code: int = 200) -> Response:
    any_dept = allowed(actor, RESOURCE_EDIT, ResourceRef("catalog.resource"))  # entries of any department
    departments = security.list_departments(session=session, actor=actor) if any_dept else []
    return render(request, "pages/catalog_import.html",
                  {"report": report, "row_errors": errors or [], "message": message, "departments": departments},
                  status_code=status_code)


@router.get("/catalog/import")
def import_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    require(actor, RESOURCE_CREATE)
    return _page(request, session, actor)


@router.post("/catalog/import")
def import_file(request: Request, session: SessionDep, actor: UserDep, lang: LangDep,
                file: Annotated[UploadFile, File()], skip_invalid: Annotated[str, Form()] = "",
                department: Annotated[str, Form()] = "") -> Response:
    """Nothing is imported when a row is bad, unless the steward asks to skip bad rows."""
    content = file.file.read()
    try:
        report = import_export.import_catalog(session=session, actor=actor, content=content,
                                              filename=file.filename or "catalog", skip_invalid=bool(skip_invalid),
                                              department=department.strip() or None)
    except InvalidInput as exc:
        session.rollback()
        details = exc.details if isinstance(exc.details, dict) else {}
        errors = [RowError.model_validate(e) for e in details.get("errors", [])]
        return _page(request, session, actor, None, errors, exc.message(lang), status_code=422)
    return _page(request, session, actor, report, report.errors)
