"""Data pages of a catalog entry: its versions, the upload page and the row preview (htmx)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from shudata.catalog import reads
from shudata.catalog import service as catalog
from shudata.catalog.actions import DATA_READ, DATA_UPLOAD
from shudata.catalog.schemas import ResourceRead
from shudata.core.errors import NotFound
from shudata.core.types import Actor, ResourceRef
from shudata.quality import cleaning_missing
from shudata.security.authz import allowed, require
from shudata.web.deps import SessionDep, SettingsDep, UserDep
from shudata.web.ui import charts
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


# -- the default chart and the boundary maps -----------------------------------------------------

CHART_ROWS = 1000  # the chart reads the first rows of the version, as the preview does (same read, audited)
BOUNDARIES = ("china", "sichuan")


def item_datums(entry: ResourceRead) -> dict[str, str | None]:
    """The coordinate datum each information item declares (``datum`` attribute), by column name."""
    return {i.name: (i.datum.value if i.datum else None) for i in entry.information_items if i.datum}


@router.get("/catalog/{code:path}/chart")
def chart_spec(session: SessionDep, settings: SettingsDep, actor: UserDep, code: str,
               version: int | None = None) -> Response:
    """The entry page's chart candidates (JSON), chosen from the first rows of a version by
    :func:`shudata.web.ui.charts.choose`. The rows are read exactly as the preview reads them
    (``reads.read_rows``: the provider department only, audited), so a chart or map never shows
    what the preview would not."""
    entry = catalog.get_resource(session=session, actor=actor, key=code)
    page = reads.read_rows(session=session, settings=settings, actor=actor, resource_code=entry.code,
                           version=version, offset=0, limit=min(CHART_ROWS, settings.page_size_max))
    names = list(page.table.column_names)
    types = {f.name: str(f.type) for f in page.table.schema}
    cols = [page.table.column(i).to_pylist() for i in range(page.table.num_columns)]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    specs = charts.choose(names, types, rows, item_datums(entry))
    return JSONResponse({"version": page.version, "rows": len(rows), "total": page.total, "charts": specs})


@functools.cache
def _boundary(name: str) -> tuple[bytes, str]:
    body = resources.files("shudata.standards").joinpath("data", "boundaries", f"{name}.geojson").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.api_route("/geo/boundaries/{name}.geojson", methods=["GET", "HEAD"])
def boundary(request: Request, name: str) -> Response:
    """Boundary GeoJSON shipped in the package (``china``: provinces, ``sichuan``: its 21 prefectures;
    see ``standards/data/boundaries/PROVENANCE.md``). Public and immutable: cached for a year."""
    if name not in BOUNDARIES:
        raise NotFound(f"没有名为 {name} 的边界地图（可选 china、sichuan）",
                       f"No boundary map {name} (china, sichuan)", code="boundary_not_found")
    body, etag = _boundary(name)
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)
