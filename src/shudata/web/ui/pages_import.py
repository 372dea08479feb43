"""Catalog import from the XLSX/CSV layout departments fill in by hand, with a row-by-row report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from shudata.catalog import import_export
from shudata.catalog.actions import RESOURCE_CREATE
from shudata.catalog.schemas import ImportReport, RowError
from shudata.core.errors import InvalidInput
from shudata.security import service as security
from shudata.security.authz import require
from shudata.web.deps import LangDep, SessionDep, UserDep
from shudata.web.ui.render import render

router = APIRouter()


def _page(request: Request, session: SessionDep, actor: UserDep, report: ImportReport | None = None,
          errors: list[RowError] | None = None, message: str | None = None, status_code: int = 200) -> Response:
    departments = security.list_departments(session=session, actor=actor) if actor.is_admin else []
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
