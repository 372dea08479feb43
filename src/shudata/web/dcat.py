"""Public DCAT-AP 3.0 export and sitemap of the open-data portal (no login).

- ``GET /catalog.ttl?page=N``, ``/catalog.jsonld``, ``/catalog.rdf``: the catalog in Turtle,
  JSON-LD or RDF/XML, 100 datasets a page, with ``hydra:PagedCollection`` paging in the graph
  and ``Link`` headers (``first``, ``last``, ``prev``, ``next``);
- ``GET /portal/datasets/{name}.ttl``, ``.jsonld``, ``.rdf``: one dataset (404 when it is not visible);
- content negotiation on the catalog's and the datasets' own URIs (``/catalog``,
  ``/portal/datasets/{name}``): an ``Accept`` header that prefers an RDF type (q-values honoured)
  gets that serialisation (``Vary: Accept``); anything else — a browser's ``text/html``, ``*/*``,
  no header — falls through to the HTML pages, so the UI is unchanged. An ``Accept`` that
  asks only for RDF types not served here (N-Triples, N3, TriG …) is a 406 naming those there are;
- ``GET /sitemap.xml``: the portal home, the dataset list and every visible dataset page.

Absolute URLs use ``SHUDATA_PORTAL_BASE_URL`` when set, else the request's own base URL.

>>> negotiate("text/turtle;q=0.9, application/ld+json"), negotiate("text/html,*/*;q=0.8"), negotiate(None)
('jsonld', 'html', 'html')
>>> negotiate("application/n-triples"), negotiate("application/rdf+xml, text/html;q=0.5")
(None, 'rdf')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from shudata.core.config import Settings
from shudata.core.errors import NotAcceptable, NotFound
from shudata.portal import dcat
from shudata.portal.service import get_dataset
from shudata.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["open data / DCAT"])

MEDIA_TYPES = {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json",
               "rdf": "application/rdf+xml; charset=utf-8"}
# what Accept may name, and the serialisation (or the HTML page) it gets; the order breaks q ties
OFFERS = {"text/html": "html", "application/xhtml+xml": "html", "text/turtle": "ttl", "application/x-turtle": "ttl",
          "application/ld+json": "jsonld", "application/rdf+xml": "rdf"}
# RDF types a client may ask for that are not served: asked for alone, they are a 406
OTHER_RDF = ("application/n-triples", "text/n3", "text/rdf+n3", "application/n-quads", "application/trig",
             "application/rdf+thrift", "application/x-binary-rdf", "text/plain+ntriples")


def _accept(header: str) -> list[tuple[str, float]]:
    """``Accept`` as ``(media type, q)``; a malformed q counts as 0."""
    out = []
    for item in header.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        out.append((media.lower(), q))
    return out


def negotiate(header: str | None) -> str | None:
    """What an ``Accept`` header gets: ``ttl``, ``jsonld``, ``rdf``, ``html`` (the page, also for
    ``*/*`` and no header), or ``None`` when it asks only for RDF types not served (406)."""
    if not header or not header.strip():
        return "html"
    accepted = _accept(header)
    best, best_q = None, 0.0
    for rank, (media, offer) in enumerate(OFFERS.items()):
        q = max((q for m, q in accepted if m == media), default=-1.0)
        if q < 0:  # not named: a wildcard covers it for the page only (RDF is asked for by name)
            q = max((q for m, q in accepted if m in ("*/*", "text/*")), default=0.0) if offer == "html" else 0.0
        if q > best_q or (q == best_q and q > 0 and best is not None and rank < list(OFFERS).index(best)):
            best, best_q = media, q
    if best is not None:
        return OFFERS[best]
    if any(m in OTHER_RDF and q > 0 for m, q in accepted):
        return None
    return "html"


class RdfRoute(APIRoute):
    """A route that only takes requests whose ``Accept`` negotiates RDF (or nothing served: 406);
    any other request goes on to the next route with the same path (the HTML page)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match == Match.NONE:
            return match, child
        accept = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"accept"), None)
        if negotiate(accept) == "html":
            return Match.NONE, {}
        return match, child


def _negotiated(request: Request) -> str:
    """The serialisation the request's ``Accept`` chose (a 406 when none is served)."""
    accept = request.headers.get("accept")
    fmt = negotiate(accept)
    if fmt is None or fmt == "html":
        raise NotAcceptable(
            f"不支持所请求的格式（Accept: {(accept or '')[:120]}）。本目录提供 text/turtle、application/ld+json、"
            "application/rdf+xml，或在浏览器中打开网页（text/html）；也可直接访问 .ttl、.jsonld、.rdf 地址",
            f"None of the requested formats (Accept: {(accept or '')[:120]}) is served: use text/turtle, "
            "application/ld+json or application/rdf+xml, open the page in a browser (text/html), or fetch the "
            ".ttl, .jsonld or .rdf address", code="not_acceptable",
            details={"accept": (accept or "")[:300], "available": list(MEDIA_TYPES.values())})
    return fmt


def urls_for(request: Request, settings: Settings) -> dcat.Urls:
    configured = getattr(settings, "portal_base_url", None)
    base = str(configured) if configured else str(request.base_url)
    return dcat.Urls(base=base.rstrip("/"))


def _catalog(ext: str, request: Request, session: SessionDep, settings: Settings, page: int,
             vary: bool = False) -> Response:
    urls = urls_for(request, settings)
    graph, paging = dcat.catalog_graph(session, urls, settings.node_code, page, ext, settings)
    if page > paging.last:
        raise NotFound(f"目录只有 {paging.last} 页", f"The catalog has {paging.last} page(s)",
                       code="page_not_found", details={"page": page, "last": paging.last})
    links = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in paging.links(urls, ext).items())
    headers = {"Link": links, "X-Total-Count": str(paging.total)}
    if vary:
        headers["Vary"] = "Accept"
    return Response(dcat.serialize(graph, ext), media_type=MEDIA_TYPES[ext], headers=headers)


PageQuery = Query(1, ge=1, description="页码，每页 100 个数据集 / page, 100 datasets each")


@router.get("/catalog.ttl", summary="DCAT-AP 目录（Turtle，分页） / DCAT-AP catalog (Turtle, paged)",
            response_class=Response)
def catalog_ttl(request: Request, session: SessionDep, settings: SettingsDep,
                page: int = Query(1, ge=1, description="页码，每页 100 个数据集 / page, 100 datasets each")
                ) -> Response:
    """开放数据目录的 DCAT-AP 描述（Turtle），分页；供数据目录采集器使用，不需要登录。"""
    return _catalog("ttl", request, session, settings, page)


@router.get("/catalog.jsonld", summary="DCAT-AP 目录（JSON-LD，分页） / DCAT-AP catalog (JSON-LD, paged)",
            response_class=Response)
def catalog_jsonld(request: Request, session: SessionDep, settings: SettingsDep,
                   page: int = Query(1, ge=1, description="页码，每页 100 个数据集 / page, 100 datasets each")
                   ) -> Response:
    """开放数据目录的 DCAT-AP 描述（JSON-LD），分页。"""
    return _catalog("jsonld", request, session, settings, page)


def _dataset(ext: str, name: str, request: Request, session: SessionDep, settings: Settings,
             vary: bool = False) -> Response:
    ds = get_dataset(session, name)  # 404 unless visible (published, not withdrawn, open class)
    graph = dcat.dataset_graph(urls_for(request, settings), ds, settings)
    return Response(dcat.serialize(graph, ext), media_type=MEDIA_TYPES[ext],
                    headers={"Vary": "Accept"} if vary else None)


@router.get("/portal/datasets/{name}.ttl", summary="数据集的 DCAT-AP 描述（Turtle） / dataset as DCAT-AP (Turtle)",
            response_class=Response)
def dataset_ttl(name: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """一个开放数据集的 DCAT-AP 描述（Turtle）：标题、说明、发布者、许可、分发格式与下载地址。"""
    return _dataset("ttl", name, request, session, settings)


@router.get("/portal/datasets/{name}.jsonld",
            summary="数据集的 DCAT-AP 描述（JSON-LD） / dataset as DCAT-AP (JSON-LD)", response_class=Response)
def dataset_jsonld(name: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """一个开放数据集的 DCAT-AP 描述（JSON-LD）。"""
    return _dataset("jsonld", name, request, session, settings)


@router.get("/catalog.rdf", summary="DCAT-AP 目录（RDF/XML，分页） / DCAT-AP catalog (RDF/XML, paged)",
            response_class=Response)
def catalog_rdf(request: Request, session: SessionDep, settings: SettingsDep, page: int = PageQuery) -> Response:
    """开放数据目录的 DCAT-AP 描述（RDF/XML），分页。"""
    return _catalog("rdf", request, session, settings, page)


@router.get("/portal/datasets/{name}.rdf",
            summary="数据集的 DCAT-AP 描述（RDF/XML） / dataset as DCAT-AP (RDF/XML)", response_class=Response)
def dataset_rdf(name: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """一个开放数据集的 DCAT-AP 描述（RDF/XML）。"""
    return _dataset("rdf", name, request, session, settings)


def _rdf_route(path: str, endpoint: Callable[..., Any], summary: str) -> None:
    """``endpoint`` at ``path`` for requests whose ``Accept`` negotiates RDF (after the explicit
    ``.ttl``/``.jsonld``/``.rdf`` routes, before the HTML page of the same path)."""
    router.routes.append(RdfRoute(path, endpoint, methods=["GET"], summary=summary, response_class=Response,
                                  tags=["open data / DCAT"], include_in_schema=False))


def catalog_negotiated(request: Request, session: SessionDep, settings: SettingsDep, page: int = PageQuery
                       ) -> Response:
    """The catalog in the serialisation ``Accept`` prefers (Turtle, JSON-LD, RDF/XML)."""
    return _catalog(_negotiated(request), request, session, settings, page, vary=True)


def dataset_negotiated(name: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """A dataset in the serialisation ``Accept`` prefers (Turtle, JSON-LD, RDF/XML)."""
    return _dataset(_negotiated(request), name, request, session, settings, vary=True)


_rdf_route("/catalog", catalog_negotiated, "DCAT-AP 目录（按 Accept 协商） / DCAT-AP catalog by Accept")
_rdf_route("/portal/datasets/{name}", dataset_negotiated, "数据集的 DCAT-AP 描述（按 Accept 协商）")


@router.get("/sitemap.xml", summary="站点地图 / sitemap", response_class=Response)
def sitemap(request: Request, session: SessionDep, settings: SettingsDep,
            page: int | None = Query(None, ge=1, description="分卷（超过 50,000 个网址时） / part, above 50,000 URLs")
            ) -> Response:
    """开放门户的站点地图（sitemap.xml）：各数据集页面与最后更新日期，供搜索引擎收录。"""
    xml = dcat.sitemap(session, urls_for(request, settings), page)
    if xml is None:
        raise NotFound("站点地图没有这一页", "No such sitemap page", code="page_not_found", details={"page": page})
    return Response(xml.encode("utf-8"), media_type="application/xml")
