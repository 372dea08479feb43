"""Data pages of a catalog entry: its versions, the upload page and the row preview (htmx)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shudata.catalog import reads
from shudata.catalog import service as catalog
from shudata.catalog.actions import DATA_READ, DATA_UPLOAD
from shudata.catalog.schemas import ResourceRead
from shudata.core.types import Actor, ResourceRef
from shudata.quality import cleaning_missing
from shudata.security.authz import allowed, require
from shudata.web.deps import SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import page_window, render

router = APIRouter()

PREVIEW_API = "/api/v1/lake/preview"
NUMERIC_PREFIXES = ("int", "uint", "float", "double", "decimal", "halffloat")


@dataclass(frozen=True)
class VersionView:
    """One data version as the pages show it."""

    version: int
    rows: int
    columns: list[dict[str, str]]
    source_name: str
    source_format: str
    encoding: str | None
    header_row: int | None
    created_by: str
    created_at: Any
    rows_url: str
    download_url: str
    column_names: list[str] = field(default_factory=list)
    numeric_columns: list[str] = field(default_factory=list)


def api_base(code: str) -> str:
    """The catalog API's URL of a resource (the code keeps its "/").

    >>> api_base("101001/000123")
    '/api/v1/resources/101001/000123'
    """
    return "/api/v1/resources/" + quote(code, safe="/")


def is_numeric(arrow_type: str) -> bool:
    """Is an Arrow type string numeric (chartable)?

    >>> is_numeric("double"), is_numeric("int64"), is_numeric("string")
    (True, True, False)
    """
    return arrow_type.startswith(NUMERIC_PREFIXES)


def _ref(entry: ResourceRead) -> ResourceRef:
    return ResourceRef("catalog.resource", entry.code, department_id=entry.provider_department_id)


def data_versions(session: Session, actor: Actor, entry: ResourceRead) -> list[VersionView]:
    """The entry's data versions, newest first (their metadata is visible to every logged-in user;
    the download links only to readers of the data: the provider department's staff)."""
    base = api_base(entry.code)
    readable = allowed(actor, DATA_READ, _ref(entry))
    out = []
    for v in reads.versions_of(session=session, actor=actor, resource_code=entry.code):
        cols = [c.model_dump() for c in v.columns]
        out.append(VersionView(
            version=v.version, rows=v.rows, columns=cols, source_name=v.source_name, source_format=v.source_format,
            encoding=v.encoding, header_row=v.header_row, created_by=v.created_by, created_at=v.created_at,
            rows_url=f"{base}/rows?version={v.version}",
            download_url=f"{base}/rows?version={v.version}" if readable else "",
            column_names=[c["name"] for c in cols], numeric_columns=[c["name"] for c in cols if is_numeric(c["type"])]))
    return out


@router.get("/catalog/{code:path}/upload")
def upload_page(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep, code: str) -> Response:
    entry = catalog.get_resource(session=session, actor=actor, key=code)
    require(actor, DATA_UPLOAD, _ref(entry))
    missing = cleaning_missing.resolve(session, settings, entry.id)
    return render(request, "pages/upload.html",
                  {"e": entry, "versions": data_versions(session, actor, entry),
                   "upload_url": f"{api_base(entry.code)}/versions", "preview_url": PREVIEW_API,
                   "missing_placeholder": ", ".join(missing)})


@dataclass(frozen=True)
class RowsView:
    columns: list[str]
    rows: list[list[Any]]
    total: int
    offset: int
    version: int
    numeric: frozenset[str] = frozenset()


@router.get("/catalog/{code:path}/preview")
def preview(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep, code: str,
            version: int | None = None, offset: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=200)
            ) -> Response:
    """One page of a version's rows (htmx partial of the entry page); the read is audited."""
    page = reads.read_rows(session=session, settings=settings, actor=actor, resource_code=code, version=version,
                           offset=offset, limit=limit)
    names = list(page.table.column_names)
    rows = [[r[n] for n in names] for r in page.table.to_pylist()]
    numeric = frozenset(f.name for f in page.table.schema if is_numeric(str(f.type)))
    view = RowsView(columns=names, rows=rows, total=page.total, offset=offset, version=page.version, numeric=numeric)
    return render(request, "partials/preview.html",
                  {"e": {"code": code}, "page": view, "pg": page_window(page.total, offset, limit)})
