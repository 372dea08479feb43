"""The public open-data portal (公共信息资源开放平台): home, dataset list and page, downloads,
public data requests and usage statistics. No login to browse.

Every dataset is resolved through :func:`shudata.portal.service.visible` /
:func:`~shudata.portal.service.get_dataset`, so an unpublished, withdrawn or 不予开放 entry is
a 404 here as everywhere else; rows come only from the published, gate-checked file.
The developer centre and the steward's page are in :mod:`shudata.web.ui.pages_portal_dev`.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.catalog.search_index import query_terms
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied, ShudataError
from shudata.core.ids import parse_id
from shudata.lake import export
from shudata.portal import data as portal_data
from shudata.portal import developers as devs
from shudata.portal import downloads
from shudata.portal import requests as portal_requests
from shudata.portal import search as portal_search
from shudata.portal import service as P
from shudata.portal.logic import pages
from shudata.portal.models import PortalDataset, PortalDeveloper
from shudata.portal.schemas import DataRequestCreate
from shudata.web.deps import LangDep, SessionDep, SettingsDep, client_ip
from shudata.web.files import PreparedFile, range_start, serve_file
from shudata.web.ui import charts
from shudata.web.ui.render import flash, is_htmx, page_window, redirect, render, validation_messages

router = APIRouter()

FILTER_KEYS = ("theme", "department", "format", "open_class", "update_cycle", "tags")
SORT_CHOICES = ("relevance", "newest", "downloads", "views", "api", "name")
PREVIEW_ROWS = 20
CHART_ROWS = 200
LICENCE_ZH = ("开放数据使用许可：本数据集由提供部门依法向社会无条件开放，您可以免费获取、复制、传播、加工和利用，"
              "包括用于商业目的；使用时须注明数据来源（提供部门与蜀数开放平台），不得歪曲数据原意，不得试图识别"
              "数据中的个人，不得用于违法用途。数据按现状提供，提供部门不对使用结果承担责任。")
LICENCE_EN = ("Open-data licence: the provider opens this dataset to everyone. You may obtain, copy, share, "
              "transform and use it free of charge, commercial use included, provided you cite the source (the "
              "provider and the shudata portal), do not misrepresent the data, do not try to identify any person "
              "in it and do not use it unlawfully. The data is provided as is.")


# -- helpers shared with pages_portal_dev -----------------------------------------------------

def ensure_csrf(request: Request) -> str:
    """The session's CSRF token, created on first use (portal forms work without a staff login)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, sent: str | None) -> None:
    """Double-submit check for portal forms (the middleware checks staff sessions only)."""
    expected = request.session.get("csrf")
    if not expected or not sent or not secrets.compare_digest(str(expected), str(sent)):
        raise PermissionDenied("表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试",
                               "The form expired or came from elsewhere (CSRF check failed); reload and retry",
                               code="csrf_failed", details={"action": "portal.form"})


def current_developer(request: Request, session: Session) -> PortalDeveloper | None:
    """The developer logged in to the portal (``request.session["dev_uid"]``), if any, while
    the server-side session (``dev_sid``) is live."""
    uid = request.session.get("dev_uid")
    if uid is None:
        return None
    dev = devs.session_developer(session, uid, request.session.get("dev_sid"))
    if dev is None:
        request.session.pop("dev_uid", None)
        request.session.pop("dev_sid", None)
    return dev


def data_holder(request: Request, session: Session) -> tuple[devs.KeyHolder | None, bool]:
    """Who reads rows: an API key in ``Authorization`` (→ ``(holder, True)``) or the logged-in
    developer (→ ``(holder, False)``). A key in the query string is refused (it leaks into logs)."""
    if "key" in request.query_params or "api_key" in request.query_params:
        raise InvalidInput("请勿在网址中传递 API 密钥：请使用请求头 Authorization，或登录开发者中心后下载",
                           "Do not put API keys in URLs: send the Authorization header or log in to the "
                           "developer centre", code="key_in_url")
    holder = devs.key_holder(session, request.headers.get("authorization"))
    if holder is not None:
        return holder, True
    dev = current_developer(request, session)
    if dev is not None:
        return devs.KeyHolder(developer_id=dev.id, key_id=0, email=dev.email), False
    return None, False


def has_access(session: Session, ds: P.PublicDataset, holder: devs.KeyHolder | None) -> bool:
    if not ds.conditional:
        return True
    return holder is not None and devs.approved(session, holder.developer_id, ds.resource.id)


def card(ds: PortalDataset, res: CatalogResource) -> dict[str, Any]:
    """What a dataset card shows (lists, home page)."""
    return {"name": ds.name, "title": res.name, "abstract": res.abstract, "provider": res.provider.name,
            "theme": ds.theme, "open_type": res.open_type, "conditional": res.open_type == P.CONDITIONAL,
            "update_cycle": res.update_cycle, "published_at": ds.published_at, "views": ds.views,
            "downloads": ds.downloads, "api_calls": ds.api_calls, "version": ds.version,
            "tags": [str(t) for t in (res.tags or [])][:6]}


# -- home ---------------------------------------------------------------------------------------

@router.get("/portal")
def portal_home(request: Request, session: SessionDep) -> Response:
    home = pages.home_summary(session)
    return render(request, "portal/home.html", {
        "counts": home.counts, "newest": [card(d, r) for d, r in home.newest],
        "popular": [card(d, r) for d, r in home.popular], "themes": home.themes})


# -- dataset list ---------------------------------------------------------------------------------

def _filters(params: dict[str, str]) -> portal_search.DatasetFilters:
    """Facet filters from the query string (``department`` is the provider's id; a bad value is ignored)."""
    dept = params.get("department", "").strip()
    tag = params.get("tags", "").strip()
    return portal_search.DatasetFilters(
        theme=params.get("theme", "").strip() or None, department_id=parse_id(dept),
        format=params.get("format", "").strip() or None, open_class=params.get("open_class", "").strip() or None,
        update_cycle=params.get("update_cycle", "").strip() or None, tags=(tag,) if tag else ())


@router.get("/portal/datasets")
def dataset_list(request: Request, session: SessionDep, q: str = "", sort: str = "",
                 offset: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=100)) -> Response:
    params = {k: request.query_params.get(k, "") for k in FILTER_KEYS}
    q = q.strip()[:200]
    sort = sort if sort in SORT_CHOICES else ("relevance" if q else "newest")
    result = portal_search.search_datasets(session, q=q, filters=_filters(params), sort=sort, offset=offset,
                                           limit=limit)
    hits = [card(h.dataset, h.resource) for h in result.hits]
    ctx = {"q": q, "sort": sort, "params": params, "hits": hits, "total": result.total, "facets": result.facets,
           "facet_labels": portal_search.FACET_LABELS, "pg": page_window(result.total, offset, limit),
           "sorts": [(k, portal_search.SORT_LABELS[k]) for k in SORT_CHOICES],
           "terms": query_terms(q) if q else []}
    if is_htmx(request) and request.headers.get("hx-target") == "portal-results":
        return render(request, "portal/_results.html", ctx)
    return render(request, "portal/datasets.html", ctx)


# -- dataset page ---------------------------------------------------------------------------------

def _table_rows(table: Any) -> tuple[list[str], list[list[Any]]]:
    names = list(table.column_names)
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return names, [list(r) for r in zip(*cols, strict=True)] if cols else []


def _history(session: Session, ds: P.PublicDataset) -> list[dict[str, Any]]:
    out = []
    for pub in P.publications(session, ds.resource.id, statuses=("published", "withdrawn")):
        out.append({"version": pub.version, "status": pub.status, "rows": pub.rows, "created_at": pub.created_at,
                    "withdrawn_at": pub.withdrawn_at, "withdraw_reason": pub.withdraw_reason,
                    "current": pub.id == ds.publication.id})
    return out


@router.get("/portal/datasets/{name}")
def dataset_page(request: Request, session: SessionDep, settings: SettingsDep, name: str) -> Response:
    ds = P.get_dataset(session, name)
    dev = current_developer(request, session)
    holder = devs.KeyHolder(developer_id=dev.id, key_id=0, email=dev.email) if dev else None
    access = has_access(session, ds, holder)
    columns = portal_data.columns(ds)
    preview: dict[str, Any] | None = None
    chart: dict[str, Any] | None = None
    if access:
        table = portal_data.preview(settings, ds, CHART_ROWS)
        names, rows = _table_rows(table)
        rows = [[export.jsonable(v) for v in r] for r in rows]
        preview = {"columns": names, "rows": rows[:PREVIEW_ROWS], "total": ds.publication.rows}
        # the default chart (a map when there are coordinates or regions) of the same published, masked rows
        types = {c["name"]: c["type"] for c in columns}
        datums = {str(i.get("name")): i.get("datum") for i in ds.resource.information_items or [] if i.get("datum")}
        chart = {"rows": len(rows), "charts": charts.choose(names, types, rows, datums)}
    application = None
    if ds.conditional and dev is not None:
        mine = [a for a in devs.developer_applications(session, dev) if a.resource_id == ds.resource.id]
        application = mine[0] if mine else None
    rid = portal_data.resource_id(ds, "csv")
    P.count_use(session, ds, "view")
    return render(request, "portal/dataset.html", {
        "ds": ds, "res": ds.resource, "d": ds.dataset, "pub": ds.publication, "columns": columns,
        "items": list(ds.resource.information_items or []), "preview": preview, "chart": chart, "access": access,
        "developer": dev, "application": application, "history": _history(session, ds),
        "api_call": f"GET /api/3/action/datastore_search?resource_id={rid}&limit=5",
        "api_url": f"{str(request.base_url).rstrip('/')}/api/3/action/datastore_search?resource_id={rid}&limit=5",
        "formats": [(f, portal_data.FORMAT_LABELS[f]) for f in portal_data.FORMATS],
        "licence": (devs.AGREEMENT_ZH, devs.AGREEMENT_EN) if ds.conditional else (LICENCE_ZH, LICENCE_EN)})


@router.get("/portal/datasets/{name}/download.{fmt}")
@router.head("/portal/datasets/{name}/download.{fmt}")
def download(request: Request, session: SessionDep, settings: SettingsDep, name: str, fmt: str,
             version: int | None = None) -> Response:
    """Every published row, always (no paging, no cap), from a prepared file: ``HEAD``,
    ``Range``, ``ETag``/``Last-Modified`` and conditional requests (:mod:`shudata.web.files`);
    access is checked on every request, ranged or not."""
    if fmt not in portal_data.FORMATS:
        raise NotFound(f"不支持的下载格式 {fmt}（可选 csv、xlsx、json、parquet）",
                       f"No such download format {fmt} (csv, xlsx, json, parquet)", code="bad_format")
    holder, by_key = data_holder(request, session)
    count = request.method == "GET" and range_start(request) in (None, 0) \
        and "if-none-match" not in request.headers and "if-modified-since" not in request.headers
    ds = pages.open_download(session, name=name, version=version, holder=holder, by_key=by_key, count=count)
    pub = ds.publication
    got = downloads.prepare(settings, pub, fmt, ds.resource.name)
    # the row count is stated for the client to check
    return serve_file(request, PreparedFile(
        path=got.path, etag=got.etag, media_type=got.media_type, last_modified=pub.created_at,
        filename=f"{ds.resource.name}_v{pub.version}.{fmt}", public=not ds.conditional,
        headers={"X-Shudata-Rows": str(pub.rows), "X-Shudata-Total": str(pub.rows)}))


# -- public data requests (公众数据需求) -------------------------------------------------------------

@router.get("/portal/requests")
def requests_page(request: Request, session: SessionDep, offset: int = Query(0, ge=0),
                  limit: int = Query(20, ge=1, le=100)) -> Response:
    ensure_csrf(request)
    items, total = portal_requests.list_public(session, offset=offset, limit=limit)
    return render(request, "portal/requests.html", {
        "items": items, "pg": page_window(total, offset, limit), "departments": pages.departments(session),
        "form": {}, "errors": []})


@router.post("/portal/requests")
def submit_request(request: Request, session: SessionDep, lang: LangDep, csrf_token: str = Form(""),
                   title: str = Form(""), description: str = Form(""), requester_name: str = Form(""),
                   contact_email: str = Form(""), department_id: str = Form("")) -> Response:
    check_csrf(request, csrf_token)
    form = {"title": title, "description": description, "requester_name": requester_name,
            "contact_email": contact_email, "department_id": department_id}
    try:
        data = DataRequestCreate(title=title.strip(), description=description.strip(),
                                 requester_name=requester_name.strip(), contact_email=contact_email.strip(),
                                 department_id=parse_id(department_id))
        created = portal_requests.create_request(session=session, data=data, ip=client_ip(request))
    except ValidationError as exc:
        errors = validation_messages(exc, lang)
    except ShudataError as exc:
        if exc.status >= 500:
            raise
        errors = [exc.message(lang)]
    else:
        flash(request, "success", "需求已提交：部门答复后将在本页公开（联系方式不会公开）",
              "Request submitted: the answer will be public here (your contact details are not)")
        return redirect(f"/portal/requests/{created.id}")
    items, total = portal_requests.list_public(session, offset=0, limit=20)
    return render(request, "portal/requests.html", {
        "items": items, "pg": page_window(total, 0, 20), "departments": pages.departments(session), "form": form,
        "errors": errors}, status_code=422)


@router.get("/portal/requests/{request_id}")
def request_detail(request: Request, session: SessionDep, request_id: int) -> Response:
    item = portal_requests.get_public(session, request_id)
    return render(request, "portal/request.html", {"item": item})


# -- usage statistics ---------------------------------------------------------------------------------

@router.get("/portal/stats")
def stats_page(request: Request, session: SessionDep, days: int = Query(30, ge=7, le=365)) -> Response:
    return render(request, "portal/stats.html", pages.usage_stats(session, days=days))
