"""Public DCAT-AP 3.0 export and sitemap of the open-data portal (no login).

- ``GET /catalog.ttl?page=N`` and ``GET /catalog.jsonld?page=N``: the catalog, 100 datasets a
  page, with ``hydra:PagedCollection`` paging in the graph and ``Link`` headers
  (``first``, ``last``, ``prev``, ``next``);
- ``GET /portal/datasets/{name}.ttl`` and ``.jsonld``: one dataset (404 when it is not visible);
- ``GET /sitemap.xml``: the portal home, the dataset list and every visible dataset page.

Absolute URLs use ``SHUDATA_PORTAL_BASE_URL`` when set, else the request's own base URL.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shudata.core.config import Settings
from shudata.core.errors import NotFound
from shudata.portal import dcat
from shudata.portal.service import get_dataset
from shudata.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["open data / DCAT"])

MEDIA_TYPES = {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json"}


def urls_for(request: Request, settings: Settings) -> dcat.Urls:
    configured = getattr(settings, "portal_base_url", None)
    base = str(configured) if configured else str(request.base_url)
    return dcat.Urls(base=base.rstrip("/"))


def _catalog(ext: str, request: Request, session: SessionDep, settings: Settings, page: int) -> Response:
    urls = urls_for(request, settings)
    graph, paging = dcat.catalog_graph(session, urls, settings.node_code, page, ext)
    if page > paging.last:
        raise NotFound(f"目录只有 {paging.last} 页", f"The catalog has {paging.last} page(s)",
                       code="page_not_found", details={"page": page, "last": paging.last})
    links = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in paging.links(urls, ext).items())
    return Response(dcat.serialize(graph, ext), media_type=MEDIA_TYPES[ext],
                    headers={"Link": links, "X-Total-Count": str(paging.total)})


@router.get("/catalog.ttl", summary="DCAT-AP 目录（Turtle，分页） / DCAT-AP catalog (Turtle, paged)",
            response_class=Response)
def catalog_ttl(request: Request, session: SessionDep, settings: SettingsDep,
                page: int = Query(1, ge=1, description="页码，每页 100 个数据集 / page, 100 datasets each")
                ) -> Response:
    return _catalog("ttl", request, session, settings, page)


@router.get("/catalog.jsonld", summary="DCAT-AP 目录（JSON-LD，分页） / DCAT-AP catalog (JSON-LD, paged)",
            response_class=Response)
def catalog_jsonld(request: Request, session: SessionDep, settings: SettingsDep,
                   page: int = Query(1, ge=1, description="页码，每页 100 个数据集 / page, 100 datasets each")
                   ) -> Response:
    return _catalog("jsonld", request, session, settings, page)


def _dataset(ext: str, name: str, request: Request, session: SessionDep, settings: Settings) -> Response:
    ds = get_dataset(session, name)  # 404 unless visible (published, not withdrawn, open class)
    graph = dcat.dataset_graph(urls_for(request, settings), ds)
    return Response(dcat.serialize(graph, ext), media_type=MEDIA_TYPES[ext])


@router.get("/portal/datasets/{name}.ttl", summary="数据集的 DCAT-AP 描述（Turtle） / dataset as DCAT-AP (Turtle)",
            response_class=Response)
def dataset_ttl(name: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _dataset("ttl", name, request, session, settings)


@router.get("/portal/datasets/{name}.jsonld",
            summary="数据集的 DCAT-AP 描述（JSON-LD） / dataset as DCAT-AP (JSON-LD)", response_class=Response)
def dataset_jsonld(name: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _dataset("jsonld", name, request, session, settings)


@router.get("/sitemap.xml", summary="站点地图 / sitemap", response_class=Response)
def sitemap(request: Request, session: SessionDep, settings: SettingsDep,
            page: int | None = Query(None, ge=1, description="分卷（超过 50,000 个网址时） / part, above 50,000 URLs")
            ) -> Response:
    xml = dcat.sitemap(session, urls_for(request, settings), page)
    if xml is None:
        raise NotFound("站点地图没有这一页", "No such sitemap page", code="page_not_found", details={"page": page})
    return Response(xml.encode("utf-8"), media_type="application/xml")
