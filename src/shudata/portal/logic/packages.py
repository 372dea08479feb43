"""Package actions: ``package_list``, ``package_search``, ``package_show``, ``resource_show``.

Authorization is visibility: every dataset is resolved through
:func:`shudata.portal.service.get_dataset` / :func:`~shudata.portal.search.search_datasets`,
which only ever find published, gate-checked, open-class entries (anything else is
``NotFound``). Metadata is public; rows are :mod:`shudata.portal.logic.datastore`'s.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from shudata.core.errors import InvalidInput, NotFound
from shudata.portal import ckan
from shudata.portal.data import FORMAT_LABELS, FORMATS, split_resource_id
from shudata.portal.logic.context import Context
from shudata.portal.logic.params import Params
from shudata.portal.search import DatasetFilters, DatasetSearchResult, search_datasets
from shudata.portal.service import PublicDataset, get_dataset

SEARCH_ROWS_MAX = 1000


def package_list(ctx: Context, params: Params) -> list[str]:
    limit = params.integer("limit", -1, minimum=-1)
    return ckan.package_names(ctx.session, params.integer("offset", 0), None if limit < 0 else limit)


def query_text(q: str | None) -> str:
    """The free-text part of ``q`` (``*:*`` is everything); Solr syntax is refused.

    >>> query_text("*:*"), query_text(" 人口 ")
    ('', '人口')
    """
    q = (q or "").strip()
    if q in ("*:*", "*"):
        return ""
    if len(q) > 200 or "{!" in q or any(ord(ch) < 32 for ch in q):
        raise ckan.search_error("搜索词无效（过长、含控制字符或 Solr 本地参数）",
                                "Invalid q (too long, control characters or Solr local parameters)")
    return q


def package_search(ctx: Context, params: Params) -> dict[str, Any]:
    p = params
    q = query_text(p.text("q"))
    parsed = ckan.parse_fq(p.text("fq"))
    rows = p.integer("rows", 10, maximum=SEARCH_ROWS_MAX)
    start = p.integer("start", 0)
    sort = ckan.sort_of(p.text("sort"))
    fields = ckan.facet_fields(p.raw("facet.field"))
    facet_limit = p.integer("facet.limit", 50, minimum=-1)
    filters = parsed.filters
    if parsed.organization:
        dept = ckan.department_id_of(ctx.session, parsed.organization)
        parsed.empty = parsed.empty or dept is None
        filters = replace(filters, department_id=dept)
    if parsed.empty:
        return {"count": 0, "results": [], "sort": p.text("sort", "score desc"), "facets": {f: {} for f in fields},
                "search_facets": {f: {"title": f, "items": []} for f in fields}}
    try:
        found = search_datasets(ctx.session, q=q, filters=filters, sort=sort, offset=start, limit=rows,
                                facets=bool(fields))
    except InvalidInput as exc:
        raise ckan.search_error(exc.zh, exc.en) from None
    results = ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)
    counts = _facet_counts(ctx.session, fields, found, q, filters, sort)
    facets, search = ckan.search_facets(counts, facet_limit)
    return {"count": found.total, "results": results, "sort": p.text("sort", "score desc"),
            "facets": facets, "search_facets": search}


def _facet_counts(session: Session, fields: list[str], found: DatasetSearchResult, q: str, filters: DatasetFilters,
                  sort: str) -> dict[str, dict[str, tuple[str, int]]]:
    out: dict[str, dict[str, tuple[str, int]]] = {}
    fac = found.facets or {}
    for name in fields:
        if name == "organization":
            depts = ckan.departments_of(session, [int(v.value) for v in fac.get("department", [])
                                                  if v.value.isdigit()])
            out[name] = {ckan.org_name(depts[int(v.value)]): (v.label, v.count) for v in fac.get("department", [])
                         if v.value.isdigit() and int(v.value) in depts}
        elif name == "groups":
            out[name] = {v.value: (v.label, v.count) for v in fac.get("theme", [])}
        elif name in ("license_id", "open_class"):
            lic = name == "license_id"
            out[name] = {(ckan.LICENSE_OF.get(v.value, v.value) if lic else v.value): (v.label, v.count)
                         for v in fac.get("open_class", [])}
        elif name in ("update_cycle", "format"):
            out[name] = {v.value: (v.label, v.count) for v in fac.get(name, [])}
        elif name == "res_format":
            out[name] = {FORMAT_LABELS[f]: (FORMAT_LABELS[f], found.total)
                         for f in FORMATS} if found.total else {}
        elif name == "tags":
            out[name] = {t: (t, n) for t, n in _tag_counts(session, q, filters, sort, found.total).items()}
    return out


def _tag_counts(session: Session, q: str, filters: DatasetFilters, sort: str, total: int) -> dict[str, int]:
    if not q:
        return dict(ckan.tag_facet(session, filters))
    rows: list[tuple[Any, Any]] = []
    for start in range(0, min(total, 10_000), 1000):  # text matches: bounded by the match set
        page = search_datasets(session, q=q, filters=filters, sort=sort, offset=start, limit=1000, facets=False)
        rows.extend((h.dataset, h.resource) for h in page.hits)
    return dict(ckan.tag_facet(session, filters, rows))


def package_show(ctx: Context, params: Params) -> dict[str, Any]:
    ds = get_dataset(ctx.session, params.required("id").lower())
    ctx.used(ds)
    return ckan.package(ctx.session, ds, ctx.base_url)


def resource_show(ctx: Context, params: Params) -> dict[str, Any]:
    rid = params.required("id")
    ds = dataset_of_resource(ctx.session, rid)
    ctx.used(ds)
    pkg = ckan.package(ctx.session, ds, ctx.base_url)
    canonical = ckan.resource_of(rid, ds)
    return next(r for r in pkg["resources"] if r["id"] == canonical)


def dataset_of_resource(session: Session, rid: str) -> PublicDataset:
    """The visible dataset a CKAN resource id (``<name>`` or ``<name>-<format>``) names."""
    name, _fmt = split_resource_id(rid.strip().lower())
    try:
        return get_dataset(session, name)
    except NotFound:
        raise NotFound(f"资源“{rid}”不存在或未开放", f"Resource {rid!r} not found",
                       code="resource_not_found", details={"action": "portal.api.resource"}) from None
